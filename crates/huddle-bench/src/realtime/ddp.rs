//! The benchmark's DDP client: open a socket, `connect`, `login` with a resume token, `sub` to one
//! stream, then hand the socket to a reader task that answers the server's pings and passes every
//! other frame to a callback. One small task per socket: the client must stay cheaper than the
//! server it measures, so the sockets use the same 4 KiB read buffer the server does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Called with each frame a live socket receives after its subscription is ready, and the
/// instant it was read.
pub type OnFrame = Arc<dyn Fn(&str, Instant) + Send + Sync>;

/// `http://host:port` → `ws://host:port{path}`.
pub fn ws_url(http_base: &str, path: &str) -> String {
    let base = http_base.trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .unwrap_or_else(|| base.to_string());
    format!("{rest}{path}")
}

pub async fn open(url: &str) -> anyhow::Result<Ws> {
    let cfg = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(cfg), true)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    Ok(ws)
}

/// Reads frames until `done` says one is the awaited answer; answers pings on the way.
async fn until(ws: &mut Ws, what: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    let deadline = Duration::from_secs(30);
    let started = Instant::now();
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .with_context(|| format!("no {what} within {deadline:?}"))?;
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(c))) => bail!("closed while waiting for {what}: {c:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("socket error while waiting for {what}: {e}"),
            None => bail!("socket ended while waiting for {what}"),
        };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if v["msg"] == "ping" {
            ws.send(Message::text(r#"{"msg":"pong"}"#)).await?;
            continue;
        }
        if done(&v) {
            return Ok(v);
        }
    }
}

/// A DDP session logged in with `token` and subscribed to `stream` `[event, false]`.
pub async fn session(url: &str, token: &str, stream: &str, event: &str) -> anyhow::Result<Ws> {
    let mut ws = open(url).await?;
    let connect = json!({"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]});
    ws.send(Message::text(connect.to_string())).await?;
    let v = until(&mut ws, "connected", |v| {
        v["msg"] == "connected" || v["msg"] == "failed"
    })
    .await?;
    if v["msg"] != "connected" {
        bail!("DDP connect refused: {v}");
    }
    let login =
        json!({"msg": "method", "id": "login", "method": "login", "params": [{"resume": token}]});
    ws.send(Message::text(login.to_string())).await?;
    let v = until(&mut ws, "login result", |v| {
        v["msg"] == "result" && v["id"] == "login"
    })
    .await?;
    if !v["error"].is_null() {
        bail!("DDP login failed: {}", v["error"]);
    }
    let sub = json!({"msg": "sub", "id": "s", "name": stream, "params": [event, false]});
    ws.send(Message::text(sub.to_string())).await?;
    let v = until(&mut ws, "sub ready", |v| {
        (v["msg"] == "ready"
            && v["subs"]
                .as_array()
                .is_some_and(|s| s.contains(&json!("s"))))
            || (v["msg"] == "nosub" && v["id"] == "s")
    })
    .await?;
    if v["msg"] != "ready" {
        bail!("subscription to {stream} {event} refused: {v}");
    }
    Ok(ws)
}

/// Keeps `ws` open: answers pings, passes every other text frame to `on_frame`. The task ends
/// when the socket does; aborting it closes the socket.
pub fn keep(
    mut ws: Ws,
    on_frame: OnFrame,
    closed: Arc<std::sync::atomic::AtomicU64>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(Ok(m)) = ws.next().await {
            let at = Instant::now();
            let Message::Text(text) = m else { continue };
            let text = text.as_str();
            if text.starts_with(r#"{"msg":"ping""#) {
                if ws.send(Message::text(r#"{"msg":"pong"}"#)).await.is_err() {
                    break;
                }
                continue;
            }
            on_frame(text, at);
        }
        closed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
}

/// The sequence number the benchmark put into a message's text (`rtb:<seq>:`), wherever the
/// frame carries it.
pub fn seq_of(text: &str) -> Option<usize> {
    let at = text.find("rtb:")? + 4;
    let rest = &text[at..];
    rest[..rest.find(':')?].parse().ok()
}

/// A message text that carries `seq`, of ordinary chat length.
pub fn message_text(seq: usize) -> String {
    format!("rtb:{seq}: a message of ordinary length for a group chat, about eighty bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_survive_the_frame() {
        let frame = format!(
            r#"{{"msg":"changed","fields":{{"args":[{{"msg":"{}"}}]}}}}"#,
            message_text(42)
        );
        assert_eq!(seq_of(&frame), Some(42));
        assert_eq!(seq_of(r#"{"msg":"changed"}"#), None);
        assert_eq!(
            ws_url("http://127.0.0.1:3000/", "/websocket"),
            "ws://127.0.0.1:3000/websocket"
        );
    }
}
