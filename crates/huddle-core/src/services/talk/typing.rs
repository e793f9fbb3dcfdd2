//! Typing indicators from browser sessions (the native socket's `typing` frame). Transient: they
//! travel as `UserActivity` events (so DDP clients of the room see them too) and are never
//! stored. Only participants who may write are shown typing; a guest's typing is accepted and
//! dropped, because others never see a guest type (TalkJS's guest rule).

use crate::events::Event;
use crate::services::{ClientActor, Huddle};
use crate::{Error, Failure, Result};

impl Huddle {
    /// `origin` is the realtime session the notice came from (it does not get it back).
    pub async fn client_typing(
        &self,
        actor: &ClientActor,
        rid: &str,
        as_guest: bool,
        typing: bool,
        origin: Option<String>,
    ) -> Result<()> {
        let room = self.talk_conversation(rid).await?;
        let (viewer, _) = self.viewer(&room, actor, as_guest).await?;
        if viewer.is_guest() {
            return Ok(());
        }
        if !viewer.can_write() {
            return Err(Error::Forbidden(Failure::new(
                "NO_WRITE_ACCESS",
                "You have read-only access to this conversation",
            )));
        }
        let user = self.talk_user(actor.user_id()).await?;
        self.publish(Event::UserActivity {
            rid: rid.to_string(),
            uid: user.id.clone(),
            username: user.username_or_id().to_string(),
            activities: if typing {
                vec!["user-typing".to_string()]
            } else {
                Vec::new()
            },
            origin,
        });
        Ok(())
    }
}
