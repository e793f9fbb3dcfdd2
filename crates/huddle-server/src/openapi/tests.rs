//! The description against the route table it is built from.

use super::document::tag_of;
use super::*;

#[test]
fn tags_group_by_resource() {
    assert_eq!(tag_of(Api::RocketChat, "/api/v1/chat.postMessage"), "chat");
    assert_eq!(tag_of(Api::RocketChat, "/api/v1/settings/{id}"), "settings");
    assert_eq!(
        tag_of(Api::TalkJs, "/v1/{app}/conversations/{cid}"),
        "conversations"
    );
}

/// Every route of both APIs goes through `ApiRouter` (so it is described): no module of either
/// API registers one on a plain axum router. The health probes are the one exception: they are
/// not API operations.
#[test]
fn no_route_bypasses_the_described_table() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for dir in ["rocketchat", "talkjs"] {
        let entries = std::fs::read_dir(src.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                let allowed = line == ".route(\"/health\", get(|| async { \"OK\" }))"
                    || line == ".route(\"/livez\", get(|| async { \"OK\" }))";
                let registers = line.contains(".route(")
                    || line.contains(".route_service(")
                    || line.contains(".nest_service(");
                assert!(
                    allowed || !registers,
                    "{}:{}: a route outside ApiRouter is not described: {line}",
                    path.display(),
                    n + 1
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} files read");
}

/// Both descriptions hold every route their `ApiRouter` registered, each once, with the
/// described method.
#[test]
fn descriptions_hold_every_registered_route() {
    for (api, routes) in [
        (Api::RocketChat, crate::rocketchat::api()),
        (Api::TalkJs, crate::talkjs::api()),
    ] {
        let doc = serde_json::to_value(document(api, routes.routes())).unwrap_or_default();
        let mut described = 0;
        for r in routes.routes() {
            let method = serde_json::to_value(&r.method).unwrap_or_default();
            let method = method.as_str().unwrap_or_default();
            assert!(
                doc["paths"][&r.path][method].is_object(),
                "{api:?}: {method} {} is registered but not described",
                r.path
            );
            described += 1;
        }
        let total: usize = doc["paths"]
            .as_object()
            .map(|p| {
                p.values()
                    .map(|i| i.as_object().map_or(0, |o| o.len()))
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(
            total, described,
            "{api:?}: operations described twice or extra"
        );
    }
}

#[test]
fn any_is_typeless() {
    let v = serde_json::to_value(schema::any()).unwrap_or_default();
    assert_eq!(v, serde_json::json!({}));
}
