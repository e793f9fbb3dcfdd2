//! Webhook endpoints and the durable outbox: which events go where, the delivery log, and
//! redelivery. Sending (HTTP, signatures) is the server's job; this keeps the state.

use super::Huddle;
use crate::model::{OutboxItem, WebhookEndpoint};
use crate::{ids, Error, Failure, Result, Timestamp};

/// Event types an endpoint may subscribe to.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "user.created",
    "user.updated",
    "message.sent",
    "message.updated",
    "message.deleted",
    "conversation.deleted",
    "participant.joined",
    "participant.updated",
    "participant.left",
    "guestAccess.changed",
    "notification.triggered",
    "message.read",
];

/// Attempts before a delivery is given up (about 4 hours of backoff in all).
pub const MAX_ATTEMPTS: i64 = 12;

/// Delay before retry number `attempts` (1-based): 2, 4, 8 ... seconds, at most an hour.
pub fn backoff_millis(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 12) as u32;
    (1000i64 << exp).min(3_600_000)
}

impl Huddle {
    pub async fn create_webhook(&self, url: &str, events: Vec<String>) -> Result<WebhookEndpoint> {
        let parsed_ok = (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() <= 2048
            && !url.contains(char::is_whitespace);
        if !parsed_ok {
            return Err(Error::invalid("INVALID_URL", "url must be an http(s) URL"));
        }
        if let Some(bad) = events
            .iter()
            .find(|e| !WEBHOOK_EVENTS.contains(&e.as_str()))
        {
            return Err(Error::invalid(
                "INVALID_EVENT",
                format!(
                    "Unknown event type {bad}; known: {}",
                    WEBHOOK_EVENTS.join(", ")
                ),
            ));
        }
        let endpoint = WebhookEndpoint {
            id: ids::new_id(),
            url: url.to_string(),
            events,
            enabled: true,
            created_at: Timestamp::now(),
        };
        self.store.insert_webhook_endpoint(&endpoint).await?;
        self.reload_webhooks().await?;
        // Every node of a cluster writes its deliveries from the next change on.
        self.settle_shared_state().await;
        Ok(endpoint)
    }

    pub(super) async fn reload_webhooks(&self) -> Result<()> {
        let all = self.store.webhook_endpoints().await?;
        if let Ok(mut h) = self.hooks.write() {
            *h = all;
        }
        Ok(())
    }

    pub async fn webhooks(&self) -> Result<Vec<WebhookEndpoint>> {
        Ok(self.hooks.read().map(|h| h.clone()).unwrap_or_default())
    }

    /// Whether any endpoint wants this event type (checked before building a payload).
    /// The enabled endpoints as they are now, for the write path to queue deliveries in the
    /// change's own transaction.
    pub(crate) fn webhook_endpoints_now(&self) -> Vec<WebhookEndpoint> {
        self.hooks
            .read()
            .map(|h| h.iter().filter(|e| e.enabled).cloned().collect())
            .unwrap_or_default()
    }

    /// A room's events after `after_seq`, in order (delivery bodies are built from them).
    pub async fn room_events(
        &self,
        rid: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::store::RoomEvent>> {
        self.store.room_events(rid, after_seq, limit).await
    }

    /// Stores a delivery's body once; false when another sender stored one first.
    pub async fn set_delivery_body(&self, id: &str, body: &str) -> Result<bool> {
        self.store.set_outbox_body(id, body).await
    }

    /// One delivery of the outbox.
    pub async fn delivery(&self, id: &str) -> Result<Option<OutboxItem>> {
        self.store.outbox_item(id).await
    }

    pub fn webhook_wanted(&self, event_type: &str) -> bool {
        self.hooks
            .read()
            .map(|h| h.iter().any(|e| e.wants(event_type)))
            .unwrap_or(false)
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        if !self.store.delete_webhook_endpoint(id).await? {
            return Err(Error::NotFound(Failure::new(
                "WEBHOOK_NOT_FOUND",
                "No such webhook endpoint",
            )));
        }
        self.reload_webhooks().await?;
        self.settle_shared_state().await;
        Ok(())
    }

    /// Queues one event body for every endpoint that wants its type.
    pub async fn enqueue_webhook(&self, event_type: &str, body: &str) -> Result<usize> {
        let now = Timestamp::now();
        let items: Vec<OutboxItem> = self
            .webhooks()
            .await?
            .into_iter()
            .filter(|e| e.wants(event_type))
            .map(|e| OutboxItem {
                id: ids::new_id(),
                endpoint_id: e.id,
                event_type: event_type.to_string(),
                body: body.to_string(),
                attempts: 0,
                next_attempt_at: now,
                delivered_at: None,
                last_error: None,
                created_at: now,
                rid: None,
                seq: None,
                item: None,
            })
            .collect();
        if !items.is_empty() {
            self.store.enqueue_outbox(&items).await?;
        }
        Ok(items.len())
    }

    pub async fn due_deliveries(&self, limit: i64) -> Result<Vec<OutboxItem>> {
        // In a cluster every node's sender looks at the same rows: each claims its own. One
        // server reads them plainly, so a restart resends what a crash left at once.
        if self.hub.node_id().is_some() {
            self.store
                .claim_outbox(Timestamp::now(), MAX_ATTEMPTS, limit)
                .await
        } else {
            self.store
                .due_outbox(Timestamp::now(), MAX_ATTEMPTS, limit)
                .await
        }
    }

    /// Deliveries waiting in the outbox that will still be attempted (the metric's figure).
    pub async fn pending_deliveries(&self) -> Result<i64> {
        self.store.pending_outbox(MAX_ATTEMPTS).await
    }

    /// Records the outcome of one attempt: delivered, or scheduled again with backoff.
    pub async fn record_delivery(
        &self,
        mut item: OutboxItem,
        outcome: std::result::Result<(), String>,
    ) -> Result<()> {
        item.attempts += 1;
        match outcome {
            Ok(()) => {
                item.delivered_at = Some(Timestamp::now());
                item.last_error = None;
            }
            Err(e) => {
                item.last_error = Some(e.chars().take(500).collect());
                item.next_attempt_at =
                    Timestamp(Timestamp::now().millis() + backoff_millis(item.attempts));
            }
        }
        self.store.record_attempt(&item).await
    }

    pub async fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        self.store
            .outbox_of_endpoint(endpoint_id, limit.clamp(1, 200))
            .await
    }

    /// Sends a delivery again: a fresh outbox item with the same body.
    pub async fn redeliver(&self, endpoint_id: &str, delivery_id: &str) -> Result<OutboxItem> {
        let old = self
            .store
            .outbox_item(delivery_id)
            .await?
            .filter(|i| i.endpoint_id == endpoint_id)
            .ok_or_else(|| {
                Error::NotFound(Failure::new("DELIVERY_NOT_FOUND", "No such delivery"))
            })?;
        let now = Timestamp::now();
        let item = OutboxItem {
            id: ids::new_id(),
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            last_error: None,
            created_at: now,
            ..old
        };
        self.store
            .enqueue_outbox(std::slice::from_ref(&item))
            .await?;
        Ok(item)
    }

    /// The key webhooks are signed with: the oldest live secret.
    pub fn webhook_secret(&self) -> Option<String> {
        self.keys
            .read()
            .ok()
            .and_then(|k| k.iter().find(|k| k.is_live()).map(|k| k.secret.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_millis(1), 2000);
        assert_eq!(backoff_millis(2), 4000);
        assert_eq!(backoff_millis(40), 3_600_000);
    }
}
