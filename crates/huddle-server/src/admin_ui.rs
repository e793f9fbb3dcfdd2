//! The admin dashboard at `/admin`: three static files compiled into the binary (one binary stays
//! one binary), served with a strict Content-Security-Policy. The page signs in with Rocket.Chat's
//! `POST /api/v1/login` and then calls the backend API `/v1/{appId}/...` with the admin's session
//! headers; the app id it needs is put into the page as `<meta name="huddle-app-id">`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::state::AppState;

const INDEX: &str = include_str!("../../../web/admin/index.html");
const APP_JS: &str = include_str!("../../../web/admin/app.js");
const APP_CSS: &str = include_str!("../../../web/admin/app.css");

/// Nothing but this origin's own script, style and API; no inline code, no frames, no plugins.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; \
    base-uri 'none'";

/// Placeholder in `index.html` replaced by the (HTML-escaped) app id.
const APP_ID_SLOT: &str = "{{APP_ID}}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/", get(index))
        .route("/admin/app.js", get(app_js))
        .route("/admin/app.css", get(app_css))
}

async fn index(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let page = INDEX.replace(APP_ID_SLOT, &escape_html(&s.huddle.app_id()));
    asset(&headers, page.into_bytes(), "text/html; charset=utf-8")
}

async fn app_js(headers: HeaderMap) -> Response {
    asset(
        &headers,
        APP_JS.as_bytes().to_vec(),
        "text/javascript; charset=utf-8",
    )
}

async fn app_css(headers: HeaderMap) -> Response {
    asset(
        &headers,
        APP_CSS.as_bytes().to_vec(),
        "text/css; charset=utf-8",
    )
}

/// The file names are not fingerprinted, so browsers revalidate every time (`no-cache`) and an
/// unchanged file costs a 304 thanks to its ETag; after an upgrade the new dashboard shows at once.
pub(crate) fn asset(req: &HeaderMap, body: Vec<u8>, content_type: &'static str) -> Response {
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn escape_html(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_id_is_escaped_and_the_slot_exists() {
        assert!(INDEX.contains(APP_ID_SLOT));
        assert_eq!(escape_html("a\"<b>&'"), "a&quot;&lt;b&gt;&amp;&#39;");
    }
}
