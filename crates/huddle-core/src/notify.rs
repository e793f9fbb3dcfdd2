//! Who is notified of a new message (TalkJS's `notify`): a pure decision over the members of the
//! conversation, the message and who is looking at the conversation right now. The write path
//! asks it inside the post's transaction (the store hands it the members it read there), and
//! what it answers becomes `RoomEventItem::NotificationTriggered` items and e-mail rows
//! committed with the message, so a crash cannot keep the message and lose its notifications.

use std::collections::HashSet;

use crate::{Access, Message};

/// A participant's `notify` setting, as stored (`"true"`, `"false"`, `"MentionsOnly"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifySetting {
    All,
    MentionsOnly,
    Never,
}

impl NotifySetting {
    /// An unknown stored value notifies nobody: silence is the safe side of a corrupt row.
    pub fn parse(stored: &str) -> Self {
        match stored {
            "true" => NotifySetting::All,
            "MentionsOnly" => NotifySetting::MentionsOnly,
            _ => NotifySetting::Never,
        }
    }
}

/// One member of the conversation, as the decision needs them.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub uid: &'a str,
    pub username: Option<&'a str>,
    pub notify: NotifySetting,
    pub access: Access,
    /// A deactivated account is told nothing.
    pub active: bool,
    /// The member ignores the sender (`chat.ignoreUser`): Rocket.Chat notifies nobody of the
    /// messages of someone they ignore.
    pub ignores_sender: bool,
}

/// What the write path knows at post time besides the store's rows: who has a live view of the
/// conversation (a DDP room stream or a native-socket conversation subscription, per the
/// realtime router), and whether e-mails are sent (the batching window, in milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyFacts {
    pub live: HashSet<String>,
    pub email_window_ms: Option<i64>,
}

/// The mentions of a text: `@name` words (compared with usernames case-insensitively, and with
/// user ids exactly, since TalkJS-style users often have no username) and `<@userId>` markup,
/// which names a user id whatever characters it holds. `@all` and `@here` mention everyone.
#[derive(Debug, Default)]
pub struct Mentions {
    words: HashSet<String>,
    ids: HashSet<String>,
}

impl Mentions {
    pub fn of(text: &str) -> Self {
        let mut m = Mentions::default();
        for (i, _) in text.match_indices('@') {
            let rest = &text[i + 1..];
            if i > 0 && text[..i].ends_with('<') {
                if let Some(end) = rest.find('>') {
                    m.ids.insert(rest[..end].to_string());
                    continue;
                }
            }
            // An address (`a@b`) is no mention.
            if text[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric())
            {
                continue;
            }
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
                .unwrap_or(rest.len());
            let word = rest[..end].trim_end_matches('.');
            if !word.is_empty() {
                m.words.insert(word.to_string());
            }
        }
        m
    }

    fn everyone(&self) -> bool {
        self.words.contains("all") || self.words.contains("here")
    }

    pub fn names(&self, c: &Candidate) -> bool {
        self.everyone()
            || self.ids.contains(c.uid)
            || self.words.contains(c.uid)
            || c.username.is_some_and(|u| {
                !u.is_empty() && self.words.iter().any(|w| w.eq_ignore_ascii_case(u))
            })
    }
}

