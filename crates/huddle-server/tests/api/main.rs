//! One integration binary for the HTTP API: every test runs against a real server on
//! `127.0.0.1:0` (see `helpers.rs`).

// A test that cannot go on should stop loudly; unwrap/expect are its assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod abuse;
mod admin;
mod auth;
mod avatars;
mod bad_input;
mod bans;
mod chat;
mod cluster;
mod concurrency;
mod dashboard;
mod ddp;
mod discussions;
mod faults;
mod flood;
mod im;
mod invite;
mod invite_links;
mod last_message;
mod limits;
mod matrix;
mod membership;
mod metrics;
mod model;
mod native;
mod native_transport;
mod native_typing;
mod one_policy;
mod one_write_path;
mod openapi;
mod rc_parity;
mod refresh;
mod room_settings;
mod rooms;
mod sdk_assets;
mod security;
mod serving;
mod smtp;
mod snapshots;
mod ssrf;
mod talk_backend;
mod talk_client;
mod talk_email;
mod talk_guests;
mod talk_notify;
mod talk_receipts;
mod talk_webhooks;
mod threads;
mod unread;
mod users;
