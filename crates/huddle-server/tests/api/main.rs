//! One integration binary for the HTTP API: every test runs against a real server on
//! `127.0.0.1:0` (see `helpers.rs`).

// Tests may panic on what cannot happen; the rule against unwrap/expect is for the server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin;
mod auth;
mod bad_input;
mod chat;
mod concurrency;
mod ddp;
mod im;
mod invite;
mod matrix;
mod membership;
mod rooms;
mod users;