/// The members to notify of `message`, in the order given: never for a system message; never
/// the sender, a member without read access, a deactivated account, one whose `notify` is
/// `false`, nor one with a live view of the conversation; `MentionsOnly` only when mentioned.
/// Guests are not members, so they are never among the candidates.
pub fn recipients(
    message: &Message,
    candidates: &[Candidate],
    live: &HashSet<String>,
) -> Vec<String> {
    if message.is_system() {
        return vec![];
    }
    let mentions = Mentions::of(&message.msg);
    candidates
        .iter()
        .filter(|c| c.uid != message.u.id && c.active && c.access != Access::None)
        .filter(|c| !c.ignores_sender)
        .filter(|c| !live.contains(c.uid))
        .filter(|c| match c.notify {
            NotifySetting::All => true,
            NotifySetting::MentionsOnly => mentions.names(c),
            NotifySetting::Never => false,
        })
        .map(|c| c.uid.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserRef;

    fn msg(from: &str, text: &str, system: bool) -> Message {
        let u = UserRef {
            id: from.into(),
            username: from.into(),
            name: None,
        };
        Message::new("r", u, text.into(), system.then_some("uj"))
    }

    fn cand(uid: &str, notify: &str) -> Candidate<'static> {
        let uid: &'static str = Box::leak(uid.to_string().into_boxed_str());
        Candidate {
            uid,
            username: Some(uid),
            notify: NotifySetting::parse(notify),
            access: Access::ReadWrite,
            active: true,
            ignores_sender: false,
        }
    }

    /// (case, message, candidates, live viewers, expected recipients)
    type Case = (
        &'static str,
        Message,
        Vec<Candidate<'static>>,
        Vec<&'static str>,
        Vec<&'static str>,
    );

    #[test]
    fn who_is_notified() {
        let none = HashSet::new();
        let cases: Vec<Case> = vec![
            (
                "everyone but the sender",
                msg("ann", "hi", false),
                vec![
                    cand("ann", "true"),
                    cand("bob", "true"),
                    cand("cid", "true"),
                ],
                vec![],
                vec!["bob", "cid"],
            ),
            (
                "notify false never",
                msg("ann", "hi @bob", false),
                vec![cand("bob", "false")],
                vec![],
                vec![],
            ),
            (
                "MentionsOnly unmentioned",
                msg("ann", "hi all", false),
                vec![cand("bob", "MentionsOnly")],
                vec![],
                vec![],
            ),
            (
                "MentionsOnly by @username, any case",
                msg("ann", "hi @BOB!", false),
                vec![cand("bob", "MentionsOnly"), cand("cid", "MentionsOnly")],
                vec![],
                vec!["bob"],
            ),
            (
                "MentionsOnly by <@id> markup",
                msg("ann", "ping <@cid>", false),
                vec![cand("bob", "MentionsOnly"), cand("cid", "MentionsOnly")],
                vec![],
                vec!["cid"],
            ),
            (
                "MentionsOnly by @all",
                msg("ann", "@all lunch", false),
                vec![cand("bob", "MentionsOnly")],
                vec![],
                vec!["bob"],
            ),
            (
                "an e-mail address is no mention",
                msg("ann", "mail bob@bob.example", false),
                vec![cand("bob", "MentionsOnly")],
                vec![],
                vec![],
            ),
            (
                "live viewers are not notified",
                msg("ann", "hi", false),
                vec![cand("bob", "true"), cand("cid", "true")],
                vec!["bob"],
                vec!["cid"],
            ),
            (
                "system messages never notify",
                msg("ann", "bob", true),
                vec![cand("bob", "true")],
                vec![],
                vec![],
            ),
            (
                "unknown setting is silence",
                msg("ann", "@bob", false),
                vec![cand("bob", "sometimes")],
                vec![],
                vec![],
            ),
        ];
        for (name, m, cands, live, want) in cases {
            let live: HashSet<String> = live.into_iter().map(String::from).collect();
            assert_eq!(recipients(&m, &cands, &live), want, "{name}");
        }
        // Access None and deactivated accounts.
        let mut gone = cand("bob", "true");
        gone.access = Access::None;
        let mut inactive = cand("cid", "true");
        inactive.active = false;
        let mut ignoring = cand("eve", "true");
        ignoring.ignores_sender = true;
        let read_only = Candidate {
            access: Access::Read,
            ..cand("dan", "true")
        };
        assert_eq!(
            recipients(
                &msg("ann", "hi", false),
                &[gone, inactive, ignoring, read_only],
                &none
            ),
            vec!["dan"]
        );
    }
}
