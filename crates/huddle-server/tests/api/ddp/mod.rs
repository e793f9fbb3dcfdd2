//! Real-socket DDP tests: a tokio-tungstenite client against the `TestApp` on `127.0.0.1:0`.
//! `Ddp` keeps every frame it did not wait for in a backlog, so a test can wait for a method's
//! result and then look at the events that arrived meanwhile, in order.

mod fanout;
mod methods;
mod parity;
mod presence;
mod revocation;
mod streams;
mod transport;

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{Session, TestApp};

/// How long a test waits for a frame that must come.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a test listens for frames that must not come.
pub const QUIET: Duration = Duration::from_millis(400);

pub struct Ddp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pub backlog: VecDeque<Value>,
    pub closed: bool,
}

pub fn ws_url(app: &TestApp) -> String {
    format!("{}/websocket", app.base.replacen("http://", "ws://", 1))
}

impl Ddp {
    /// Opens the socket and reads the welcome frame.
    pub async fn open(app: &TestApp) -> Ddp {
        let (ws, _) = tokio_tungstenite::connect_async(ws_url(app))
            .await
            .expect("websocket connect");
        let mut d = Ddp {
            ws,
            next_id: 0,
            backlog: VecDeque::new(),
            closed: false,
        };
        assert_eq!(d.recv().await, json!({"server_id": "0"}));
        d
    }

    /// Opens a socket whose client side buffers almost nothing: a client that does not read
    /// then backs up into the server at once.
    pub async fn open_tiny_buffer(app: &TestApp) -> Ddp {
        let addr: std::net::SocketAddr = app
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("address");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let stream = socket.connect(addr).await.expect("tcp connect");
        let (ws, _) = tokio_tungstenite::client_async(ws_url(app), MaybeTlsStream::Plain(stream))
            .await
            .expect("websocket handshake");
        let mut d = Ddp {
            ws,
            next_id: 0,
            backlog: VecDeque::new(),
            closed: false,
        };
        assert_eq!(d.recv().await, json!({"server_id": "0"}));
        d.send(json!({"msg": "connect", "version": "1", "support": ["1"]}))
            .await;
        assert_eq!(d.recv().await["msg"], "connected");
        d
    }

    /// Opens and connects with DDP version 1.
    pub async fn connect(app: &TestApp) -> Ddp {
        let mut d = Self::open(app).await;
        d.send(json!({"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}))
            .await;
        let v = d.recv().await;
        assert_eq!(v["msg"], "connected", "{v}");
        d
    }

    /// Connects and logs in with a REST session's token.
    pub async fn resume(app: &TestApp, who: &Session) -> Ddp {
        let mut d = Self::connect(app).await;
        let r = d.call("login", json!([{ "resume": who.token }])).await;
        assert_eq!(r["result"]["id"], json!(who.user_id), "{r}");
        d
    }

    /// The raw socket (a test that looks at close frames).
    pub fn into_socket(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.ws
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send frame");
    }

    /// The next frame from the socket (not the backlog), or `None` after `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next()).await.ok()?;
            match next {
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("frame is JSON"))
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    self.closed = true;
                    return None;
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        self.recv_within(WAIT).await.expect("a frame in time")
    }

    fn next_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Calls a method; returns its `result` frame. Other frames go to the backlog (the method's
    /// `updated` is checked and dropped).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id();
        self.send(json!({"msg": "method", "id": id, "method": method, "params": params}))
            .await;
        let mut updated = false;
        loop {
            let v = self.recv().await;
            match v["msg"].as_str() {
                Some("result") if v["id"] == json!(id) => {
                    assert!(updated, "updated precedes result: {v}");
                    return v;
                }
                Some("updated") if v["methods"] == json!([id]) => updated = true,
                _ => self.backlog.push_back(v),
            }
        }
    }

    /// A method that must succeed: its `result` value (`Null` when there is none).
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params.clone()).await;
        assert!(r.get("error").is_none(), "{method} {params} -> {r}");
        r.get("result").cloned().unwrap_or(Value::Null)
    }

    /// A method that must fail: its error object.
    pub async fn err(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params.clone()).await;
        assert!(
            r.get("error").is_some(),
            "{method} {params} must fail -> {r}"
        );
        r["error"].clone()
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Value {
        self.ok(
            "login",
            json!([{ "user": { "username": username }, "password": password }]),
        )
        .await
    }

    /// Subscribes; returns the frames answering it (`added` if any, then `ready` or `nosub`).
    pub async fn sub(&mut self, name: &str, params: Value) -> Vec<Value> {
        let id = self.next_id();
        self.send(json!({"msg": "sub", "id": id, "name": name, "params": params}))
            .await;
        let mut out = vec![];
        loop {
            let v = self.recv().await;
            let answers = (v["msg"] == "ready" && v["subs"] == json!([id]))
                || (v["msg"] == "nosub" && v["id"] == json!(id));
            if v["msg"] == "added" || (v["msg"] == "changed" && v["fields"].get("args").is_none()) {
                out.push(v);
            } else if answers {
                out.push(v);
                return out;
            } else {
                self.backlog.push_back(v);
            }
        }
    }

    /// Subscribes and requires `ready`; returns the subscription id.
    pub async fn sub_ready(&mut self, name: &str, event: &str) -> String {
        let frames = self.sub(name, json!([event, false])).await;
        let last = frames.last().cloned().unwrap_or_default();
        assert_eq!(last["msg"], "ready", "{name} {event}: {frames:?}");
        last["subs"][0].as_str().unwrap_or_default().to_string()
    }

    /// The next frame matching `pred`, from the backlog first; earlier non-matching frames stay.
    pub async fn next_where(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(pos) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(pos).unwrap_or_default();
        }
        loop {
            let v = self.recv().await;
            if pred(&v) {
                return v;
            }
            self.backlog.push_back(v);
        }
    }

    /// The next stream event with this event name.
    pub async fn event(&mut self, event_name: &str) -> Value {
        let name = event_name.to_string();
        self.next_where(move |v| v["msg"] == "changed" && v["fields"]["eventName"] == json!(name))
            .await
    }

    /// Every frame that arrives within `QUIET`, plus the backlog, drained.
    pub async fn drain(&mut self) -> Vec<Value> {
        let mut out: Vec<Value> = self.backlog.drain(..).collect();
        while let Some(v) = self.recv_within(QUIET).await {
            out.push(v);
        }
        out
    }

    /// Asserts that no stream event matching `pred` arrives within `QUIET` (nor waits in the
    /// backlog).
    pub async fn assert_none(&mut self, what: &str, pred: impl Fn(&Value) -> bool) {
        let frames = self.drain().await;
        let bad: Vec<&Value> = frames.iter().filter(|v| pred(v)).collect();
        assert!(bad.is_empty(), "{what}: unexpected {bad:?}");
        self.backlog.extend(frames);
    }
}

/// True for a stream event whose (first) message has this text.
pub fn message_text(v: &Value, text: &str) -> bool {
    v["msg"] == "changed" && v["fields"]["args"][0]["msg"] == json!(text)
}
