//! The accept loop's limits (DESIGN §6), over raw sockets: clients that stall inside a header
//! are cut off, connections beyond the cap are closed while earlier ones keep working, and a
//! shutdown closes the port at once but lets requests in flight finish.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, ADMIN, ADMIN_PASSWORD};

/// Bound on every wait below, so a regression fails instead of hanging the suite.
const PATIENCE: Duration = Duration::from_secs(10);

/// A request for `/api/info` that keeps the connection open.
const INFO: &[u8] = b"GET /api/info HTTP/1.1\r\nHost: test\r\n\r\n";

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.addr).await.expect("connect")
}

/// Reads one HTTP/1 response with a `Content-Length` body; returns its head and body.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("response within patience")
            .expect("read");
        assert!(n > 0, "connection closed before a full response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let head = text[..end].to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("content-length");
        if buf.len() >= end + 4 + length {
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
            return (head, body);
        }
    }
}

/// Waits until the server closes `stream`; returns how long that took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut chunk = [0u8; 1024];
    match tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
        .await
        .expect("server closed the connection within patience")
    {
        Ok(0) | Err(_) => start.elapsed(),
        Ok(n) => panic!(
            "expected a close, got {:?}",
            String::from_utf8_lossy(&chunk[..n])
        ),
    }
}

async fn ask_info(stream: &mut TcpStream) {
    stream.write_all(INFO).await.expect("write request");
    let (head, body) = read_response(stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("\"success\":true"), "{body}");
}

#[tokio::test]
async fn half_sent_header_is_cut_off_after_the_header_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.admin = None;
        c.header_read_timeout = Duration::from_secs(1);
    })
    .await;

    let mut half = connect(&app).await;
    half.write_all(b"GET /api/info HTTP/1.1\r\nHost: te")
        .await
        .expect("write half a header");
    let waited = closed_after(&mut half).await;
    assert!(
        waited >= Duration::from_millis(800),
        "closed too early: {waited:?}"
    );

    // A client that connects and says nothing meets the same limit.
    let mut silent = connect(&app).await;
    let waited = closed_after(&mut silent).await;
    assert!(
        waited >= Duration::from_millis(800),
        "closed too early: {waited:?}"
    );

    // A prompt client is served as usual.
    let mut prompt = connect(&app).await;
    ask_info(&mut prompt).await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_while_earlier_ones_work() {
    let app = TestApp::spawn_with(|c| {
        c.admin = None;
        c.max_connections = 2;
    })
    .await;

    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    ask_info(&mut first).await;
    ask_info(&mut second).await;

    // The third is accepted by the kernel and closed by the server without an answer.
    let mut third = connect(&app).await;
    let _ = third.write_all(INFO).await;
    closed_after(&mut third).await;

    // The first two are untouched (kept alive, they answer again).
    ask_info(&mut first).await;
    ask_info(&mut second).await;

    // Closing one frees its slot for a newcomer (once the server has seen the close).
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut next = connect(&app).await;
        if next.write_all(INFO).await.is_ok() {
            let mut chunk = [0u8; 12];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_secs(2), next.read(&mut chunk)).await
            {
                if n > 0 {
                    assert!(chunk.starts_with(b"HTTP/1.1 200"));
                    break;
                }
            }
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_and_stops_accepting() {
    let mut app = TestApp::spawn_with(|c| c.admin = None).await;
    // The admin is made here rather than at start so that no pooled client connection of the
    // harness is open when the shutdown begins.
    let mut setup = connect(&app).await;
    let body = format!(
        r#"{{"username":"{ADMIN}","name":"Admin","email":"a@example.com","pass":"{ADMIN_PASSWORD}"}}"#
    );
    let request = format!(
        "POST /api/v1/users.register HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    setup.write_all(request.as_bytes()).await.expect("register");
    let (head, body) = read_response(&mut setup).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head} {body}");
    drop(setup);

    // A login whose body is still arriving when the shutdown starts: a request in flight
    // (the handler is already running, waiting for its body). Login also needs the client
    // address (`ConnectInfo`), which the accept loop must still provide.
    let body = format!(r#"{{"user":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#);
    let (start, rest) = body.split_at(10);
    let mut slow = connect(&app).await;
    let head = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{start}",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.expect("write head");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopped = app.begin_shutdown();

    // The port closes at once, while the login is still waiting for its body.
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(app.addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after the shutdown began"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !stopped.is_finished(),
        "the server quit before the request finished"
    );

    slow.write_all(rest.as_bytes()).await.expect("write rest");
    let (head, body) = read_response(&mut slow).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head} {body}");
    assert!(body.contains("authToken"), "{body}");

    tokio::time::timeout(PATIENCE, stopped)
        .await
        .expect("server stops once the request is done")
        .expect("server task")
        .expect("server result");
}

#[tokio::test]
async fn oversized_header_is_refused() {
    let app = TestApp::spawn_with(|c| {
        c.admin = None;
        c.max_header_bytes = 16 * 1024;
    })
    .await;
    let mut big = connect(&app).await;
    let filler = "a".repeat(32 * 1024);
    let request = format!("GET /api/info HTTP/1.1\r\nHost: test\r\nX-Filler: {filler}\r\n\r\n");
    // The server may stop reading (and reset) before the whole header is written.
    let _ = big.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, big.read_to_end(&mut answer))
        .await
        .expect("server answers or closes within patience");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );

    // A header under the bound is served.
    let mut fine = connect(&app).await;
    let filler = "a".repeat(8 * 1024);
    let request = format!("GET /api/info HTTP/1.1\r\nHost: test\r\nX-Filler: {filler}\r\n\r\n");
    fine.write_all(request.as_bytes()).await.expect("write");
    let (head, _) = read_response(&mut fine).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}
