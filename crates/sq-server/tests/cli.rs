//! The real `smartqueue` binary: help texts, seeding, migrate, `audit verify` catching an
//! altered row, and `serve --demo` answering then stopping on SIGTERM.

use sqlx::Connection;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_smartqueue");
const PASSWORD: &str = "cli-test-password";

/// Runs the binary with a clean environment (no `DATABASE_URL`, no `SQ_*` from the caller)
/// in `cwd` (so no stray `smartqueue.toml` is read).
fn smartqueue(cwd: &Path, args: &[&str]) -> Output {
    command(cwd, args).output().expect("run smartqueue")
}

fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("SQ_") || k == "DATABASE_URL" || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["seed", "--help"],
        vec!["migrate", "--help"],
        vec!["audit", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["config", "--help"],
        vec!["flows", "--help"],
        vec!["flows", "validate", "--help"],
        vec!["flows", "test", "--help"],
        vec!["flows", "render", "--help"],
        vec!["help", "serve"],
    ] {
        let o = smartqueue(dir.path(), &args);
        assert!(o.status.success(), "{args:?}: {}", show(&o));
        let out = stdout(&o);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let top = stdout(&smartqueue(dir.path(), &["--help"]));
    for cmd in ["serve", "seed", "migrate", "audit", "flows", "Examples:"] {
        assert!(top.contains(cmd), "{cmd} missing from --help:\n{top}");
    }
    let serve = stdout(&smartqueue(dir.path(), &["serve", "--help"]));
    for flag in [
        "--listen",
        "--data-dir",
        "--log-json",
        "--demo",
        "--admin-password",
    ] {
        assert!(
            serve.contains(flag),
            "{flag} missing from serve --help:\n{serve}"
        );
    }
    // Unknown commands and missing arguments fail with usage on stderr.
    let o = smartqueue(dir.path(), &["frobnicate"]);
    assert!(!o.status.success());
    let o = smartqueue(dir.path(), &["audit", "verify"]);
    assert!(!o.status.success(), "--tenant is required: {}", show(&o));
}

