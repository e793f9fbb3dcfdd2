//! The router's public face: what protocols call (open, login, subscribe, ...) and the event
//! sink the hub calls. Store loads (a user's memberships at login, a room's type at subscribe)
//! run outside the lock; the state marks what is being loaded so that events arriving meanwhile
//! are kept, and a load never overwrites a newer event.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};

use super::delivery::{Delivery, EndReason, Notice, Sink};
use super::state::{Policy, State};
use super::{ConnId, Topic, UserStream, Verdict};
use crate::cluster::Interest;
use crate::events::{Event, EventSink};
use crate::model::User;
use crate::permissions::PermissionTable;
use crate::store::Store;
use crate::Result;

/// Routes committed events to the connections allowed to see them. One per node.
pub struct Router {
    state: Mutex<State>,
    pub(super) store: Arc<dyn Store>,
    permissions: Arc<RwLock<PermissionTable>>,
    settings: Arc<RwLock<HashMap<String, serde_json::Value>>>,
    /// In a cluster: told which rooms and users connections here need, before they go live.
    /// Weak: the cluster hub holds this router as its event sink, and a strong pointer back
    /// would keep both (and the store's pool with its open connections) alive for ever.
    interest: OnceLock<Weak<dyn Interest>>,
}

/// What a subscription's last check under the lock decides.
pub(super) enum Gate {
    Admit,
    Refuse,
    /// Something moved while the caller loaded: load again.
    Retry,
}

/// Releases a room hold if a subscription did not take it over (an error, a dropped future).
struct RoomHold<'a> {
    router: &'a Router,
    rid: String,
    armed: bool,
}

impl Drop for RoomHold<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.router.state().release_room(&self.rid);
        }
    }
}

