//! Invite links and room bans (Rocket.Chat's `IInvite` and banned subscriptions).

use crate::Timestamp;

/// An invite link to a room. `token` is what the link carries and what `useInviteToken`
/// takes; `id` names the invite in lists and `removeInvite` and never lets anyone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: String,
    pub token: String,
    pub rid: String,
    /// Who made it.
    pub user_id: String,
    /// Days it is valid for (0: never expires).
    pub days: i64,
    /// Uses it allows (0: unlimited).
    pub max_uses: i64,
    pub uses: i64,
    pub created_at: Timestamp,
    pub expires: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl Invite {
    /// Past its expiry at `now`, or used up: Rocket.Chat's `error-invite-expired` either way.
    pub fn spent(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now) || (self.max_uses > 0 && self.uses >= self.max_uses)
    }
}

/// A user banned from a room: no longer a member, and refused every way back in (join, invite,
/// invite link, a browser adding them) until unbanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBan {
    pub rid: String,
    pub uid: String,
    pub username: String,
    pub name: Option<String>,
    /// Who banned them.
    pub by: String,
    pub ts: Timestamp,
}