#[test]
fn migrate_then_seed_then_audit_verify_detects_an_altered_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();

    let o = smartqueue(dir.path(), &["migrate", "--data-dir", data_s]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(data.join("smartqueue.db").exists());
    // It says what it applied: everything the first time, nothing the second.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Applied") && out.contains("0001 init"),
        "{out}"
    );
    let o = smartqueue(dir.path(), &["migrate", "--data-dir", data_s]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Up to date"), "{out}");

    let o = smartqueue(
        dir.path(),
        &[
            "seed",
            "--demo",
            "--admin-password",
            PASSWORD,
            "--data-dir",
            data_s,
        ],
    );
    assert!(o.status.success(), "{}", show(&o));
    let out = stdout(&o);
    for s in [
        "admin@demo.test",
        "agent1@demo.test",
        "agent3@demo.test",
        PASSWORD,
    ] {
        assert!(out.contains(s), "{s} missing from:\n{out}");
    }
    // Seeding again changes nothing.
    let o = smartqueue(dir.path(), &["seed", "--demo", "--data-dir", data_s]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(stdout(&o).contains("exists already"), "{}", show(&o));

    let o = smartqueue(
        dir.path(),
        &["audit", "verify", "--tenant", "demo", "--data-dir", data_s],
    );
    assert!(o.status.success(), "{}", show(&o));
    let rows: usize = stdout(&o)
        .trim()
        .strip_prefix("ok: ")
        .and_then(|s| s.strip_suffix(" rows"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("ok: N rows, got {}", show(&o)));
    assert!(rows >= 10, "the seed is audited: {rows}");

    // Alter row 5 behind the server's back.
    let db = data.join("smartqueue.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let id: String = rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let done = sqlx::query("UPDATE audit_log SET action = 'site.delete' WHERE seq = 5")
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        let id: String = sqlx::query_scalar("SELECT id FROM audit_log WHERE seq = 5")
            .fetch_one(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        id
    });

    let o = smartqueue(
        dir.path(),
        &["audit", "verify", "--tenant", "demo", "--data-dir", data_s],
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let out = stdout(&o);
    assert!(
        out.contains("row 5") && out.contains(&id),
        "names seq 5 and {id}: {out}"
    );

    // An unknown tenant is an error, not a pass.
    let o = smartqueue(
        dir.path(),
        &[
            "audit",
            "verify",
            "--tenant",
            "nobody",
            "--data-dir",
            data_s,
        ],
    );
    assert!(!o.status.success(), "{}", show(&o));
}

#[test]
fn config_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("custom.toml"),
        "data_dir = \"from-file\"\nlog_filter = \"warn\"\n",
    )
    .unwrap();
    // The file's data_dir.
    let o = smartqueue(dir.path(), &["--config", "custom.toml", "migrate"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(dir.path().join("from-file/smartqueue.db").exists());
    // The environment wins over the file…
    let o = command(dir.path(), &["--config", "custom.toml", "migrate"])
        .env("SQ_DATA_DIR", "from-env")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert!(dir.path().join("from-env/smartqueue.db").exists());
    // …and the flag over the environment.
    let o = command(
        dir.path(),
        &[
            "--config",
            "custom.toml",
            "migrate",
            "--data-dir",
            "from-flag",
        ],
    )
    .env("SQ_DATA_DIR", "from-env")
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert!(dir.path().join("from-flag/smartqueue.db").exists());
    // ./smartqueue.toml is read without --config.
    std::fs::write(
        dir.path().join("smartqueue.toml"),
        "data_dir = \"default-file\"\n",
    )
    .unwrap();
    let o = smartqueue(dir.path(), &["migrate"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(dir.path().join("default-file/smartqueue.db").exists());
    // Bad configuration is refused with a message, not a panic.
    let o = smartqueue(dir.path(), &["--config", "missing.toml", "migrate"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.toml"));
    let o = command(dir.path(), &["migrate"])
        .env("SQ_JWT_SECRET", "short")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let o = command(dir.path(), &["migrate"])
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
}

/// Kills the child if the test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_demo_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(
        dir.path(),
        &["serve", "--demo", "--listen", "127.0.0.1:0", "--log-json"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn serve");
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let mut server = Running(child);

    // Read stdout until the address is printed (the demo summary comes first).
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_lines = std::thread::spawn(move || {
        BufReader::new(err)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let base = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no 'Listening on' line; stdout so far: {seen:#?}"));
        if let Some(b) = line.strip_prefix("Listening on ") {
            break b.trim().to_owned();
        }
        seen.push(line);
    };
    let summary = seen.join("\n");
    assert!(summary.contains("admin@demo.test"), "{summary}");
    assert!(summary.contains("/api/v1/health"), "{summary}");
    assert!(
        summary.contains("not stored anywhere"),
        "a generated password is announced: {summary}"
    );
    assert!(dir.path().join("data").join("smartqueue.db").exists());
    assert!(dir.path().join("data").join("jwt.secret").exists());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let health = rt.block_on(async {
        reqwest::get(format!("{base}/api/v1/health"))
            .await
            .expect("health")
            .json::<serde_json::Value>()
            .await
            .expect("json")
    });
    assert_eq!(health, serde_json::json!({"status": "ok"}));

    let pid = server.0.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");
    let logs = stderr_lines.join().unwrap();
    assert!(
        logs.iter()
            .any(|l| l.starts_with('{') && l.contains("listening")),
        "JSON logs with --log-json: {logs:#?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn flows_validate_test_and_render_the_starter_flows() {
    let dir = tempfile::tempdir().unwrap();
    let o = smartqueue(dir.path(), &["flows", "validate"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(stdout(&o).contains("6 flow(s): 0 error(s)"), "{}", show(&o));

    let o = smartqueue(dir.path(), &["flows", "test"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(stdout(&o).contains(": 0 failure(s)"), "{}", show(&o));

    let o = smartqueue(
        dir.path(),
        &[
            "flows",
            "render",
            "join-queue",
            "--channel",
            "ussd",
            "--locale",
            "ar",
        ],
    );
    assert!(o.status.success(), "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("[UssdMenu"), "{out}");
    assert!(
        out.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "Arabic text: {out}"
    );
    // USSD text carries no Fluent bidi isolation marks.
    assert!(
        !out.contains('\u{2068}') && !out.contains('\u{2069}'),
        "{out}"
    );

    let o = smartqueue(dir.path(), &["flows", "render", "no-such-flow"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("known: main-menu"),
        "{}",
        show(&o)
    );
}

#[test]
fn flows_validate_names_a_broken_step_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows"),
        &flows,
    );
    let file = flows.join("join-queue/flow.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains("next: load_services"));
    std::fs::write(
        &file,
        yaml.replacen("next: load_services", "next: load_servicez", 1),
    )
    .unwrap();

    let o = smartqueue(dir.path(), &["flows", "validate", flows.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("load_servicez"))
        .unwrap_or_else(|| panic!("no diagnostic names the step: {}", show(&o)));
    assert!(line.starts_with("join-queue/flow.yaml:22:"), "{line}");
}
