//! The router's tables without sockets or a store: races between loads and events, revocation
//! order, slow consumers, shared deliveries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use super::delivery::{Delivery, Notice, Sink, Via};
use super::state::{Meta, Policy, State};
use super::{RoomStream, Topic, Verdict};
use crate::events::Event;
use crate::model::{Message, Room, RoomType, User};
use crate::permissions::{default_permissions, PermissionTable};
use crate::services::membership::new_subscription;

/// A sink that takes `room` deliveries, then refuses.
struct TestSink {
    got: Mutex<Vec<Arc<Delivery>>>,
    room: usize,
}

impl TestSink {
    fn new(room: usize) -> Arc<Self> {
        Arc::new(TestSink {
            got: Mutex::new(vec![]),
            room,
        })
    }
    fn notices(&self) -> Vec<Notice> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.notice().clone())
            .collect()
    }
}

impl Sink for TestSink {
    fn offer(&self, d: Arc<Delivery>) -> bool {
        let mut got = self.got.lock().unwrap();
        if got.len() >= self.room {
            return false;
        }
        got.push(d);
        true
    }
    fn close(&self, _code: u16, _reason: &'static str) {
        self.got.lock().unwrap().clear();
    }
}

fn table() -> PermissionTable {
    PermissionTable::new(&default_permissions())
}

fn user(name: &str) -> User {
    User::new(
        format!("id-{name}"),
        Some(name.to_string()),
        name.to_string(),
    )
}

fn room(id: &str, t: RoomType) -> Room {
    Room::new(id.to_string(), t, Some(id.to_string()), None)
}

fn posted(r: &Room, author: &User, text: &str) -> Event {
    Event::MessageCreated {
        message: Message::new(&r.id, author.to_ref(), text.to_string(), None),
        room: r.brief(),
    }
}

/// A logged-in connection of `u` (memberships loaded as `rooms`).
fn online(st: &mut State, sink: Arc<TestSink>, u: &User, rooms: &[&Room]) -> u64 {
    let conn = st.open("s", sink);
    if st.attach_user(conn, u, None) {
        st.user_loaded(
            &u.id,
            rooms.iter().map(|r| new_subscription(r, u)).collect(),
        );
    }
    conn
}

/// Subscribes to a room stream, learning the room as a load would.
fn sub_room(st: &mut State, p: &Policy, conn: u64, id: &str, r: &Room) -> Verdict {
    if !st.hold_room(&r.id) {
        st.learn_room(&r.id, Some(r.brief()));
    }
    let topic = Topic::Room {
        rid: r.id.clone(),
        stream: RoomStream::Messages,
    };
    st.register(conn, id, topic, p)
}

#[test]
fn kicked_reader_ends_before_the_next_message() {
    let t = table();
    let p = Policy {
        table: &t,
        anonymous_read: false,
    };
    let mut st = State::default();
    let (owner, bob) = (user("owner"), user("bob"));
    let g = room("g", RoomType::Group);
    let sink = TestSink::new(100);
    let conn = online(&mut st, sink.clone(), &bob, &[&g]);
    assert_eq!(sub_room(&mut st, &p, conn, "1", &g), Verdict::Live);
    st.dispatch(
        &Event::MemberRemoved {
            rid: g.id.clone(),
            uid: bob.id.clone(),
        },
        &p,
    );
    st.dispatch(&posted(&g, &owner, "after"), &p);
    let notices = sink.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(matches!(&notices[0], Notice::Ended { sub_id, .. } if sub_id == "1"));
    // The room entry is gone with its last subscriber.
    assert!(!st.rooms.contains_key("g"));
}

#[test]
fn changes_during_a_membership_load_are_replayed() {
    let t = table();
    let p = Policy {
        table: &t,
        anonymous_read: false,
    };
    let mut st = State::default();
    let bob = user("bob");
    let (a, b) = (room("a", RoomType::Group), room("b", RoomType::Group));
    let conn = st.open("s", TestSink::new(100));
    assert!(st.attach_user(conn, &bob, None), "first login must load");
    // While the load runs: added to `b`, removed from `a`.
    st.dispatch(
        &Event::MemberAdded {
            subscription: new_subscription(&b, &bob),
            room: Arc::new(b.clone()),
        },
        &p,
    );
    st.dispatch(
        &Event::MemberRemoved {
            rid: a.id.clone(),
            uid: bob.id.clone(),
        },
        &p,
    );
    // The snapshot was read before both changes.
    st.user_loaded(&bob.id, vec![new_subscription(&a, &bob)]);
    let rooms = &st.users[&bob.id].rooms;
    assert!(rooms.contains_key("b") && !rooms.contains_key("a"));
    assert!(st.members_online["b"].contains(&bob.id));
}

#[test]
fn an_event_during_a_room_load_wins_over_the_load() {
    let mut st = State::default();
    assert!(!st.hold_room("r"));
    let mut now_private = room("r", RoomType::Group);
    now_private.name = Some("renamed".into());
    let t = table();
    let p = Policy {
        table: &t,
        anonymous_read: false,
    };
    st.dispatch(&Event::RoomChanged(now_private), &p);
    // The load read the room before the change.
    st.learn_room("r", Some(room("r", RoomType::Channel).brief()));
    match &st.rooms["r"].meta {
        Meta::Known(b) => assert_eq!(b.t, RoomType::Group),
        other => panic!("{other:?}"),
    }
}

#[test]
fn slow_consumer_is_dropped_and_others_served_from_one_delivery() {
    let t = table();
    let p = Policy {
        table: &t,
        anonymous_read: false,
    };
    let mut st = State::default();
    let alice = user("alice");
    let c = room("c", RoomType::Channel);
    let slow = TestSink::new(1);
    let (fast1, fast2) = (TestSink::new(100), TestSink::new(100));
    let mut conns = vec![];
    for s in [slow.clone(), fast1.clone(), fast2.clone()] {
        let conn = online(&mut st, s, &alice, &[&c]);
        assert_eq!(sub_room(&mut st, &p, conn, "1", &c), Verdict::Live);
        conns.push(conn);
    }
    st.dispatch(&posted(&c, &alice, "one"), &p);
    st.dispatch(&posted(&c, &alice, "two"), &p);
    assert!(!st.conns.contains_key(&conns[0]), "slow connection dropped");
    assert_eq!(fast1.notices().len(), 2);
    assert_eq!(fast2.notices().len(), 2);
    let (a, b) = (
        fast1.got.lock().unwrap()[0].clone(),
        fast2.got.lock().unwrap()[0].clone(),
    );
    assert!(Arc::ptr_eq(&a, &b), "one delivery shared by all recipients");
    assert!(matches!(a.notice(), Notice::Message { via: Via::Room, .. }));
}

#[test]
fn deliveries_encode_once_per_protocol() {
    let d = Delivery::new(Notice::LoggedOut);
    let mut calls = 0;
    for _ in 0..3 {
        let bytes: Arc<str> = d.frame(super::Protocol::Ddp, |_| {
            calls += 1;
            Arc::from("frame")
        });
        assert_eq!(&*bytes, "frame");
    }
    assert_eq!(calls, 1);
}
