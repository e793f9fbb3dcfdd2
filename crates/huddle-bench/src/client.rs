//! The HTTP side: one pooled client per run, requests prepared before the clock starts, and
//! Rocket.Chat's success rule (2xx and `"success": true`) applied to every answer.

use std::time::Duration;

use anyhow::{bail, Context};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde_json::{json, Value};

/// A caller's `X-User-Id` / `X-Auth-Token`, ready to put on the wire.
#[derive(Clone, Debug)]
pub struct Creds {
    pub uid: HeaderValue,
    pub token: HeaderValue,
}

impl Creds {
    pub fn new(uid: &str, token: &str) -> anyhow::Result<Creds> {
        Ok(Creds {
            uid: HeaderValue::from_str(uid).context("user id is not a header value")?,
            token: HeaderValue::from_str(token).context("token is not a header value")?,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request, built by a scenario before it is timed.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    /// Path and query, e.g. `/api/v1/channels.members?roomId=m10&count=50`.
    pub path: String,
    /// A JSON body for POSTs.
    pub body: Option<String>,
    pub creds: Option<Creds>,
}

impl Req {
    pub fn get(path: String, creds: Option<&Creds>) -> Req {
        Req {
            method: Method::Get,
            path,
            body: None,
            creds: creds.cloned(),
        }
    }

    pub fn post(path: &str, body: Value, creds: &Creds) -> Req {
        Req {
            method: Method::Post,
            path: path.to_string(),
            body: Some(body.to_string()),
            creds: Some(creds.clone()),
        }
    }
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    /// A client whose pool keeps up to `connections` idle keep-alive connections to the server:
    /// each of the `connections` workers has one request in flight, so after warm-up every
    /// request reuses a connection and no more than `connections` are ever open.
    pub fn new(base: &str, connections: usize) -> anyhow::Result<Http> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .pool_idle_timeout(Duration::from_secs(300))
            .tcp_nodelay(true)
            // Long enough for a 10,000-user invite on a slow server; a hung request still ends.
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// Sends `req` and reads the whole answer. `Err` carries what went wrong, for the report.
    pub async fn send(&self, req: &Req) -> Result<(), String> {
        let url = format!("{}{}", self.base, req.path);
        let mut b = match req.method {
            Method::Get => self.client.get(url),
            Method::Post => self.client.post(url),
        };
        if let Some(c) = &req.creds {
            b = b
                .header("X-User-Id", c.uid.clone())
                .header("X-Auth-Token", c.token.clone());
        }
        if let Some(body) = &req.body {
            b = b
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let res = b.send().await.map_err(|e| format!("{}: {e}", req.path))?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| format!("{}: reading body: {e}", req.path))?;
        if status.is_success() && succeeded(&bytes) {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&bytes);
        Err(format!(
            "{} -> {status}: {}",
            req.path,
            text.chars().take(300).collect::<String>()
        ))
    }

    /// A POST whose answer the caller reads (setup steps, not timed): the JSON body on success.
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        creds: &Creds,
    ) -> anyhow::Result<Value> {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-User-Id", creds.uid.clone())
            .header("X-Auth-Token", creds.token.clone())
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = res.status();
        let v: Value = res
            .json()
            .await
            .with_context(|| format!("POST {path}: answer"))?;
        if !status.is_success() || v["success"] != Value::Bool(true) {
            bail!("POST {path} failed ({status}): {v}");
        }
        Ok(v)
    }

    /// Password login (one Argon2 verification on the server): the admin's credentials.
    pub async fn login(&self, user: &str, password: &str) -> anyhow::Result<Creds> {
        let res = self
            .client
            .post(format!("{}/api/v1/login", self.base))
            .json(&json!({ "user": user, "password": password }))
            .send()
            .await
            .context("login request")?;
        let status = res.status();
        let body: Value = res.json().await.context("login answer")?;
        let (Some(uid), Some(token)) = (
            body["data"]["userId"].as_str(),
            body["data"]["authToken"].as_str(),
        ) else {
            bail!("login as {user} failed ({status}): {body}");
        };
        Creds::new(uid, token)
    }
}

/// Rocket.Chat's success flag (`"status": "success"` on `login`, which has no `success`). The
/// server writes compact JSON, so the common case is a substring test; anything else is parsed.
fn succeeded(body: &[u8]) -> bool {
    const FLAG: &[u8] = b"\"success\":true";
    const STATUS: &[u8] = b"\"status\":\"success\"";
    if body
        .windows(FLAG.len())
        .any(|w| w == FLAG || w.starts_with(STATUS))
    {
        return true;
    }
    serde_json::from_slice::<Value>(body)
        .map(|v| v["success"] == Value::Bool(true) || v["status"] == "success")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_read_from_the_body() {
        assert!(succeeded(br#"{"channel":{},"success":true}"#));
        assert!(succeeded(br#"{ "success" : true }"#));
        assert!(!succeeded(br#"{"success":false,"error":"x"}"#));
        assert!(!succeeded(b"not json"));
        assert!(succeeded(br#"{"status":"success","data":{}}"#));
        assert!(!succeeded(br#"{"status":"error","error":"Unauthorized"}"#));
    }
}
