//! The real `wa-signup-proxy` binary: what start-up refuses (one line on stderr, exit status
//! 2) and what `--sandbox` starts. Each run gets an empty environment and an empty working
//! directory, so no developer's variables or `.env` file get in.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::helpers::*;

fn proxy(dir: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wa-signup-proxy"));
    cmd.env_clear()
        .current_dir(dir)
        .args(args)
        .env("DATABASE_URL", database_url(dir))
        .env("DIST_DIR", dir.join("no-dist"))
        .envs(vars.iter().copied())
        .stdin(Stdio::null());
    cmd
}

/// Runs a start-up that must be refused; returns its one stderr line.
fn refused(args: &[&str], vars: &[(&str, &str)]) -> String {
    let dir = fresh_dir("bin");
    let out: Output = proxy(&dir, args, vars).output().expect("the proxy runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{vars:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    stderr.trim_end().to_owned()
}

const LIVE_IDS: [(&str, &str); 3] = [
    ("FB_APP_ID", "1"),
    ("FB_CONFIG_ID", "2"),
    ("FB_SOLUTION_ID", "3"),
];

#[test]
fn an_empty_key_without_sandbox_stops_start_up() {
    for vars in [&[("YCLOUD_API_KEY", "")][..], &[][..]] {
        let line = refused(&[], vars);
        assert!(
            line.starts_with("error: YCLOUD_API_KEY: required"),
            "{line}"
        );
        assert!(line.contains("SANDBOX=true"), "{line}");
    }
}

#[test]
fn a_public_sandbox_stops_start_up() {
    let line = refused(&["--sandbox"], &[("ADDR", "0.0.0.0:0")]);
    assert!(line.starts_with("error: SANDBOX: "), "{line}");
    assert!(
        line.contains("ADDR") && line.contains("SANDBOX_ALLOW_PUBLIC=true"),
        "{line}"
    );
    let line = refused(&[], &[("SANDBOX", "true"), ("ADDR", "[::]:0")]);
    assert!(line.starts_with("error: SANDBOX: "), "{line}");
}

#[test]
fn live_without_the_app_secret_stops_start_up() {
    let mut vars = vec![("YCLOUD_API_KEY", API_KEY)];
    vars.extend(LIVE_IDS);
    let line = refused(&[], &vars);
    assert!(line.starts_with("error: FB_APP_SECRET: required"), "{line}");
    assert!(!line.contains(API_KEY));
}

#[test]
fn a_plain_http_upstream_beyond_this_machine_stops_start_up() {
    for var in ["YCLOUD_BASE_URL", "GRAPH_BASE_URL"] {
        let mut vars = vec![
            ("YCLOUD_API_KEY", API_KEY),
            ("FB_APP_SECRET", APP_SECRET),
            (var, "http://api.example.com/v2"),
            // Read after the upstreams: had they passed, this would be the line.
            ("DATABASE_URL", "mysql://db"),
        ];
        vars.extend(LIVE_IDS);
        let line = refused(&[], &vars);
        assert!(
            line.starts_with(&format!("error: {var}: expected an https URL")),
            "{line}"
        );
    }
}

#[test]
fn plain_http_for_the_public_url_or_the_sdk_stops_a_live_start_up() {
    for var in ["PUBLIC_URL", "FB_SDK_URL"] {
        let mut vars = vec![
            ("YCLOUD_API_KEY", API_KEY),
            ("FB_APP_SECRET", APP_SECRET),
            (var, "http://onboarding.example.com/x"),
        ];
        vars.extend(LIVE_IDS);
        let line = refused(&[], &vars);
        assert!(
            line.starts_with(&format!("error: {var}: must be https in live mode")),
            "{line}"
        );
    }
}

#[test]
fn a_retired_embedded_signup_version_stops_start_up_naming_the_date() {
    for version in ["v2", "v3", "v2-public-preview", "v3-public-preview"] {
        let line = refused(&["--sandbox"], &[("FB_ES_VERSION", version)]);
        assert!(line.starts_with("error: FB_ES_VERSION: "), "{line}");
        assert!(
            line.contains(version) && line.contains("2026-10-15"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn the_sandbox_flag_starts_a_sandbox_that_says_so() {
    let dir = fresh_dir("bin");
    let mut child = proxy(
        &dir,
        &["--sandbox", "--addr", "127.0.0.1:0"],
        &[("YCLOUD_API_KEY", API_KEY), ("RUST_LOG", "warn")],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the proxy starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut banner = String::new();
    stdout.read_line(&mut banner).expect("the banner");
    let address = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_owned();
    assert!(banner.contains("(sandbox mode)"), "{banner}");
    let health: Value = reqwest::get(format!("{address}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "mode": "sandbox", "provider": "ycloud",
            "version": env!("CARGO_PKG_VERSION")})
    );
    let _ = child.kill();
    let out = child.wait_with_output().expect("the proxy stops");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SANDBOX MODE"), "{stderr}");
    let ignored: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("YCLOUD_API_KEY is set but not used"))
        .collect();
    assert_eq!(ignored.len(), 1, "{stderr}");
    assert!(!stderr.contains(API_KEY));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_every_variable_and_version_prints_the_version() {
    let dir = fresh_dir("bin");
    let help = proxy(&dir, &["--help"], &[])
        .output()
        .expect("the proxy runs");
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert_eq!(help, proxy::config::usage());
    for var in proxy::config::vars::VARIABLES {
        for name in var.names {
            let named = help
                .lines()
                .any(|l| l.starts_with("  ") && l.trim().split(", ").any(|n| n == *name));
            assert!(named, "--help lacks {name}");
        }
    }
    let version = proxy(&dir, &["--version"], &[])
        .output()
        .expect("the proxy runs");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("wa-signup-proxy {}\n", env!("CARGO_PKG_VERSION"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts a sandbox proxy in `dir` and waits for its banner.
fn sandbox_in(dir: &std::path::Path) -> std::process::Child {
    let mut child = proxy(
        dir,
        &["--sandbox", "--addr", "127.0.0.1:0"],
        &[("RUST_LOG", "warn")],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("the proxy starts");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut banner)
        .expect("the banner");
    assert!(banner.contains("http://"), "{banner:?}");
    child
}

#[test]
fn a_second_process_on_the_same_sqlite_file_refuses_to_start_naming_it() {
    let dir = fresh_dir("bin");
    let mut first = sandbox_in(&dir);
    let out = proxy(&dir, &["--sandbox", "--addr", "127.0.0.1:0"], &[])
        .output()
        .expect("the second proxy runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let file = database_url(&dir);
    let file = file.trim_start_matches("sqlite://");
    let line = stderr
        .lines()
        .find(|l| l.contains("DATABASE_URL"))
        .unwrap_or_else(|| panic!("no line names DATABASE_URL: {stderr}"));
    assert!(
        line.contains(file) && line.contains("in use by another process"),
        "{line}"
    );
    // The first one's end (however it ends) frees the file.
    let _ = first.kill();
    let _ = first.wait();
    let mut again = sandbox_in(&dir);
    let _ = again.kill();
    let _ = again.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
