//! The binary as an operator meets it.

use std::process::Command;

fn safecampus(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_safecampus"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env("SAFECAMPUS_LOG", "warn");
    c
}

#[test]
fn bootstrap_admin_creates_once_and_refuses_an_existing_username() {
    let dir = tempfile::tempdir().unwrap();
    let first = safecampus(dir.path())
        .args([
            "bootstrap-admin",
            "--district",
            "Test",
            "--username",
            "admin",
        ])
        .env("SAFECAMPUS_ADMIN_PASSWORD", "lantern-river-plum-42")
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(out.contains("created district admin admin"));
    assert!(
        !out.contains("lantern-river-plum-42"),
        "a given password is never printed"
    );

    let again = safecampus(dir.path())
        .args([
            "bootstrap-admin",
            "--district",
            "Test",
            "--username",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let generated = safecampus(dir.path())
        .args([
            "bootstrap-admin",
            "--district",
            "Other",
            "--username",
            "second.admin",
        ])
        .output()
        .unwrap();
    assert!(generated.status.success());
    assert!(String::from_utf8_lossy(&generated.stdout).contains("password (shown once): "));
}

#[test]
fn demo_refuses_a_database_that_holds_data() {
    let dir = tempfile::tempdir().unwrap();
    let boot = safecampus(dir.path())
        .args([
            "bootstrap-admin",
            "--district",
            "Real",
            "--username",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(boot.status.success());
    let demo = safecampus(dir.path()).arg("demo").output().unwrap();
    assert!(!demo.status.success());
    assert!(String::from_utf8_lossy(&demo.stderr).contains("empty database"));
}

#[test]
fn production_refuses_to_start_without_strong_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let missing = safecampus(dir.path())
        .arg("migrate")
        .env("SAFECAMPUS_ENV", "production")
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("SAFECAMPUS_JWT_SECRET is required"));
    let short = safecampus(dir.path())
        .arg("migrate")
        .env("SAFECAMPUS_ENV", "production")
        .env("SAFECAMPUS_JWT_SECRET", "too-short")
        .env("SAFECAMPUS_RECEIPT_PEPPER", "p".repeat(40))
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 32"));
    let good = safecampus(dir.path())
        .arg("migrate")
        .env("SAFECAMPUS_ENV", "production")
        .env("SAFECAMPUS_JWT_SECRET", "s".repeat(40))
        .env("SAFECAMPUS_RECEIPT_PEPPER", "p".repeat(40))
        .env("SAFECAMPUS_ID_NUMBER_KEY", "k".repeat(40))
        .env("SAFECAMPUS_AUDIT_KEY", "a".repeat(40))
        .output()
        .unwrap();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = safecampus(dir.path())
        .arg("serve")
        .env("SAFECAMPUS_BIND", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        use std::io::{Read, Write};
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ =
                stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                up = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "the server listens");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "a SIGTERM is a clean stop: {status:?}");
}
