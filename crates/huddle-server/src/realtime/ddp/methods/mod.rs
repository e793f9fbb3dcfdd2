//! The DDP method table. Each method reads its parameters, calls the same `Huddle` service the
//! REST handler calls, and shapes the result with EJSON dates. `Ok(None)` is a method that
//! returns nothing (no `result` key).

mod account;
mod extras;
mod messages;
mod rooms;

use serde_json::{Map, Value};

use super::errors::MeteorError;
use super::session::Session;

pub type Outcome = Result<Option<Value>, MeteorError>;

pub async fn call(s: &mut Session, method: &str, params: Vec<Value>) -> Outcome {
    let p = params.as_slice();
    match method {
        "login" => account::login(s, p).await,
        "logout" => account::logout(s).await,
        "UserPresence:setDefaultStatus" | "UserPresence:online" | "UserPresence:away" => {
            account::presence(s, method, p).await
        }
        "sendMessage" => messages::send(s, p).await,
        "updateMessage" => messages::update(s, p).await,
        "setReaction" => messages::react(s, p).await,
        "pinMessage" => messages::pin(s, p, true).await,
        "unpinMessage" => messages::pin(s, p, false).await,
        "starMessage" => extras::star(s, p).await,
        "followMessage" => extras::follow(s, p, true).await,
        "unfollowMessage" => extras::follow(s, p, false).await,
        "readThreads" => extras::read_threads(s, p).await,
        "getThreadMessages" => extras::thread_messages(s, p).await,
        "ignoreUser" => extras::ignore_user(s, p).await,
        "createDiscussion" => extras::create_discussion(s, p).await,
        "findOrCreateInvite" => extras::find_or_create_invite(s, p).await,
        "listInvites" => extras::list_invites(s).await,
        "removeInvite" => extras::remove_invite(s, p).await,
        "useInviteToken" => extras::use_invite_token(s, p).await,
        "validateInviteToken" => extras::validate_invite_token(s, p).await,
        "sendInvitationEmail" => extras::send_invitation_email(s, p).await,
        "loadHistory" => messages::load_history(s, p).await,
        "readMessages" => messages::read(s, p).await,
        "stream-notify-room" => messages::notify_room(s, p).await,
        "getRoomIdByNameOrId" => rooms::id_by_name_or_id(s, p).await,
        "getRoomNameById" => rooms::name_by_id(s, p).await,
        "createDirectMessage" => rooms::create_dm(s, p).await,
        "joinRoom" => rooms::join(s, p).await,
        "leaveRoom" => rooms::leave(s, p).await,
        "addUsersToRoom" => rooms::add_users(s, p).await,
        "removeUserFromRoom" => rooms::remove_user(s, p).await,
        "getRoomRoles" => rooms::roles(s, p).await,
        "subscriptions/get" => rooms::subscriptions(s, p).await,
        "rooms/get" => rooms::rooms(s, p).await,
        _ => Err(MeteorError::new(
            404,
            format!("Method '{method}' not found"),
        )),
    }
}

/// Parameter `i` as a string, or Meteor's `Match failed`.
fn string(p: &[Value], i: usize) -> Result<&str, MeteorError> {
    p.get(i)
        .and_then(Value::as_str)
        .ok_or_else(MeteorError::match_failed)
}

/// Parameter `i` as an object, or `Match failed`.
fn object(p: &[Value], i: usize) -> Result<&Map<String, Value>, MeteorError> {
    p.get(i)
        .and_then(Value::as_object)
        .ok_or_else(MeteorError::match_failed)
}

/// A core error as this method's error.
fn fail(method: &'static str) -> impl Fn(huddle_core::Error) -> MeteorError {
    move |e| MeteorError::from_core(e, method)
}
