//! Connection floods over raw sockets: 2,000 idle connections do not keep a normal request from
//! being answered, and slowloris clients (a header byte at a time) are closed by the header-read
//! timeout while others are served. Latencies are printed as figures, never asserted.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

const IDLE: usize = 2_000;
const SLOW: usize = 100;
/// Bound on every wait, so a regression fails instead of hanging the suite.
const PATIENCE: Duration = Duration::from_secs(30);

/// Each connection costs this process two descriptors (client and server side): raise the soft
/// limit towards the hard one, and say so clearly when the machine cannot give enough.
fn raise_nofile(need: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let cur = getrlimit(Resource::Nofile);
    if cur.current.is_none_or(|c| c >= need) {
        return;
    }
    let target = cur.maximum.map_or(need, |m| m.min(need));
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: cur.maximum,
        },
    )
    .expect("raise RLIMIT_NOFILE");
    assert!(
        target >= need,
        "this test needs {need} file descriptors; the hard limit is {target} (raise `ulimit -Hn`)"
    );
}

/// `GET /api/info` on a fresh connection; returns the status line and how long it took.
async fn info(app: &TestApp) -> (String, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(app.addr).await.expect("connect");
    s.write_all(b"GET /api/info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut buf))
        .await
        .expect("answered within patience")
        .expect("read");
    let text = String::from_utf8_lossy(&buf);
    (
        text.lines().next().unwrap_or_default().to_string(),
        start.elapsed(),
    )
}

#[tokio::test]
async fn a_request_is_served_while_2000_idle_connections_are_open() {
    raise_nofile(2 * IDLE as u64 + 1_024);
    let app = TestApp::spawn_with(|c| {
        c.admin = None;
        // Long enough that the idle connections stay for the whole test.
        c.header_read_timeout = Duration::from_secs(120);
    })
    .await;
    let (_, quiet) = info(&app).await;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(app.addr).await.expect("connect idle"));
    }
    // Some of them half a request, the rest nothing at all.
    for s in idle.iter_mut().step_by(2) {
        s.write_all(b"GET /api/info HTTP/1.1\r\nHo")
            .await
            .expect("write");
    }
    let (status, loaded) = info(&app).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // They were all still open (none closed for the request to get through).
    let mut open = 0;
    for s in &idle {
        let mut b = [0u8; 1];
        if matches!(s.try_read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
            open += 1;
        }
    }
    assert_eq!(open, IDLE, "idle connections closed early");
    println!(
        "figure: GET /api/info answered in {:.1} ms with {IDLE} idle connections open ({:.1} ms without)",
        loaded.as_secs_f64() * 1e3,
        quiet.as_secs_f64() * 1e3
    );
}

#[tokio::test]
async fn slowloris_clients_are_closed_while_others_are_served() {
    raise_nofile(2 * SLOW as u64 + 1_024);
    let app = TestApp::spawn_with(|c| {
        c.admin = None;
        c.header_read_timeout = Duration::from_secs(2);
    })
    .await;
    // Each sends a byte of an endless header every 100 ms: never a whole header.
    let mut tasks = Vec::new();
    for _ in 0..SLOW {
        let mut s = TcpStream::connect(app.addr).await.expect("connect");
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let header = b"GET /api/info HTTP/1.1\r\nX-Slow: ";
            let mut i = 0usize;
            loop {
                let byte = header.get(i).copied().unwrap_or(b'a');
                if s.write_all(&[byte]).await.is_err() {
                    return start.elapsed();
                }
                i += 1;
                let mut b = [0u8; 64];
                match tokio::time::timeout(Duration::from_millis(100), s.read(&mut b)).await {
                    // Closed (0 bytes or reset), or answered with an error and then closed.
                    Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
                    Ok(Ok(_)) | Err(_) => {}
                }
                assert!(
                    start.elapsed() < PATIENCE,
                    "a slowloris client was never cut off"
                );
            }
        }));
    }
    let (status, latency) = info(&app).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut longest = Duration::ZERO;
    for t in tasks {
        longest = longest.max(t.await.expect("slow client task"));
    }
    println!(
        "figure: {SLOW} slowloris clients all closed (the last after {:.1} s, header timeout 2 s); a normal request meanwhile took {:.1} ms",
        longest.as_secs_f64(),
        latency.as_secs_f64() * 1e3
    );
}
