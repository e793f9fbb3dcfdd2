//! The browser SDK (`sdk/js`, `@huddle/client`) served at stable paths, from its committed build
//! compiled into the binary (cargo never runs node; `npm test` in sdk/js fails when dist/ is
//! stale):
//!
//! * `/sdk/huddle.js`: one `<script>` tag, global `Huddle` (data API + chat UI);
//! * `/sdk/huddle.mjs`: the same as an ES module;
//! * `/sdk/huddle-data.mjs`: the data API alone, as an ES module.

use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::admin_ui::asset;
use crate::state::AppState;

const IIFE: &str = include_str!("../../../sdk/js/dist/huddle.js");
const ESM: &str = include_str!("../../../sdk/js/dist/huddle.mjs");
const DATA_ESM: &str = include_str!("../../../sdk/js/dist/huddle-data.mjs");

const JS: &str = "text/javascript; charset=utf-8";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sdk/huddle.js", get(|h: HeaderMap| script(h, IIFE)))
        .route("/sdk/huddle.mjs", get(|h: HeaderMap| script(h, ESM)))
        .route(
            "/sdk/huddle-data.mjs",
            get(|h: HeaderMap| script(h, DATA_ESM)),
        )
}

/// Same caching as the dashboard (no-cache + ETag: an upgraded server serves the new SDK at once).
async fn script(headers: HeaderMap, body: &'static str) -> Response {
    asset(&headers, body.as_bytes().to_vec(), JS)
}
