//! The store's contract, checked identically on SQLite and (with `HUDDLE_TEST_POSTGRES_URL`)
//! PostgreSQL: every `async fn` listed in `conformance!` runs once per backend on a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod app;
mod backends;
mod invites;
mod lists;
mod member_pages;
mod membership;
mod messages;
mod notifications;
mod read_positions;
mod room_event_races;
mod room_events;
mod rooms;
mod settings;
mod talk;
mod users;
mod writes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_core::ids::new_id;
use huddle_core::store::{ConversationQuery, NewMember, Store};
use huddle_core::{
    Access, AppKey, Error, LoginToken, MemberQuery, Message, MessageQuery, OutboxItem, Paging,
    Permission, Profile, Role, RoleScope, Room, RoomQuery, RoomType, Subscription, Timestamp,
    TokenKind, User, UserQuery, WebhookEndpoint,
};
use support::*;

#[allow(unused_imports)]
use app::*;

#[allow(unused_imports)]
use invites::*;
#[allow(unused_imports)]
use lists::*;
#[allow(unused_imports)]
use member_pages::*;
#[allow(unused_imports)]
use membership::*;
#[allow(unused_imports)]
use messages::*;
#[allow(unused_imports)]
use notifications::*;
use read_positions::*;
#[allow(unused_imports)]
use room_event_races::*;
#[allow(unused_imports)]
use room_events::*;
#[allow(unused_imports)]
use rooms::*;
#[allow(unused_imports)]
use settings::*;
#[allow(unused_imports)]
use talk::*;
#[allow(unused_imports)]
use users::*;
#[allow(unused_imports)]
use writes::*;

conformance!(
    users_crud_and_case_insensitive_lookups,
    user_conflicts,
    list_users_filters_and_roles,
    tokens,
    avatars_round_trip,
    rooms_round_trip_update_delete,
    room_name_conflicts,
    add_members_is_idempotent_and_keeps_counters,
    concurrent_add_of_same_user_adds_once,
    concurrent_membership_churn_keeps_counts_exact,
    bulk_add_2000_members,
    remove_member_counters,
    removals_are_recorded_for_since_queries,
    list_members_paging_filter_total,
    list_rooms_filters,
    messages_post_list_edit_delete,
    threads_pins_stars_filters_and_deletions,
    subscriptions_read_state_and_roles,
    settings_permissions_roles,
    delete_user_keeps_users_count_exact,
    rename_follows_into_memberships,
    user_profile_round_trips,
    idempotency_keys_are_unique_per_room,
    subscription_revoked_at_round_trips,
    conversations_order_cursor_member_unread_bounds,
    list_users_after_orders_by_id_bytewise,
    upsert_users_is_all_or_nothing,
    list_messages_after_cursor,
    app_keys_insert_revoke_list,
    webhook_endpoints_and_outbox,
    claimed_outbox_rows_go_to_one_sender,
    cluster_presence_rows_and_reaping,
    reactions_toggle_and_concurrent_reactions_are_all_kept,
    concurrent_writes_fail_alone_and_answer_after_commit,
    membership_writes_return_the_room_counters,
    ten_thousand_users_in_one_call_keep_order_and_skip_unknown,
    bulk_add_10000_odd_members_in_one_call,
    cached_reads_follow_writes,
    deep_member_pages_match_a_plain_scan,
    room_events_number_every_change_kind,
    no_op_changes_write_no_event,
    room_event_outbox_rows_follow_wanted_types,
    failed_changes_leave_no_event_and_no_outbox_row,
    concurrent_writers_number_without_gaps,
    a_deleted_room_keeps_its_events,
    readers_are_members_read_at_or_after_the_message,
    a_post_carries_its_notifications,
    roles_crud_and_removed_roles,
    invites_reuse_expiry_and_counted_uses,
    bans_remove_the_member_and_keep_them_out,
    owed_emails_are_batched_per_recipient_and_room,
    unread_is_read_from_room_counters_and_read_positions,
);

pub fn all() -> Paging {
    Paging {
        offset: 0,
        count: None,
    }
}

pub fn page(offset: i64, count: i64) -> Paging {
    Paging {
        offset,
        count: Some(count),
    }
}

pub fn conflict_code(result: huddle_core::Result<()>) -> (String, String) {
    match result {
        Err(Error::Conflict(f)) => (f.code.to_string(), f.reason.to_string()),
        other => panic!("expected a conflict, got {other:?}"),
    }
}
