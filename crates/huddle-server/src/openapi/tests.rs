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
