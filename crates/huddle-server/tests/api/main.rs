//! One integration binary for the HTTP API: every test runs against a real server on
//! `127.0.0.1:0` (see `helpers.rs`).

// A test that cannot go on should stop loudly; unwrap/expect are its assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin;
mod auth;
mod avatars;
mod bad_input;
mod chat;
mod concurrency;
mod dashboard;
mod ddp;
mod faults;
mod im;
mod invite;
mod limits;
mod matrix;
mod membership;
mod metrics;
mod native;
mod native_transport;
mod native_typing;
mod one_policy;
mod one_write_path;
mod openapi;
mod refresh;
mod room_settings;
mod rooms;
mod sdk_assets;
mod security;
mod serving;
mod snapshots;
mod talk_backend;
mod talk_client;
mod talk_guests;
mod talk_webhooks;
mod threads;
mod users;
