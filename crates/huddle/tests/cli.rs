//! The `huddle` binary end to end: every subcommand against a temp SQLite database, and `serve`
//! as a real process (healthcheck, login with an account the CLI made, graceful SIGTERM).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn huddle(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(args)
        .env("HUDDLE_DATABASE_URL", db)
        .env_remove("HUDDLE_ADMIN_USERNAME")
        .env_remove("HUDDLE_APP_ID")
        .env_remove("HUDDLE_APP_SECRET")
        .output()
        .expect("run huddle")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        !huddle(&db, &["healthcheck", "--url", &url])
            .status
            .success(),
        "nothing listens yet"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--database-url",
            &db,
        ])
        .env("HUDDLE_ADMIN_USERNAME", "boss")
        .env("HUDDLE_ADMIN_PASSWORD", "boss-pw")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !huddle(&db, &["healthcheck", "--url", &url])
        .status
        .success()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
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
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "graceful stop exits 0, got {code}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("huddle listening on"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
