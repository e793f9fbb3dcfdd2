//! Security properties as tests: secrets at rest, forged tokens, sessions ending at once, CORS.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::ddp::Ddp;
use crate::helpers::{ClientAuth, TestApp, APP_ID, SECRET};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(alg: Algorithm, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// An unsigned token (`alg: none`), which the jsonwebtoken crate will not make.
fn unsigned(claims: &Value) -> String {
    let b64 = |v: &Value| base64url(&serde_json::to_vec(v).unwrap());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

/// Unpadded base64url, by hand (no crate needed for a test's two headers).
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Every row of every table of a PostgreSQL database, as text.
async fn postgres_rows(url: &str) -> Vec<u8> {
    use sqlx::Row;
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut out = vec![];
    for t in &tables {
        let rows = sqlx::query(&format!("SELECT row_to_json(x)::text FROM \"{t}\" x"))
            .fetch_all(&pool)
            .await
            .expect("rows");
        for r in rows {
            out.extend(r.get::<String, _>(0).into_bytes());
        }
    }
    pool.close().await;
    assert!(tables.len() > 5, "{tables:?}");
    out
}

/// What the database holds: the SQLite file and its WAL, or every PostgreSQL row as text.
async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    let mut bytes = vec![];
    if app.database_url().starts_with("postgres") {
        bytes = postgres_rows(app.database_url()).await;
    } else {
        let path = app
            .database_url()
            .trim_start_matches("sqlite://")
            .to_string();
        for suffix in ["", "-wal"] {
            if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                bytes.extend(b);
            }
        }
    }
    assert!(!bytes.is_empty());
    bytes
}

