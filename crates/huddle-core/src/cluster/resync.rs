//! After the bus comes back: what a short outage may have taken from this node's users that no
//! room log holds. Room events are caught up from `room_events` (`ClusterHub::catch_up`), but
//! user-scoped ones travel only on the bus: a member's own view of a room (read state, open
//! flag), a logout, a deactivation or role change, and a membership in a room this node did not
//! follow yet. For every user online here the node reads those again from the database and
//! routes them locally; a client sees what it would have seen, late. (An outage longer than the
//! fence closes the node's sockets instead, and the clients reload on their next node.)

use std::sync::Arc;

use super::hub::ClusterHub;
use super::Interest;
use crate::events::Event;
use crate::realtime::Router;
use crate::{Result, Timestamp};

impl ClusterHub {
    /// Resynchronises every user online here; `since` is when the bus was lost (with some
    /// margin for clocks).
    pub(crate) async fn resync_users(&self, since: Timestamp) {
        let Some(router) = self.router() else {
            return;
        };
        let (_, users) = router.interest();
        for uid in users {
            if let Err(e) = self.resync_user(&router, &uid, since).await {
                tracing::warn!(uid, error = %e, "resynchronising a user after the bus failed");
            }
        }
    }

    async fn resync_user(&self, router: &Router, uid: &str, since: Timestamp) -> Result<()> {
        let cs = self.store.cluster();
        if let Some(cs) = cs {
            cs.forget_cached_user(uid);
        }
        // Logouts: the token each connection here logged in with must still be the user's.
        for token in router.tokens_of(uid) {
            if let Some(cs) = cs {
                cs.forget_cached_token(&token);
            }
            let holds =
                matches!(self.store.user_by_token(&token).await?, Some((u, _)) if u.id == uid);
            if !holds {
                self.local_publish(Event::SessionRevoked {
                    uid: uid.to_string(),
                    token_hash: Some(token),
                });
            }
        }
        // Deactivation, roles, profile: routed as a change (unchanged ones change nothing).
        match self.store.user_by_id(uid).await? {
            Some(user) => self.local_publish(Event::UserUpdated(user)),
            None => self.local_publish(Event::SessionRevoked {
                uid: uid.to_string(),
                token_hash: None,
            }),
        }
        // Memberships in rooms this node does not know the user in, and the member's own
        // changes since the outage began.
        let known = router.rooms_of(uid);
        for s in self.store.subscriptions_of_user(uid, None).await? {
            if !known.contains(&s.rid) {
                let Some(room) = self.store.room_by_id(&s.rid).await? else {
                    continue;
                };
                // Followed first: the room's later events are heard from here on.
                self.follow_room(&s.rid).await;
                self.local_publish(Event::MemberAdded {
                    subscription: s,
                    room: Arc::new(room),
                });
            } else if s.updated_at >= since {
                self.local_publish(Event::SubscriptionChanged(s));
            }
        }
        Ok(())
    }
}
