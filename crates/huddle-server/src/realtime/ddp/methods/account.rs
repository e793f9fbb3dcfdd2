//! `login` (plaintext password, sha-256 digest, resume token), `logout`, `UserPresence:*`.

use huddle_core::services::{LoginRequest, PasswordInput};
use huddle_core::Timestamp;
use serde_json::{json, Value};

use super::{fail, object, string, Outcome};
use crate::realtime::ddp::errors::MeteorError;
use crate::realtime::ddp::session::Session;

/// Meteor's default login token lifetime, reported as `tokenExpires` (Huddle's session tokens
/// do not expire by themselves).
const TOKEN_DAYS: i64 = 90;

fn request(
    req: &serde_json::Map<String, Value>,
) -> Result<(LoginRequest, &'static str), MeteorError> {
    if let Some(token) = req.get("resume") {
        let token = token.as_str().ok_or_else(MeteorError::match_failed)?;
        return Ok((
            LoginRequest::Resume {
                token: token.to_string(),
            },
            "resume",
        ));
    }
    let user = match req.get("user") {
        Some(Value::String(u)) => Some(u.clone()),
        Some(Value::Object(o)) => o
            .get("username")
            .or_else(|| o.get("email"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
    .ok_or_else(MeteorError::match_failed)?;
    let password = match req.get("password") {
        Some(Value::String(p)) => PasswordInput::Plain(p.clone()),
        Some(Value::Object(o)) => {
            if o.get("algorithm").and_then(Value::as_str) != Some("sha-256") {
                return Err(MeteorError::new(400, "Unrecognized hash algorithm"));
            }
            let digest = o.get("digest").and_then(Value::as_str).unwrap_or_default();
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(MeteorError::match_failed());
            }
            PasswordInput::Sha256(digest.to_string())
        }
        _ => return Err(MeteorError::match_failed()),
    };
    Ok((LoginRequest::Password { user, password }, "password"))
}

pub async fn login(s: &mut Session, p: &[Value]) -> Outcome {
    let (req, kind) = request(object(p, 0)?)?;
    let resume = matches!(req, LoginRequest::Resume { .. });
    s.state
        .check_login_rate(s.ip, resume)
        .map_err(fail("login"))?;
    let (actor, token) = s.huddle().login_actor(req).await.map_err(fail("login"))?;
    // Subscriptions made before this login are decided again now (bots resubscribe before
    // they resume their session).
    s.router()
        .login(s.conn, actor.user(), Some(actor.token_hash()))
        .await
        .map_err(fail("login"))?;
    if let Err(e) = s.huddle().presence_connected(&actor).await {
        tracing::warn!(error = %e, "presence update on login failed");
    }
    let expires = Timestamp::now().millis() + TOKEN_DAYS * 24 * 3600 * 1000;
    let result = json!({
        "id": actor.user().id,
        "token": token,
        "tokenExpires": { "$date": expires },
        "type": kind,
    });
    s.actor = Some(actor);
    Ok(Some(result))
}

pub async fn logout(s: &mut Session) -> Outcome {
    let Some(actor) = s.actor.take() else {
        return Ok(None);
    };
    // The connection leaves the router first: revoking its own token must not end its
    // subscriptions (a logout makes them quiet, as Meteor does, not refused).
    let last = s.router().logout(s.conn);
    s.huddle().logout(&actor).await.map_err(fail("logout"))?;
    if let Some(uid) = last {
        if let Err(e) = s.huddle().presence_disconnected(&uid).await {
            tracing::warn!(error = %e, "presence update on logout failed");
        }
    }
    Ok(None)
}

pub async fn presence(s: &mut Session, method: &str, p: &[Value]) -> Outcome {
    let actor = s.actor(method)?;
    let done = match method {
        "UserPresence:online" => s.huddle().presence_idle(actor, false).await,
        "UserPresence:away" => s.huddle().presence_idle(actor, true).await,
        // setDefaultStatus: the user's choice, as users.setStatus.
        _ => {
            let status = string(p, 0)?;
            s.huddle().set_status(actor, None, Some(status), None).await
        }
    };
    done.map_err(fail("UserPresence"))?;
    Ok(Some(json!(true)))
}