/// The app's secret keys are sealed with a key kept outside the database: neither the one
/// provisioned at start nor ones created and rotated through the dashboard API appear in the
/// SQLite file and its WAL, nor in any PostgreSQL row; yet they authenticate, and the list
/// shows only their last characters.
#[tokio::test]
async fn secret_keys_never_reach_the_database_file() {
    let app = TestApp::spawn().await;
    let (status, made) = app.talk("POST", "keys", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let created = made["secret"].as_str().unwrap().to_string();
    let kid = made["id"].as_str().unwrap().to_string();
    let (status, rotated) = app
        .talk("POST", &format!("keys/{kid}/rotate"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let rotated = rotated["secret"].as_str().unwrap().to_string();
    // Read back from the store, they still sign: the live ones authenticate the backend.
    assert_eq!(
        app.talk_with(Some(&rotated), "GET", "keys", None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.talk_with(Some(&created), "GET", "keys", None).await.0,
        StatusCode::UNAUTHORIZED,
        "rotated away"
    );
    let (_, list) = app.talk("GET", "keys", None).await;
    assert!(!list.to_string().contains(&rotated[..rotated.len() - 4]));
    let bytes = stored_bytes(&app).await;
    // The check can fail: the key ids (stored in clear) are found the same way.
    assert!(bytes.windows(kid.len()).any(|w| w == kid.as_bytes()));
    let secrets = [SECRET, created.as_str(), rotated.as_str()];
    for s in secrets {
        let found = bytes.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(!found, "a secret key is in the database in clear");
    }
    println!(
        "figure: {} app secret keys (provisioned, created, rotated) absent from {} bytes of database file and WAL (SQLite) or rows (PostgreSQL)",
        secrets.len(),
        bytes.len()
    );
}

/// Login tokens are stored hashed: after logins over REST and DDP, no raw token appears
/// anywhere in the SQLite file or its WAL, nor in any PostgreSQL row.
#[tokio::test]
async fn raw_login_tokens_never_reach_the_database_file() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut tokens = vec![app.admin.token.clone(), alice.token.clone()];
    let mut d = Ddp::connect(&app).await;
    let r = d.login(&alice.username, "pw-123456").await;
    tokens.push(r["token"].as_str().unwrap().to_string());
    let pat = app
        .ok(
            &app.admin,
            "users.generatePersonalAccessToken",
            json!({ "tokenName": "ci", "bypassTwoFactor": true }),
        )
        .await;
    if let Some(t) = pat["token"].as_str() {
        tokens.push(t.to_string());
    }
    let bytes = stored_bytes(&app).await;
    // The check can fail: the user ids (stored in clear) are found the same way.
    assert!(bytes
        .windows(alice.user_id.len())
        .any(|w| w == alice.user_id.as_bytes()));
    for t in &tokens {
        let found = bytes.windows(t.len()).any(|w| w == t.as_bytes());
        assert!(!found, "a raw login token is in the database file");
    }
    println!(
        "figure: {} login tokens (REST, DDP, personal access) absent from {} bytes of database file and WAL (SQLite) or rows (PostgreSQL)",
        tokens.len(),
        bytes.len()
    );
}

/// Forged or misused tokens on the TalkJS-style API are all refused with 401.
#[tokio::test]
async fn forged_jwts_are_refused() {
    let app = TestApp::spawn().await;
    app.talk_ok("PUT", "users/alice", Some(json!({ "name": "Alice" })))
        .await;
    let exp = now() + 60;
    let app_claims = json!({ "tokenType": "app", "iss": APP_ID, "exp": exp });
    let user_claims = json!({ "tokenType": "user", "iss": APP_ID, "sub": "alice", "exp": exp });
    // Sanity: the genuine tokens work.
    let good_app = sign(Algorithm::HS256, &app_claims, SECRET);
    assert_eq!(
        app.talk_with(Some(&good_app), "GET", "users/alice", None)
            .await
            .0,
        StatusCode::OK
    );
    let good_user = sign(Algorithm::HS256, &user_claims, SECRET);
    let (status, _) = app
        .client_call(&ClientAuth::Token(good_user.clone()), "GET", "me", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let mut tampered = good_app.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let with = |claims: &Value, key: &str, v: Value| {
        let mut c = claims.clone();
        c[key] = v;
        c
    };
    let forged_app = [
        ("HS512", sign(Algorithm::HS512, &app_claims, SECRET)),
        ("HS384", sign(Algorithm::HS384, &app_claims, SECRET)),
        ("alg none", unsigned(&app_claims)),
        (
            "expired",
            sign(
                Algorithm::HS256,
                &with(&app_claims, "exp", json!(now() - 3600)),
                SECRET,
            ),
        ),
        ("no exp", {
            let mut c = app_claims.clone();
            c.as_object_mut().unwrap().remove("exp");
            sign(Algorithm::HS256, &c, SECRET)
        }),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                &with(&app_claims, "iss", json!("other-app")),
                SECRET,
            ),
        ),
        (
            "wrong key",
            sign(Algorithm::HS256, &app_claims, "sk_test_not_the_key"),
        ),
        ("tampered signature", tampered),
        ("user token as app token", good_user.clone()),
    ];
    for (what, token) in &forged_app {
        let (status, v) = app.talk_with(Some(token), "GET", "users/alice", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {v}");
    }
    // A genuine app token used on another app's path: that app does not exist here (404).
    let url = format!("{}/v1/other-app/users/alice", app.base);
    let res = app
        .client
        .get(url)
        .bearer_auth(&good_app)
        .send()
        .await
        .unwrap();
    assert!(matches!(
        res.status(),
        StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED
    ));

    let forged_user = [
        ("HS512", sign(Algorithm::HS512, &user_claims, SECRET)),
        ("alg none", unsigned(&user_claims)),
        (
            "expired",
            sign(
                Algorithm::HS256,
                &with(&user_claims, "exp", json!(now() - 3600)),
                SECRET,
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                &with(&user_claims, "iss", json!("other-app")),
                SECRET,
            ),
        ),
        (
            "wrong key",
            sign(Algorithm::HS256, &user_claims, "sk_test_not_the_key"),
        ),
        ("app token as user token", good_app.clone()),
    ];
    for (what, token) in &forged_user {
        let (status, v) = app
            .client_call(&ClientAuth::Token(token.clone()), "GET", "me", None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {v}");
    }
    println!(
        "figure: {} forged or misused JWTs refused with 401 ({} as app tokens, {} as user tokens)",
        forged_app.len() + forged_user.len(),
        forged_app.len(),
        forged_user.len()
    );
}

/// Logout ends the token for REST and DDP resume at once; so does deactivation.
#[tokio::test]
async fn logout_and_deactivation_end_rest_and_ddp_resume_at_once() {
    let app = TestApp::spawn().await;
    for how in ["logout", "deactivate"] {
        let bob = app.user("bob").await;
        let mut d = Ddp::connect(&app).await;
        d.ok("login", json!([{ "resume": bob.token }])).await;
        match how {
            "logout" => {
                app.ok(&bob, "logout", json!({})).await;
            }
            _ => {
                app.ok(
                    &app.admin,
                    "users.setActiveStatus",
                    json!({ "userId": bob.user_id, "activeStatus": false }),
                )
                .await;
            }
        }
        let (status, _) = app.get(Some(&bob), "me", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{how}: REST");
        let mut d = Ddp::connect(&app).await;
        let e = d.err("login", json!([{ "resume": bob.token }])).await;
        assert_eq!(e["error"], 403, "{how}: DDP resume {e}");
    }
    println!("figure: logout and deactivation refuse the very next REST call and DDP resume");
}

/// CORS never pairs a wildcard origin with credentials (browsers would refuse it, and it would
/// let any site ride a cookie session if one existed): auth travels in headers instead.
#[tokio::test]
async fn cors_never_combines_a_wildcard_with_credentials() {
    let app = TestApp::spawn().await;
    let urls = [
        app.url("me"),
        app.url("chat.postMessage"),
        format!("{}/v1/{APP_ID}/users/alice", app.base),
        format!("{}/v1/{APP_ID}/client/me", app.base),
        format!("{}/metrics", app.base),
    ];
    let mut seen = vec![];
    for url in &urls {
        // A preflight from a foreign origin, and the actual request it would precede.
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, url)
            .header("Origin", "https://evil.example")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "x-user-id, x-auth-token, authorization",
            )
            .send()
            .await
            .unwrap();
        let actual = app
            .client
            .get(url)
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        for res in [&preflight, &actual] {
            let h = res.headers();
            let get = |name: &str| {
                h.get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let (origin, credentials) = (
                get("access-control-allow-origin"),
                get("access-control-allow-credentials"),
            );
            assert!(
                !(credentials.eq_ignore_ascii_case("true")
                    && (origin == "*" || origin == "https://evil.example")),
                "{url}: origin {origin:?} with credentials"
            );
            seen.push(format!("{origin:?}/{credentials:?}"));
        }
    }
    seen.dedup();
    println!("figure: {} routes, preflight and actual requests from a foreign origin: allow-origin/allow-credentials {seen:?}", urls.len());
}
