//! `login`, `logout`, `me` and personal access tokens (reference §2).

use axum::extract::State;
use huddle_core::services::{LoginRequest, PasswordInput};
use serde_json::{json, Value};

use super::error::{plain, RcResult};
use super::extract::{Auth, Params};
use super::{ok, ok_empty, shape};
use crate::client_ip::ClientIp;
use crate::openapi::schema::{array, object, rc_ok, shape, string};
use crate::openapi::{public, user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let pat = |what| user(what).req("tokenName", Str);
    ApiRouter::new()
        .post(
            "/login",
            login,
            public("Log in with a password or a resume token")
                .checks_credentials()
                .strs(&["user", "username", "email", "resume"])
                .opt("password", Any)
                .ok(rc_ok(&[("status", string()), ("data", object())])),
        )
        .post("/logout", logout, user("Log out (ends this token)"))
        .get("/logout", logout, user("Log out (ends this token)"))
        .get(
            "/me",
            me,
            user("The caller's own profile").ok(shape("User")),
        )
        .post(
            "/users.generatePersonalAccessToken",
            generate_pat,
            pat("Create a personal access token")
                .opt("bypassTwoFactor", Bool)
                .ok(rc_ok(&[("token", string())])),
        )
        .post(
            "/users.regeneratePersonalAccessToken",
            regenerate_pat,
            pat("Replace a personal access token").ok(rc_ok(&[("token", string())])),
        )
        .get(
            "/users.getPersonalAccessTokens",
            list_pats,
            user("The caller's personal access tokens").ok(rc_ok(&[("tokens", array(object()))])),
        )
        .post(
            "/users.removePersonalAccessToken",
            remove_pat,
            pat("Remove a personal access token"),
        )
        .post(
            "/users.createToken",
            create_token,
            user("Create a login token for a user (admin)")
                .req("userId", Str)
                .ok(rc_ok(&[("data", object())])),
        )
}

/// Accepts every body shape Rocket.Chat's `loginCompatibility` does: `{user|username|email,
/// password}`, `password: {hashed}` / `{digest, algorithm}`, and `{resume}`.
fn login_request(p: &Params) -> Result<LoginRequest, super::RcError> {
    if let Some(token) = p.str("resume")? {
        return Ok(LoginRequest::Resume { token });
    }
    let user = match p.str("user")? {
        Some(u) => Some(u),
        None => match p.str("username")? {
            Some(u) => Some(u),
            None => p.str("email")?,
        },
    };
    let password = match p.0.get("password") {
        Some(Value::String(s)) if !s.is_empty() => Some(PasswordInput::Plain(s.clone())),
        Some(Value::Object(o)) => {
            let digest = o
                .get("hashed")
                .or_else(|| o.get("digest"))
                .and_then(Value::as_str);
            digest.map(|d| PasswordInput::Sha256(d.to_string()))
        }
        _ => None,
    };
    match (user, password) {
        (Some(user), Some(password)) => Ok(LoginRequest::Password { user, password }),
        _ => Err(super::RcError(huddle_core::Error::LoginFailed(
            huddle_core::Failure::new("Unauthorized", "Unauthorized"),
        ))),
    }
}

async fn login(State(s): State<AppState>, ClientIp(ip): ClientIp, p: Params) -> RcResult {
    let request = login_request(&p);
    let resume = matches!(request, Ok(LoginRequest::Resume { .. }));
    // Counted before the body is judged, so malformed attempts count as password attempts.
    s.check_login_rate(ip, resume)?;
    let request = request?;
    let (user, token) = s.huddle.login(request).await?;
    let site = site_url(&s);
    ok(json!({
        "status": "success",
        "data": { "userId": user.id, "authToken": token, "me": shape::me(&user, &site) }
    }))
}

fn site_url(s: &AppState) -> String {
    s.huddle
        .setting("Site_Url")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn logout(State(s): State<AppState>, Auth(actor): Auth) -> RcResult {
    s.huddle.logout(&actor).await?;
    ok(json!({ "status": "success", "data": { "message": "You've been logged out!" } }))
}

async fn me(State(s): State<AppState>, Auth(actor): Auth) -> RcResult {
    let mut body = shape::me(actor.user(), &site_url(&s));
    body["services"] = json!({ "password": { "exists": actor.user().password_hash.is_some() } });
    body["isOAuthUser"] = json!(false);
    ok(body)
}

async fn generate_pat(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let name = p
        .str("tokenName")?
        .ok_or_else(|| plain("Param \"tokenName\" is required"))?;
    let token = s
        .huddle
        .generate_personal_access_token(&actor, &name, p.bool("bypassTwoFactor")?.unwrap_or(false))
        .await?;
    ok(json!({ "token": token }))
}

async fn regenerate_pat(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let name = p
        .str("tokenName")?
        .ok_or_else(|| plain("Param \"tokenName\" is required"))?;
    let token = s
        .huddle
        .regenerate_personal_access_token(&actor, &name)
        .await?;
    ok(json!({ "token": token }))
}

async fn list_pats(State(s): State<AppState>, Auth(actor): Auth) -> RcResult {
    let tokens = s.huddle.personal_access_tokens(&actor).await?;
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|t| json!({ "name": t.name, "createdAt": t.created_at, "lastTokenPart": t.last_part, "bypassTwoFactor": t.bypass_two_factor }))
        .collect();
    ok(json!({ "tokens": tokens }))
}

async fn remove_pat(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let name = p
        .str("tokenName")?
        .ok_or_else(|| plain("Param \"tokenName\" is required"))?;
    s.huddle.remove_personal_access_token(&actor, &name).await?;
    ok_empty()
}

async fn create_token(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let uid = p
        .str("userId")?
        .ok_or_else(|| plain("The required \"userId\" param was not provided"))?;
    let token = s.huddle.create_token_for(&actor, &uid).await?;
    ok(json!({ "data": { "userId": uid, "authToken": token } }))
}
