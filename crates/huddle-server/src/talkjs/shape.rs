//! Resources as the TalkJS-style API returns them: users, conversations with their
//! participants, messages. Times are unix milliseconds.

use huddle_core::services::talk::ConversationView;
use huddle_core::{Access, Member, Message, Room, Subscription, User};
use serde_json::{json, Map, Value};

/// A user. `private` adds what only the backend may see (emails, phones).
pub fn user(u: &User, private: bool) -> Value {
    let mut v = json!({
        "id": u.id,
        "name": u.name,
        "welcomeMessage": u.profile.welcome_message,
        "photoUrl": u.photo_url,
        "headerPhotoUrl": null,
        "role": u.profile.role.as_deref().unwrap_or("default"),
        "custom": u.custom,
        "availabilityText": u.profile.availability_text,
        "locale": u.locale,
        "createdAt": u.created_at.millis(),
    });
    if private {
        let list = |l: &Vec<String>| if l.is_empty() { Value::Null } else { json!(l) };
        v["email"] = list(&u.profile.emails);
        v["phone"] = list(&u.profile.phones);
        v["pushTokens"] = json!({});
    }
    v
}

/// `notify` as stored (`"true"`, `"false"`, `"MentionsOnly"`) back to its JSON form.
pub fn notify(n: &str) -> Value {
    match n {
        "true" => json!(true),
        "false" => json!(false),
        other => json!(other),
    }
}

pub fn participant(s: &Subscription) -> Value {
    json!({
        "access": s.access.as_str(),
        "notify": notify(&s.notify),
        "isUnread": s.unread > 0 || s.alert,
        "joinedAt": s.ts.millis(),
    })
}

/// A conversation; `members` fills the participants map (those with access `None` are left out).
pub fn conversation(r: &Room, members: &[Member], last: Option<&Message>) -> Value {
    let participants: Map<String, Value> = members
        .iter()
        .filter(|m| m.subscription.access != Access::None)
        .map(|m| (m.user.id.clone(), participant(&m.subscription)))
        .collect();
    json!({
        "id": r.id,
        "subject": r.subject,
        "photoUrl": r.photo_url,
        "welcomeMessages": if r.welcome_messages.is_empty() { Value::Null } else { json!(r.welcome_messages) },
        "custom": r.custom,
        "lastMessage": last.map(message),
        "createdAt": r.created_at.millis(),
        "topicId": null,
        "guestAccess": r.guest_access,
        "participants": participants,
    })
}

/// A conversation as one user sees it in their list: with their own participation.
/// Nothing past the reader's cut-off shows: `lastMessage` and `isUnread` come from the view.
pub fn own_conversation(view: &ConversationView) -> Value {
    let mut v = conversation(&view.room, &[], view.last_message.as_ref());
    if let Some(s) = &view.membership {
        let p = participant(s);
        v["access"] = p["access"].clone();
        v["notify"] = p["notify"].clone();
        v["isUnread"] = json!(view.is_unread());
        v["joinedAt"] = p["joinedAt"].clone();
    }
    if let Value::Object(o) = &mut v {
        o.remove("participants");
    }
    v
}

/// The text of a system message as an app shows it. The membership messages Huddle writes
/// (Rocket.Chat's `uj`, `ul`, `au`, `ru`, and access changes) store only the subject's username,
/// as Rocket.Chat does; an app's chat UI shows `text` as it is, so it gets a sentence. System
/// messages an app posts itself keep their own text.
fn system_text(m: &Message) -> String {
    // Messages written before the subject was always recorded may hold an empty text.
    let who = if m.msg.is_empty() { &m.u.id } else { &m.msg };
    let by = &m.u.username;
    match m.t.as_deref() {
        Some("uj") => format!("{who} joined"),
        Some("ul") => format!("{who} left"),
        Some("au") if !by.is_empty() => format!("{who} was added by {by}"),
        Some("au") => format!("{who} was added"),
        Some("ru") if !by.is_empty() => format!("{who} was removed by {by}"),
        Some("ru") => format!("{who} was removed"),
        Some("participant-access-changed") => {
            match m.extra.get("access").and_then(|a| a.as_str()) {
                Some(access) => format!("{who}'s access changed to {access}"),
                None => format!("{who}'s access changed"),
            }
        }
        _ => m.msg.clone(),
    }
}

/// A message with its `readBy`: the members who have read it (`Huddle::read_by`).
pub fn message_read_by(m: &Message, read_by: &[String]) -> Value {
    let mut v = message(m);
    v["readBy"] = json!(read_by);
    v
}

/// Messages with their `readBy`, in order.
pub fn messages_read_by(messages: &[Message], read_by: &[Vec<String>]) -> Vec<Value> {
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| message_read_by(m, read_by.get(i).map_or(&[][..], |r| r)))
        .collect()
}

/// A message as just posted or changed: nobody has read it yet, so `readBy` is empty.
pub fn message(m: &Message) -> Value {
    let system = m.t.is_some();
    json!({
        "id": m.id,
        "conversationId": m.rid,
        "type": if system { "SystemMessage" } else { "UserMessage" },
        "senderId": if system || m.u.id.is_empty() { Value::Null } else { json!(m.u.id) },
        "text": if system { system_text(m) } else { m.msg.clone() },
        "custom": m.extra.get("custom").cloned().unwrap_or_else(|| json!({})),
        "attachment": null,
        "location": null,
        "origin": "rest",
        "readBy": [],
        "referencedMessageId": null,
        "createdAt": m.ts.millis(),
        "editedAt": m.edited_at.map(|t| t.millis()),
    })
}