impl Router {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        permissions: Arc<RwLock<PermissionTable>>,
        settings: Arc<RwLock<HashMap<String, serde_json::Value>>>,
    ) -> Self {
        Router {
            state: Mutex::new(State::default()),
            store,
            permissions,
            settings,
            interest: OnceLock::new(),
        }
    }

    /// Cluster mode: `interest` follows the rooms and users this node's connections need.
    pub fn set_interest(&self, interest: &Arc<dyn Interest>) {
        let _ = self.interest.set(Arc::downgrade(interest));
    }

    /// The rooms and users connections here need now: rooms with subscriptions (live, dormant
    /// or loading) or online members, and online users.
    pub fn interest(&self) -> (HashSet<String>, HashSet<String>) {
        let st = self.state();
        let mut rooms: HashSet<String> = st.rooms.keys().cloned().collect();
        rooms.extend(st.members_online.keys().cloned());
        (rooms, st.users.keys().cloned().collect())
    }

    /// Whether a connection here needs room `rid`'s events.
    pub fn wants_room(&self, rid: &str) -> bool {
        let st = self.state();
        st.rooms.contains_key(rid) || st.members_online.contains_key(rid)
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while routing must not stop realtime for everyone: the tables stay usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the access policy of this moment.
    fn with_policy<R>(&self, f: impl FnOnce(&Policy) -> R) -> R {
        let anonymous_read = self
            .settings
            .read()
            .ok()
            .and_then(|s| {
                s.get("Accounts_AllowAnonymousRead")
                    .and_then(|v| v.as_bool())
            })
            .unwrap_or(false);
        let table = self.permissions.read().unwrap_or_else(|p| p.into_inner());
        f(&Policy {
            table: &table,
            anonymous_read,
        })
    }

    /// Registers a connection. `session` is the protocol's session id.
    pub fn open(&self, session: &str, sink: Arc<dyn Sink>) -> ConnId {
        self.state().open(session, sink)
    }

    /// Forgets a connection and its subscriptions. Idempotent. Returns the user whose last
    /// connection on this node this was (presence goes offline).
    pub fn close(&self, conn: ConnId) -> Option<String> {
        self.state().close(conn)
    }

    /// The token hashes `uid`'s connections here logged in with.
    pub fn tokens_of(&self, uid: &str) -> Vec<String> {
        let st = self.state();
        let Some(u) = st.users.get(uid) else {
            return vec![];
        };
        let mut out: Vec<String> = u
            .conns
            .iter()
            .filter_map(|c| st.conns.get(c)?.token.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The rooms this router knows `uid` to be a member of (their memberships are loaded).
    pub fn rooms_of(&self, uid: &str) -> HashSet<String> {
        self.state()
            .users
            .get(uid)
            .map(|u| u.rooms.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every `(room, user)` with a live view here (as `live_viewers`), for the cluster's
    /// shared list of who looks at what.
    pub fn all_live_viewers(&self) -> HashSet<(String, String)> {
        self.state().all_live_viewers()
    }

    /// Users with a live view of room `rid` on this node (who need no notification of a new
    /// message there).
    pub fn live_viewers(&self, rid: &str) -> std::collections::HashSet<String> {
        self.state().live_viewers(rid)
    }

    /// Ends every connection (cluster mode: this node lost the others), telling each owner to
    /// close its socket with `code`; returns how many there were.
    pub fn close_all(&self, code: u16, reason: &'static str) -> usize {
        let mut st = self.state();
        let conns: Vec<ConnId> = st.conns.keys().copied().collect();
        let sinks: Vec<_> = conns
            .iter()
            .filter_map(|c| st.conns.get(c).map(|c| c.sink.clone()))
            .collect();
        for c in &conns {
            st.close(*c);
        }
        drop(st);
        for s in &sinks {
            s.close(code, reason);
        }
        conns.len()
    }

    /// Number of open connections.
    pub fn connections(&self) -> usize {
        self.state().conns.len()
    }

    /// The connection is now `user`'s, logged in with the token whose hash is `token`: loads the
    /// user's memberships when no other connection of theirs has, then decides every
    /// subscription again (those made before the login go live or end with a notice).
    pub async fn login(&self, conn: ConnId, user: &User, token: Option<&str>) -> Result<()> {
        let needs_load = self.state().attach_user(conn, user, token);
        if needs_load {
            let subs = match self.store.subscriptions_of_user(&user.id, None).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = self.state().detach_user(conn);
                    return Err(e);
                }
            };
            if let Some(i) = self.interest.get().and_then(Weak::upgrade) {
                // Before the memberships go live, so nothing published after is missed.
                i.follow_user(&user.id, subs.iter().map(|s| s.rid.clone()).collect())
                    .await;
            }
            self.state().user_loaded(&user.id, subs);
        }
        self.recheck_all(conn, false);
        Ok(())
    }

    /// The connection is anonymous again; subscriptions needing a login go quiet. Returns the
    /// user whose last connection this was.
    pub fn logout(&self, conn: ConnId) -> Option<String> {
        let last = self.state().detach_user(conn);
        self.recheck_all(conn, false);
        last
    }

    fn recheck_all(&self, conn: ConnId, deny_dormant: bool) {
        let overflow = self.with_policy(|p| {
            self.state().reevaluate(
                conn,
                p,
                deny_dormant,
                EndReason::NotAllowed,
                &|_: &Topic| true,
            )
        });
        if let Some(c) = overflow {
            self.state().close(c);
        }
    }

    /// Starts subscription `sub_id` of `conn` on `topic`. A room's facts are loaded first when
    /// the router does not know them yet.
    pub async fn subscribe(&self, conn: ConnId, sub_id: &str, topic: Topic) -> Result<Verdict> {
        self.subscribe_then(conn, sub_id, topic, |_| ()).await
    }

    /// `subscribe`, running `then` with the verdict before any event can reach the new
    /// subscription: a protocol queues its "ready" frames there, so they precede the first
    /// event.
    pub async fn subscribe_then(
        &self,
        conn: ConnId,
        sub_id: &str,
        topic: Topic,
        then: impl FnOnce(Verdict),
    ) -> Result<Verdict> {
        let v = self
            .subscribe_gated(
                conn,
                sub_id,
                topic,
                || async { Ok(()) },
                |_: &State, _: &()| Gate::Admit,
                |_: &mut State, v, _| then(v),
            )
            .await?;
        Ok(v.unwrap_or(Verdict::Denied))
    }

    /// `subscribe_then` with a load once the room is held (`load`, outside the lock: a replay),
    /// a last check under the lock (`gate`) and the state visible to `then`. `None` when the
    /// gate asked for another try (nothing was registered).
    pub(super) async fn subscribe_gated<L, F>(
        &self,
        conn: ConnId,
        sub_id: &str,
        topic: Topic,
        load: impl FnOnce() -> F,
        gate: impl FnOnce(&State, &L) -> Gate,
        then: impl FnOnce(&mut State, Verdict, L),
    ) -> Result<Option<Verdict>>
    where
        F: std::future::Future<Output = Result<L>>,
    {
        let mut hold = None;
        if let (Some(i), Some(rid)) = (self.interest.get().and_then(Weak::upgrade), topic.room_id())
        {
            i.follow_room(rid).await;
        }
        if let Some(rid) = topic.room_id() {
            let known = self.state().hold_room(rid);
            let h = RoomHold {
                router: self,
                rid: rid.to_string(),
                armed: true,
            };
            if !known {
                let room = self.store.room_by_id(rid).await?;
                self.state().learn_room(rid, room.map(|r| r.brief()));
            }
            hold = Some(h);
        }
        let loaded = load().await?;
        let verdict = self.with_policy(|p| {
            let mut st = self.state();
            let v = match gate(&st, &loaded) {
                Gate::Admit => st.register(conn, sub_id, topic, p),
                // The hold is released below (still armed).
                Gate::Retry => return None,
                Gate::Refuse => {
                    if let Some(rid) = topic.room_id() {
                        st.release_room(rid);
                    }
                    Verdict::Denied
                }
            };
            then(&mut st, v, loaded);
            Some(v)
        });
        if let (Some(h), Some(_)) = (hold.as_mut(), verdict) {
            // `register` took the hold over, whatever it decided.
            h.armed = false;
        }
        Ok(verdict)
    }

    /// Adjusts the users `conn` watches on `Topic::Presence` (Rocket.Chat's
    /// `stream-user-presence` subscriptions each add and remove uids). Returns whether the
    /// connection already had a presence subscription (later ones only adjust the list).
    pub fn watch_presence(&self, conn: ConnId, added: &[String], removed: &[String]) -> bool {
        let mut st = self.state();
        let Some(c) = st.conns.get_mut(&conn) else {
            return false;
        };
        // Bounded like the subscriptions themselves: memory per socket stays small.
        for uid in added {
            if c.presence.len() >= super::state::MAX_SUBSCRIPTIONS * 10 {
                break;
            }
            c.presence.insert(uid.clone());
        }
        for uid in removed {
            c.presence.remove(uid);
        }
        c.subs.values().any(|s| matches!(s.topic, Topic::Presence))
    }

    /// Stops a subscription. Returns whether it existed.
    pub fn unsubscribe(&self, conn: ConnId, sub_id: &str) -> bool {
        self.state().remove_sub(conn, sub_id)
    }

    /// Sends a notice to every connection of `uid` listening to `stream` (ephemeral messages:
    /// not a change of state, so not an event).
    pub fn send_to_user(&self, uid: &str, stream: UserStream, notice: Notice) {
        let st = self.state();
        let Some(user) = st.users.get(uid) else {
            return;
        };
        let d = Delivery::new(notice);
        let mut overflow = vec![];
        for conn in &user.conns {
            let Some(c) = st.conns.get(conn) else {
                continue;
            };
            let listens = c.subs.values().any(|s| {
                s.live && matches!(&s.topic, Topic::User { stream: st, .. } if *st == stream)
            });
            if listens && !c.sink.offer(d.clone()) {
                overflow.push(*conn);
            }
        }
        drop(st);
        for conn in overflow {
            self.state().close(conn);
        }
    }
}

impl EventSink for Router {
    fn deliver(&self, event: &Arc<Event>) {
        self.with_policy(|p| self.state().dispatch(event, p));
    }
}
