//! The `huddle` binary end to end: every subcommand against a temp SQLite database, and `serve`
//! as a real process (healthcheck, login with an account the CLI made, graceful SIGTERM, and
//! `admin` commands run beside it taking effect within 5 s).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, huddle, ok, Serve, ServerProcess};

#[test]
fn admin_commands_manage_accounts_and_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    assert!(ok(&huddle(&db, &["migrate"])).contains("migrations applied"));
    let created = ok(&huddle(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "ops",
            "--password",
            "pw-1",
            "--email",
            "ops@example.com",
        ],
    ));
    assert!(created.contains("created user ops"), "{created}");
    assert!(
        created.contains("admin"),
        "the first account of a workspace without admin is admin: {created}"
    );
    assert!(
        !huddle(
            &db,
            &[
                "admin",
                "create-user",
                "--username",
                "ops",
                "--password",
                "x"
            ]
        )
        .status
        .success(),
        "duplicate username"
    );
    ok(&huddle(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "bot1",
            "--password",
            "pw-2",
        ],
    ));
    assert!(ok(&huddle(
        &db,
        &["admin", "add-role", "--username", "bot1", "--role", "bot"]
    ))
    .contains("bot1 now has role bot"));
    assert!(!huddle(
        &db,
        &["admin", "add-role", "--username", "bot1", "--role", "nope"]
    )
    .status
    .success());
    ok(&huddle(
        &db,
        &[
            "admin",
            "set-password",
            "--username",
            "bot1",
            "--password",
            "new-pw",
        ],
    ));
    assert!(!huddle(
        &db,
        &[
            "admin",
            "set-password",
            "--username",
            "ghost",
            "--password",
            "x"
        ]
    )
    .status
    .success());
    let info = ok(&huddle(&db, &["admin", "app-info"]));
    assert!(
        info.contains("app id: ") && info.contains("guest access: on"),
        "{info}"
    );
    let secret = ok(&huddle(&db, &["admin", "create-secret"]));
    assert!(secret.contains("sk_live_"), "{secret}");
    let key_id = secret
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    ok(&huddle(&db, &["admin", "revoke-secret", "--id", &key_id]));
    assert!(ok(&huddle(&db, &["admin", "app-info"])).contains("(revoked)"));
    let s = ok(&huddle(
        &db,
        &["admin", "app-settings", "--browser-user-sync", "false"],
    ));
    assert!(
        s.contains("browser user sync: disallowed") && s.contains("guest access: off"),
        "{s}"
    );
}

#[test]
fn config_print_default_is_a_valid_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = ok(&huddle("sqlite::memory:", &["config", "print-default"]));
    assert!(text.contains("port = 3000"));
    let path = dir.path().join("huddle.toml");
    std::fs::write(&path, text).unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    ok(&huddle(
        &db,
        &["migrate", "--config", path.to_str().unwrap()],
    ));
    std::fs::write(&path, "no_such_key = 1\n").unwrap();
    assert!(
        !huddle(&db, &["migrate", "--config", path.to_str().unwrap()])
            .status
            .success(),
        "unknown keys are refused"
    );
}

