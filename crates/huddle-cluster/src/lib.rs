//! The cluster's bus over core NATS: `huddle_core::cluster::Bus` implemented with the official
//! `async-nats` client. Core NATS is at-most-once and gives no error for a message lost across
//! a server restart, which is why core fills every gap from PostgreSQL; here we only move
//! bytes, keep one subscription per subject, and report connection changes.
//!
//! Publishes go through one task in call order (the client's `publish` is async, callers are
//! not). Each subscription forwards into one inbound channel read by the cluster hub.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};
use async_trait::async_trait;
use futures::StreamExt;
use huddle_core::cluster::{Bus, Inbound};
use huddle_core::{Error, Result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub struct NatsBus {
    client: Client,
    out: mpsc::UnboundedSender<(String, Vec<u8>)>,
    inbound_tx: mpsc::UnboundedSender<Inbound>,
    inbound_rx: Mutex<Option<mpsc::UnboundedReceiver<Inbound>>>,
    subs: tokio::sync::Mutex<HashMap<String, JoinHandle<()>>>,
    connected: Arc<AtomicBool>,
    publisher: JoinHandle<()>,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("NATS {what}: {e}"))
}

impl NatsBus {
    /// Connects to `url` (`nats://host:port`, several comma-separated). Fails when no server
    /// answers at start; afterwards the client reconnects by itself, for ever.
    pub async fn connect(url: &str, name: &str) -> Result<Arc<NatsBus>> {
        let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
        let connected = Arc::new(AtomicBool::new(false));
        let events_tx = inbound_tx.clone();
        let flag = connected.clone();
        let client = ConnectOptions::new()
            .name(name)
            // A node never needs its own messages back.
            .no_echo()
            .max_reconnects(None)
            .event_callback(move |event| {
                let (tx, flag) = (events_tx.clone(), flag.clone());
                async move {
                    match event {
                        Event::Connected => {
                            // The first connection is not a reconnect; later ones are.
                            if !flag.swap(true, Ordering::SeqCst) {
                                let _ = tx.send(Inbound::Reconnected);
                            }
                        }
                        Event::Disconnected => {
                            flag.store(false, Ordering::SeqCst);
                            let _ = tx.send(Inbound::Disconnected);
                        }
                        other => tracing::debug!(event = %other, "nats"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|e| unavailable("connect", e))?;
        connected.store(true, Ordering::SeqCst);
        let (out, mut out_rx) = mpsc::unbounded_channel::<(String, Vec<u8>)>();
        let pub_client = client.clone();
        let publisher = tokio::spawn(async move {
            while let Some((subject, payload)) = out_rx.recv().await {
                if let Err(e) = pub_client.publish(subject, payload.into()).await {
                    tracing::debug!(error = %e, "nats publish");
                }
            }
        });
        Ok(Arc::new(NatsBus {
            client,
            out,
            inbound_tx,
            inbound_rx: Mutex::new(Some(inbound_rx)),
            subs: tokio::sync::Mutex::new(HashMap::new()),
            connected,
            publisher,
        }))
    }
}

impl Drop for NatsBus {
    fn drop(&mut self) {
        self.publisher.abort();
        if let Ok(subs) = self.subs.try_lock() {
            for h in subs.values() {
                h.abort();
            }
        }
    }
}

#[async_trait]
impl Bus for NatsBus {
    fn publish(&self, subject: String, payload: Vec<u8>) {
        let _ = self.out.send((subject, payload));
    }

    async fn subscribe(&self, subject: &str) -> Result<()> {
        let mut subs = self.subs.lock().await;
        if subs.contains_key(subject) {
            return Ok(());
        }
        let mut sub = self
            .client
            .subscribe(subject.to_string())
            .await
            .map_err(|e| unavailable("subscribe", e))?;
        let tx = self.inbound_tx.clone();
        let handle = tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                let msg = Inbound::Message {
                    subject: m.subject.to_string(),
                    payload: m.payload.to_vec(),
                    reply: m.reply.map(|r| r.to_string()),
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        subs.insert(subject.to_string(), handle);
        drop(subs);
        // The server has the subscription once it answered a ping sent after it.
        self.client
            .flush()
            .await
            .map_err(|e| unavailable("flush", e))
    }

    async fn unsubscribe(&self, subject: &str) -> Result<()> {
        // Dropping the subscriber sends UNSUB.
        if let Some(h) = self.subs.lock().await.remove(subject) {
            h.abort();
        }
        Ok(())
    }

    async fn request(&self, subject: &str, payload: Vec<u8>, timeout: Duration) -> Result<Vec<u8>> {
        let ask = self.client.request(subject.to_string(), payload.into());
        match tokio::time::timeout(timeout, ask).await {
            Ok(Ok(m)) => Ok(m.payload.to_vec()),
            Ok(Err(e)) => Err(unavailable("request", e)),
            Err(_) => Err(unavailable("request", "timed out")),
        }
    }

    fn inbound(&self) -> Option<mpsc::UnboundedReceiver<Inbound>> {
        self.inbound_rx.lock().ok()?.take()
    }

    fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }
}
