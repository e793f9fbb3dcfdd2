//! What both realtime protocols share about a WebSocket: the queue item a connection's writer
//! takes, the close codes and the writer loop itself. Only the encoding of a shared delivery
//! differs between DDP and the native socket.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::SplitSink;
use futures::SinkExt;
use huddle_core::realtime::{Delivery, Notice, Protocol};
use tokio::sync::{mpsc, oneshot};

/// What the writer sends: a frame made for this connection, or a shared delivery.
pub(crate) enum Out {
    Frame(Utf8Bytes),
    Shared(Arc<Delivery>),
}

/// A close code and reason.
pub(crate) type Close = (u16, &'static str);

/// The close code for a connection that could not keep up ("try again later").
pub(crate) const SLOW: u16 = 1013;

/// Frames written between two flushes (and two looks at the close signal).
const BATCH: usize = 64;

/// How a protocol turns a notice into its frame (`None`: nothing to send on this protocol).
pub(crate) type Encode = fn(&Notice) -> Option<Utf8Bytes>;

/// Writes queued items until the queue ends or a close arrives. A shared delivery is encoded by
/// the first connection that writes it; the others reuse those bytes.
pub(crate) async fn write_loop(
    mut ws: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Out>,
    mut close_rx: oneshot::Receiver<Close>,
    protocol: Protocol,
    encode: Encode,
) {
    let render = |out: Out| match out {
        Out::Frame(f) => Some(f),
        Out::Shared(d) => d.frame(protocol, encode),
    };
    loop {
        tokio::select! {
            biased;
            close = &mut close_rx => {
                let (code, reason) = close.unwrap_or((1000, ""));
                if code != SLOW {
                    // Replies already queued (an answer explaining the close) go out before the
                    // close; a slow consumer's backlog does not.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Ok(out) = rx.try_recv() {
                            if let Some(text) = render(out) {
                                if ws.feed(Message::Text(text)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        let _ = ws.flush().await;
                    })
                    .await;
                }
                let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
                let _ = ws.send(Message::Close(Some(frame))).await;
                return;
            }
            item = rx.recv() => {
                let Some(mut out) = item else { return };
                // Feed what is already queued (up to a batch), then flush once: fewer, larger
                // writes.
                for _ in 0..BATCH {
                    if let Some(text) = render(out) {
                        if ws.feed(Message::Text(text)).await.is_err() {
                            return;
                        }
                    }
                    match rx.try_recv() {
                        Ok(next) => out = next,
                        Err(_) => break,
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Queues a shared delivery without waiting. A full queue marks the connection as too slow and
/// wakes its reader, which closes it with `SLOW`; the router then drops it.
pub(crate) fn offer_shared(
    tx: &mpsc::Sender<Out>,
    overflowed: &std::sync::atomic::AtomicBool,
    wake: &tokio::sync::Notify,
    delivery: Arc<Delivery>,
) -> bool {
    match tx.try_send(Out::Shared(delivery)) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            overflowed.store(true, std::sync::atomic::Ordering::SeqCst);
            wake.notify_one();
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}