#[test]
fn serve_answers_healthcheck_logs_in_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let log = dir.path().join("serve.log");
    let nothing = format!("http://127.0.0.1:{}", free_port());
    assert!(
        !huddle(&db, &["healthcheck", "--url", &nothing])
            .status
            .success(),
        "nothing listens there"
    );
    let server = Serve::new(&db)
        .args(&["--database-url", &db])
        .env("HUDDLE_ADMIN_USERNAME", "boss")
        .env("HUDDLE_ADMIN_PASSWORD", "boss-pw")
        .log_to(&log)
        .start();
    let url = server.url.clone();
    assert!(
        huddle(&db, &["healthcheck", "--url", &url])
            .status
            .success(),
        "healthcheck passes once the server answers"
    );
    let login = Command::new("python3")
        .args(["-c", &format!("import json,urllib.request as u;r=u.urlopen(u.Request('{url}/api/v1/login',data=json.dumps({{'user':'boss','password':'boss-pw'}}).encode(),headers={{'Content-Type':'application/json'}}));print(json.load(r)['status'])")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&login.stdout).trim(),
        "success",
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let code = server.stop();
    assert!(code.success(), "graceful stop exits 0, got {code}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("huddle listening on"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

/// Starts `huddle serve` (plus `args`) over `db`, logging to a file in `dir`, and waits until
/// it answers.
fn serve(dir: &std::path::Path, db: &str, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let mut serve = Serve::new(db)
        .args(args)
        .log_to(&dir.join(format!("serve-{n}.log")));
    for (name, value) in env {
        serve = serve.env(name, value);
    }
    serve.start()
}

/// One HTTP/1.1 request over a plain socket: the status and the body.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    http_body(port, method, path, headers, "")
}

/// `http` with a JSON body.
fn http_body(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The id and the secret printed by `huddle admin create-secret` ("key ID: SECRET").
fn create_secret(db: &str) -> (String, String) {
    let out = ok(&huddle(db, &["admin", "create-secret"]));
    let mut words = out.split_whitespace().skip(1);
    let id = words.next().unwrap().trim_end_matches(':').to_string();
    let secret = words.next().unwrap().to_string();
    (id, secret)
}

/// Polls `check` every 20 ms until it holds; returns how long that took (fails past 10 s, so a
/// change that is never seen fails the test rather than hanging it).
fn time_until(what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: not seen after 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    println!("{what}: seen by the running server after {took:?}");
    took
}

#[test]
fn admin_changes_reach_a_running_server_within_5_s() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("live.db").display());
    let (old_id, old_secret) = create_secret(&db);
    let info = ok(&huddle(&db, &["admin", "app-info"]));
    let app = info
        .lines()
        .find_map(|l| l.strip_prefix("app id: "))
        .unwrap()
        .to_string();
    let server = serve(dir.path(), &db, &[], &[]);
    let settings = format!("/v1/{app}/settings");
    let with_key = |secret: &str| {
        let bearer = format!("Bearer {secret}");
        http(server.port, "GET", &settings, &[("Authorization", &bearer)])
    };
    assert_eq!(with_key(&old_secret).0, 200);

    // A key revoked from the command line is refused.
    ok(&huddle(&db, &["admin", "revoke-secret", "--id", &old_id]));
    let took = time_until("revoke-secret", || with_key(&old_secret).0 == 401);
    assert!(took < Duration::from_secs(5), "revocation took {took:?}");

    // A key created from the command line is accepted.
    let (_, new_secret) = create_secret(&db);
    let took = time_until("create-secret", || with_key(&new_secret).0 == 200);
    assert!(took < Duration::from_secs(5), "new key took {took:?}");

    // A security setting changed from the command line is applied.
    let body = with_key(&new_secret).1;
    let before: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(before["browserUserSync"], true, "{body}");
    ok(&huddle(
        &db,
        &["admin", "app-settings", "--browser-user-sync", "false"],
    ));
    let took = time_until("app-settings", || {
        let (status, body) = with_key(&new_secret);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        status == 200 && v["browserUserSync"] == false && v["guestsAllowed"] == false
    });
    assert!(took < Duration::from_secs(5), "settings took {took:?}");
}

/// A browser naming a user with no proof: refused by a default server (with no warning in its
/// log), accepted by one started with `HUDDLE_INSECURE_BROWSER_SESSIONS` or
/// `--insecure-browser-sessions`, which say so in their log.
#[test]
fn browser_sessions_need_proof_unless_serve_is_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let app = [
        ("HUDDLE_APP_ID", "cli-app"),
        ("HUDDLE_APP_SECRET", "sk_cli_secret"),
    ];
    let bare_me = |server: &ServerProcess| {
        let auth = [("Authorization", "Bearer sk_cli_secret")];
        let (status, body) = http_body(
            server.port,
            "PUT",
            "/v1/cli-app/users/alice",
            &auth,
            r#"{"name": "Alice"}"#,
        );
        assert_eq!(status, 200, "{body}");
        http(
            server.port,
            "GET",
            "/v1/cli-app/client/me",
            &[("X-Huddle-User-Id", "alice")],
        )
    };
    let warning = "identity verification is off";

    let db = format!("sqlite://{}", dir.path().join("secure.db").display());
    let server = serve(dir.path(), &db, &[], &app);
    let (status, body) = bare_me(&server);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("Identity verification is required"), "{body}");
    assert!(!server.log().contains(warning), "{}", server.log());

    let env = [app[0], app[1], ("HUDDLE_INSECURE_BROWSER_SESSIONS", "true")];
    let db = format!("sqlite://{}", dir.path().join("env.db").display());
    let server = serve(dir.path(), &db, &[], &env);
    assert_eq!(bare_me(&server).0, 200);
    assert!(server.log().contains(warning), "{}", server.log());

    let db = format!("sqlite://{}", dir.path().join("flag.db").display());
    let server = serve(dir.path(), &db, &["--insecure-browser-sessions"], &app);
    assert_eq!(bare_me(&server).0, 200);
    assert!(server.log().contains(warning), "{}", server.log());
    // The choice is stored: a later start without the flag keeps it, and warns again.
    drop(server);
    let server = serve(dir.path(), &db, &[], &app);
    assert_eq!(bare_me(&server).0, 200);
    assert!(server.log().contains(warning), "{}", server.log());
}

#[test]
fn huddle_alone_serves_with_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bare.db").display());
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_huddle"))
        .env("HUDDLE_DATABASE_URL", &db)
        .env("HUDDLE_LISTEN", "127.0.0.1")
        .env("HUDDLE_PORT", port.to_string())
        .env_remove("HUDDLE_ADMIN_USERNAME")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = ServerProcess::adopt(child, port);
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while !huddle(&db, &["healthcheck", "--url", &url])
        .status
        .success()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "`huddle` with HUDDLE_PORT={port} did not listen there"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
