//! Avatars: `users.setAvatar` (a multipart `image` upload, or `avatarUrl`), `users.getAvatar`,
//! `users.resetAvatar`, and the public image route `/avatar/{username}`.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use huddle_core::services::AvatarImage;
use huddle_core::UserLookup;

use super::error::{coded, plain, RcError, RcResult};
use super::extract::{Auth, Params};
use super::ok_empty;
use crate::openapi::{public, user, ApiRouter, Ty::*};
use crate::state::AppState;

/// The `/api/v1` routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .post(
            "/users.setAvatar",
            set_avatar,
            // A multipart `image` upload works too; the description lists the JSON form.
            user("Set an avatar from a URL (or a multipart `image` upload)")
                .req("avatarUrl", Str)
                .user_sel(),
        )
        .get(
            "/users.getAvatar",
            get_avatar,
            user("Redirect to a user's avatar image").user_sel(),
        )
        .post(
            "/users.resetAvatar",
            reset_avatar,
            user("Go back to the initials avatar").user_sel(),
        )
}

/// The image route, outside `/api/v1` as in Rocket.Chat.
pub fn image_routes() -> ApiRouter {
    ApiRouter::new().get(
        "/avatar/{name}",
        image,
        public("A user's avatar image (SVG initials unless one was set)").ok_media("image/*"),
    )
}

/// `userId` or `username`, as these endpoints name another user.
fn target(id: Option<String>, username: Option<String>) -> Option<UserLookup> {
    match (id, username) {
        (Some(id), _) => Some(UserLookup::Id(id)),
        (None, Some(name)) => Some(UserLookup::Username(name)),
        _ => None,
    }
}

async fn set_avatar(State(s): State<AppState>, Auth(actor): Auth, req: Request) -> RcResult {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let p = Params::from_request(req, &s).await?;
        let url = p
            .str("avatarUrl")?
            .ok_or_else(|| plain("The \"avatarUrl\" or an \"image\" file is required"))?;
        let who = target(p.str("userId")?, p.str("username")?);
        s.huddle.set_avatar_url(&actor, who.as_ref(), &url).await?;
        return ok_empty();
    }
    let bad = |e: axum::extract::multipart::MultipartError| {
        coded("error-invalid-params", format!("Invalid upload: {e}"))
    };
    let mut form = Multipart::from_request(req, &s)
        .await
        .map_err(|e| coded("error-invalid-params", format!("Invalid upload: {e}")))?;
    let (mut image, mut id, mut username) = (None, None, None);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "image" => image = Some(field.bytes().await.map_err(bad)?),
            "userId" => id = Some(field.text().await.map_err(bad)?),
            "username" => username = Some(field.text().await.map_err(bad)?),
            _ => {}
        }
    }
    let image = image.ok_or_else(|| plain("The \"avatarUrl\" or an \"image\" file is required"))?;
    s.huddle
        .set_avatar_image(&actor, target(id, username).as_ref(), &image)
        .await?;
    ok_empty()
}

/// Rocket.Chat answers with a redirect to the image route.
async fn get_avatar(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let user = match target(p.str("userId")?, p.str("username")?) {
        Some(l) => s.huddle.find_user(Some(&l)).await?,
        None => actor.user().clone(),
    };
    let name = user.username_or_id().to_string();
    Ok(Redirect::to(&format!("/avatar/{}", urlencode(&name))).into_response())
}

async fn reset_avatar(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let who = target(p.str("userId")?, p.str("username")?);
    s.huddle.reset_avatar(&actor, who.as_ref()).await?;
    ok_empty()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/avatar/{username}`: public, as Rocket.Chat's avatars are; revalidated by ETag.
async fn image(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, RcError> {
    let name = name.trim_start_matches('@').to_string();
    let (content_type, body, etag) = match s.huddle.avatar_image(&name).await? {
        AvatarImage::Redirect(url) => return Ok(Redirect::temporary(&url).into_response()),
        AvatarImage::Image {
            content_type,
            bytes,
            etag,
        } => (content_type, bytes, etag),
        AvatarImage::Initials { svg, etag } => {
            ("image/svg+xml".to_string(), svg.into_bytes(), etag)
        }
    };
    let etag = format!("\"{etag}\"");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // An image, never a document: no script even if a browser opened it directly.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
