//! The browser SDK is served from the binary at stable paths: the script-tag build defines the
//! global `Huddle` with `getSession`, the ES modules export it, and the files revalidate by ETag.

use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn sdk_bundles_are_served_with_type_and_etag() {
    let app = TestApp::spawn().await;
    for (path, marker) in [
        ("/sdk/huddle.js", "var Huddle="),
        ("/sdk/huddle.mjs", "getSession"),
        ("/sdk/huddle-data.mjs", "getSession"),
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers().clone();
        assert_eq!(
            h["content-type"], "text/javascript; charset=utf-8",
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        let etag = h["etag"].to_str().unwrap().to_string();
        let body = res.text().await.unwrap();
        assert!(body.contains(marker), "{path} lacks {marker}");
        let again = app
            .client
            .get(app.url(path))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    // The data-only module leaves the chat UI out.
    let data = app
        .client
        .get(app.url("/sdk/huddle-data.mjs"))
        .send()
        .await
        .unwrap();
    assert!(!data.text().await.unwrap().contains("huddle-chatbox"));
    let full = app
        .client
        .get(app.url("/sdk/huddle.mjs"))
        .send()
        .await
        .unwrap();
    assert!(full.text().await.unwrap().contains("huddle-chatbox"));
}
