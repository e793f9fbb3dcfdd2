//! What both realtime protocols share about a WebSocket: the queue item a connection's writer
//! takes, the close codes and the writer loop itself. Only the encoding of a shared delivery
//! differs between DDP and the native socket.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::{Sink, SinkExt};
use huddle_core::realtime::{Delivery, Notice, Protocol};
use tokio::sync::{mpsc, oneshot};

/// What the writer sends: a frame made for this connection, a shared delivery, or a WebSocket
/// ping (the native socket's heartbeat: every client, browsers included, answers it unasked).
pub(crate) enum Out {
    Frame(Utf8Bytes),
    Shared(Arc<Delivery>),
    Ping,
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
/// the first connection that writes it; the others reuse those bytes. Generic over the sink so
/// a test can watch exactly what is written.
pub(crate) async fn write_loop<S: Sink<Message> + Unpin>(
    mut ws: S,
    mut rx: mpsc::Receiver<Out>,
    mut close_rx: oneshot::Receiver<Close>,
    protocol: Protocol,
    encode: Encode,
) {
    let render = |out: Out| match out {
        Out::Frame(f) => Some(Message::Text(f)),
        Out::Shared(d) => d.frame(protocol, encode).map(Message::Text),
        Out::Ping => Some(Message::Ping(Default::default())),
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
                            if let Some(m) = render(out) {
                                if ws.feed(m).await.is_err() {
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
                for i in 0..BATCH {
                    if let Some(m) = render(out) {
                        if ws.feed(m).await.is_err() {
                            return;
                        }
                    }
                    // Take the next item only if this batch still writes it: one taken after
                    // the last round would be dropped (a lost message after any burst).
                    if i + 1 == BATCH {
                        break;
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

/// What a heartbeat check asks of the connection.
pub(crate) enum Beat {
    /// Silent for the interval: ping the client.
    Ping,
    /// Silent for the interval plus the timeout: close it (4000).
    Close,
}

/// The server's side of a heartbeat, shared by both protocols: looked at four times an interval,
/// one ping per silence, a close when the silence outlasts the timeout.
pub(crate) struct Heartbeat {
    interval: Duration,
    timeout: Duration,
    last_seen: tokio::time::Instant,
    pinged: bool,
    tick: tokio::time::Interval,
}

impl Heartbeat {
    pub(crate) fn new(interval: Duration, timeout: Duration) -> Heartbeat {
        let period = (interval / 4).max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Heartbeat {
            interval,
            timeout,
            last_seen: tokio::time::Instant::now(),
            pinged: false,
            tick,
        }
    }

    /// Anything arrived from the client: it is there.
    pub(crate) fn seen(&mut self) {
        self.last_seen = tokio::time::Instant::now();
        self.pinged = false;
    }

    /// Waits for the next look; `Some` when the connection must ping (if `may_ping`) or close.
    pub(crate) async fn check(&mut self, may_ping: bool) -> Option<Beat> {
        self.tick.tick().await;
        let idle = self.last_seen.elapsed();
        if idle >= self.interval + self.timeout {
            return Some(Beat::Close);
        }
        if idle >= self.interval && !self.pinged && may_ping {
            self.pinged = true;
            return Some(Beat::Ping);
        }
        None
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

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn no_encoding(_: &Notice) -> Option<Utf8Bytes> {
        None
    }

    /// A burst longer than several batches is written whole and in order (one item after each
    /// full batch was once taken and dropped).
    #[tokio::test]
    async fn a_burst_of_several_batches_is_written_whole_and_in_order() {
        let total = BATCH * 3 + 5;
        let (tx, rx) = mpsc::channel(total);
        for i in 0..total {
            tx.try_send(Out::Frame(Utf8Bytes::from(i.to_string())))
                .expect("room in the queue");
        }
        drop(tx);
        let (_close_tx, close_rx) = oneshot::channel();
        let (sink, mut written) = futures::channel::mpsc::unbounded::<Message>();
        write_loop(sink, rx, close_rx, Protocol::Ddp, no_encoding).await;
        let mut texts = vec![];
        while let Ok(m) = written.try_recv() {
            if let Message::Text(t) = m {
                texts.push(t.to_string());
            }
        }
        let expected: Vec<String> = (0..total).map(|i| i.to_string()).collect();
        assert_eq!(texts, expected);
    }
}
