//! The accept loop. `axum::serve` sets no timer, so hyper applies no header-read timeout, and it
//! caps no connections (DESIGN §6): a client that sends half a header, or nothing at all, keeps
//! its socket forever, and enough of them exhaust file descriptors. This loop serves the same
//! router through hyper-util with a timer, a header-read timeout, a header size bound, a cap on
//! open connections, and a graceful shutdown with an upper bound.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// hyper refuses (panics on) a read buffer smaller than this; configured values are raised to it.
pub const MIN_HEADER_BYTES: usize = 8 * 1024;

/// The first bytes of an HTTP/2 prior-knowledge connection.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The limits of the accept loop; built from `ServerConfig`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time a client has to send a complete request header (also the first bytes of a new
    /// connection, and the idle time of a kept-alive HTTP/1 connection between requests).
    pub header_read_timeout: Duration,
    /// Open connections beyond this are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Largest request header (HTTP/1 read buffer, HTTP/2 header list).
    pub max_header_bytes: usize,
    /// How long a shutdown waits for requests in flight before dropping them.
    pub shutdown_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting at once and
/// lets requests in flight finish for at most `shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let builder = Arc::new(connection_builder(&options));
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    // Tells connections that have not started HTTP yet (not watched by `graceful`) to quit.
    let (stopping, stop_rx) = watch::channel(false);
    let mut at_cap = false;
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Closing at once costs nothing; queueing would let a flood hold sockets anyway.
            if !at_cap {
                tracing::warn!(
                    max = options.max_connections,
                    "connection limit reached; closing new connections"
                );
                at_cap = true;
            }
            drop(stream);
            continue;
        };
        at_cap = false;
        let shared = Shared {
            router: router.clone(),
            builder: builder.clone(),
            header_read_timeout: options.header_read_timeout,
        };
        tokio::spawn(serve_connection(
            stream,
            remote,
            shared,
            graceful.watcher(),
            stop_rx.clone(),
            permit,
        ));
    }
    // Dropping the listener closes the port now, while requests in flight are still running.
    drop(listener);
    let _ = stopping.send(true);
    tracing::info!(
        connections = graceful.count(),
        "stopped accepting; finishing requests in flight"
    );
    if tokio::time::timeout(options.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout_secs = options.shutdown_timeout.as_secs(),
            "requests still in flight at the shutdown deadline were dropped"
        );
    }
    Ok(())
}

fn connection_builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let header_bytes = options.max_header_bytes.max(MIN_HEADER_BYTES);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(header_bytes).unwrap_or(u32::MAX))
        // HTTP/2 has no header-read timeout; pings drop peers that went away silently.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

/// Errors of `accept` are the listener's, not a client's: a reset before accept is harmless,
/// anything else (out of file descriptors) gets a pause so the loop does not spin.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; pausing");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// What every connection task gets from the accept loop.
struct Shared {
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    header_read_timeout: Duration,
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    Shared {
        router,
        builder,
        header_read_timeout,
    }: Shared,
    watcher: Watcher,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    // hyper-util reads the first bytes (HTTP/1 or HTTP/2?) with no timer of its own, so a
    // client that connects and stays silent would never meet the header-read timeout.
    let known = tokio::select! {
        known = protocol_known_within(&stream, header_read_timeout) => known,
        // No request has started on this connection, so a shutdown has nothing to wait for.
        _ = stop.wait_for(|stopping| *stopping) => false,
    };
    if !known {
        return;
    }
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // The login rate limiter keys on the client address.
        request.extensions_mut().insert(ConnectInfo(remote));
        router.clone().oneshot(request)
    });
    // Borrowing the shared builder (rather than `into_owned`) saves a clone per connection.
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(connection).await {
        // Header timeouts, resets and malformed requests end here; they are the client's doing.
        tracing::debug!(%remote, error = %e, "connection ended with an error");
    }
}

/// Waits, at most `limit`, until the first bytes tell HTTP/1 from HTTP/2 (they are peeked,
/// not consumed). False when the client is silent, stalls inside the preface, or leaves.
async fn protocol_known_within(stream: &TcpStream, limit: Duration) -> bool {
    let decide = async {
        let mut buf = [0u8; H2_PREFACE.len()];
        loop {
            let n = stream.peek(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return false;
            }
            if n == buf.len() || buf[..n] != H2_PREFACE[..n] {
                return true;
            }
            // A partial HTTP/2 preface: peek would answer at once again, so wait a little.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(limit, decide).await.unwrap_or(false)
}
