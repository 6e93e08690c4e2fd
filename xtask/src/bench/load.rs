//! The proxy under load: the Rust proxy beside the naive Node.js proxy against one fake
//! YCloud (POST and GET throughput and latency, peak RSS, start to healthy), and the
//! helpers that start proxies, create sessions and run wrk.

use std::env;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::procs::{http, http_with, loopback, wait_healthy, Server, TempDir};
use super::{
    BENCH_KEY, BENCH_PARTNER_KEY, LOAD_SECONDS, P99_RUNS, SESSIONS_PER_RUN, SESSION_RUNS,
    START_RUNS,
};

// ---------------------------------------------------------------------------------------------
// Proxy under load

#[derive(Default, Clone)]
pub(super) struct Wrk {
    pub(super) rps: f64,
    pub(super) p50_ms: Option<f64>,
    pub(super) p99_ms: Option<f64>,
    pub(super) non_2xx: u64,
    pub(super) socket_errors: String,
}

#[derive(Default)]
pub(super) struct ServerResults {
    pub(super) post64: Wrk,
    /// At 8 connections, [`P99_RUNS`] runs (alternating with the other server's).
    pub(super) post8: Vec<Wrk>,
    pub(super) get64: Wrk,
    pub(super) get8: Wrk,
    pub(super) rss_kb: u64,
    pub(super) start_ms: Vec<f64>,
}

pub(super) struct Load {
    pub(super) fake_rps: f64,
    /// `POST /api/partner/sessions` per second, four clients, a new connection each.
    pub(super) sessions_rps: f64,
    /// Partner events delivered to the webhook receiver by the end of the POST runs, and
    /// stored: (delivered, total).
    pub(super) events: (u64, u64),
    pub(super) rust: ServerResults,
    pub(super) node: ServerResults,
    pub(super) log_lines_per_post: Option<f64>,
}

pub(super) fn proxy_load(root: &Path) -> Result<Load, String> {
    // The fake YCloud, built with the proxy, measured alone: it must not be what limits the
    // proxies. wrk reads a WABA (a GET: no script needed), with the key the fake requires.
    let dir = TempDir::new("load")?;
    let (fake_addr, _fake) = Server::fake(root, &["--zero-latency"], &dir.0.join("fake.log"))?;
    let key_header = format!("X-API-Key: {BENCH_KEY}");
    let alone = wrk(
        &["-t2", "-c64", "-d5s", "-H", &key_header],
        fake_addr,
        "/v2/whatsapp/businessAccounts/1",
        None,
    )?;
    if alone.non_2xx > 0 {
        return Err(format!(
            "the fake YCloud answered {} requests with an error; see {}",
            alone.non_2xx,
            dir.0.join("fake.log").display()
        ));
    }
    let fake_rps = alone.rps;
    let base = format!("http://{fake_addr}/v2");

    // Both servers up side by side; each measurement runs on one, then the other.
    let rust_addr = loopback()?;
    let rust_db = dir.0.join("rust");
    fs::create_dir_all(&rust_db).map_err(|e| e.to_string())?;
    let rust_log = dir.0.join("proxy.log");
    // As a partner runs it: sessions required, every change an event in the outbox, each
    // delivered (signed) to a receiver (the fake's `/__partner_webhook`).
    let mut rust = Server::spawn(
        &mut partner_proxy_command(root, &rust_db, rust_addr, fake_addr),
        &rust_log,
    )?;
    wait_healthy(rust_addr, &mut rust.child, Duration::from_secs(30))?;
    println!(
        "  POST /api/partner/sessions: {} sessions",
        SESSIONS_PER_RUN * SESSION_RUNS
    );
    let started = Instant::now();
    let tokens = create_sessions(rust_addr, SESSIONS_PER_RUN * SESSION_RUNS)?;
    let sessions_rps = tokens.len() as f64 / started.elapsed().as_secs_f64();
    println!("    {sessions_rps:.0} sessions/s");
    let tokens_file = dir.0.join("tokens.txt");
    fs::write(&tokens_file, tokens.join("\n")).map_err(|e| e.to_string())?;
    let mut session_run = 0;
    let mut sessions = |name: &str| -> Vec<(&'static str, String)> {
        if name != "rust" {
            return Vec::new();
        }
        let offset = session_run * SESSIONS_PER_RUN;
        session_run += 1;
        vec![
            ("WA_BENCH_TOKENS", tokens_file.display().to_string()),
            ("WA_BENCH_TOKEN_OFFSET", offset.to_string()),
            (
                "WA_BENCH_TOKENS_PER_THREAD",
                (SESSIONS_PER_RUN / 2).to_string(),
            ),
        ]
    };
    let node_addr = loopback()?;
    let mut node = Server::spawn(
        &mut naive_command(root, node_addr, &base),
        &dir.0.join("naive.log"),
    )?;
    wait_healthy(node_addr, &mut node.child, Duration::from_secs(30))?;

    let script = root.join("bench/post-onboardings.lua");
    let script = script.to_str().unwrap();
    let d = format!("-d{LOAD_SECONDS}s");
    let servers = [(rust_addr, "rust"), (node_addr, "node")];
    let mut results: [ServerResults; 2] = Default::default();

    // A short warm-up of each (JIT, pools, SQLite pages); not counted.
    for (addr, name) in servers {
        wrk_with(
            &["-t2", "-c64", "-d3s"],
            addr,
            "/",
            Some(script),
            &sessions(name),
        )?;
    }
    let lines_before = count_lines(&rust_log);
    let mut posts_to_rust = 0.0;
    for (i, (addr, name)) in servers.iter().enumerate() {
        println!("  POST /api/onboardings, 64 connections: {name}");
        results[i].post64 = wrk_with(
            &["-t2", "-c64", &d],
            *addr,
            "/",
            Some(script),
            &sessions(name),
        )?;
        if i == 0 {
            posts_to_rust = results[i].post64.rps * f64::from(LOAD_SECONDS);
        }
    }
    let log_lines_per_post = (posts_to_rust > 0.0)
        .then(|| (count_lines(&rust_log) - lines_before) as f64 / posts_to_rust);
    // The p99 target holds in each run: the 8-connection comparison, alternating, P99_RUNS
    // times.
    for run in 1..=P99_RUNS {
        for (i, (addr, name)) in servers.iter().enumerate() {
            println!("  POST /api/onboardings, 8 connections, latency, run {run}: {name}");
            let w = wrk_with(
                &["-t2", "-c8", &d, "--latency"],
                *addr,
                "/",
                Some(script),
                &sessions(name),
            )?;
            results[i].post8.push(w);
        }
    }
    let events = event_deliveries(rust_addr)?;
    for (i, (addr, name)) in servers.iter().enumerate() {
        let session = match *name {
            "rust" => create_sessions(*addr, 1)?.pop(),
            _ => None,
        };
        let (id, token) = create_onboarding(*addr, session.as_deref())?;
        let path = format!("/api/onboardings/{id}");
        // The read needs the client token the creation answered (the naive proxy has none).
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}"))
            .unwrap_or_else(|| "X-No-Token: 1".to_owned());
        println!("  GET {path}, 64 connections: {name}");
        results[i].get64 = wrk(&["-t2", "-c64", &d, "-H", &auth], *addr, &path, None)?;
        println!("  GET {path}, 8 connections, latency: {name}");
        results[i].get8 = wrk(
            &["-t2", "-c8", &d, "--latency", "-H", &auth],
            *addr,
            &path,
            None,
        )?;
    }
    results[0].rss_kb = status_kb(rust.child.id(), "VmHWM")?;
    results[1].rss_kb = status_kb(node.child.id(), "VmHWM")?;
    drop(rust);
    drop(node);

    // Start to healthy: spawn -> first 200 on /healthz, alternating, a fresh database each.
    for n in 0..START_RUNS {
        let addr = loopback()?;
        let db = dir.0.join(format!("start-{n}"));
        fs::create_dir_all(&db).map_err(|e| e.to_string())?;
        let mut cmd = live_proxy_command(root, &db, addr, &base);
        results[0]
            .start_ms
            .push(start_to_healthy(&mut cmd, addr, &dir.0)?);
        let addr = loopback()?;
        let mut cmd = naive_command(root, addr, &base);
        results[1]
            .start_ms
            .push(start_to_healthy(&mut cmd, addr, &dir.0)?);
    }
    let [rust, node] = results;
    Ok(Load {
        fake_rps,
        sessions_rps,
        events,
        rust,
        node,
        log_lines_per_post,
    })
}

/// Environment of every proxy started here: nothing inherited that configures it.
pub(super) fn clean_env(cmd: &mut Command) {
    for (k, _) in env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let ours = [
            "YCLOUD_",
            "FB_",
            "GRAPH_",
            "DATABASE_URL",
            "ALLOWED_ORIGINS",
            "RUST_LOG",
            "SANDBOX",
            "ALLOW_UNVERIFIED_ONBOARDINGS",
        ]
        .iter()
        .any(|p| k.starts_with(p));
        if ours {
            cmd.env_remove(&k);
        }
    }
}

/// The proxy in sandbox mode (time to ready: it serves dist/ and /sandbox/sdk.js).
pub(super) fn sandbox_proxy_command(root: &Path, dir: &Path, addr: SocketAddr) -> Command {
    let mut cmd = proxy_command(root, dir, addr);
    cmd.arg("--sandbox");
    cmd
}

/// The proxy with a clean environment, its address and a database in `dir`.
pub(super) fn proxy_command(root: &Path, dir: &Path, addr: SocketAddr) -> Command {
    let mut cmd = Command::new(crate::proxy_binary(root));
    clean_env(&mut cmd);
    cmd.current_dir(dir)
        .env("ADDR", addr.to_string())
        .env("DIST_DIR", root.join("dist"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/bench.db", dir.display()),
        );
    cmd
}

/// The proxy in live mode against the fake YCloud, with a fresh SQLite database in `dir`.
/// Logging stays at the proxy's default (`info`), as deployed. No ownership verification:
/// the fake YCloud has no Graph API beside it, so it has to be allowed explicitly. No
/// per-client rate limit: wrk is one client sending thousands of sign-ups, and the benchmark
/// measures the proxy's work, not its refusals.
pub(super) fn live_proxy_command(root: &Path, dir: &Path, addr: SocketAddr, base: &str) -> Command {
    let mut cmd = proxy_command(root, dir, addr);
    cmd.env("ALLOW_UNVERIFIED_ONBOARDINGS", "true")
        .env("RATE_LIMIT_PER_MINUTE", "0")
        .env("YCLOUD_API_KEY", BENCH_KEY)
        .env("YCLOUD_BASE_URL", base)
        .env("FB_APP_ID", "100000000000001")
        .env("FB_CONFIG_ID", "200000000000002")
        .env("FB_SOLUTION_ID", "300000000000003");
    cmd
}

/// The live proxy as a partner deploys it: the partner API on, every change an event in the
/// outbox, each delivered (signed) to the fake's receiver (`/__partner_webhook`).
pub(super) fn partner_proxy_command(
    root: &Path,
    dir: &Path,
    addr: SocketAddr,
    fake: SocketAddr,
) -> Command {
    let mut cmd = live_proxy_command(root, dir, addr, &format!("http://{fake}/v2"));
    cmd.env("PARTNER_API_KEYS", BENCH_PARTNER_KEY)
        .env(
            "PARTNER_WEBHOOK_URL",
            format!("http://{fake}/__partner_webhook"),
        )
        .env(
            "PARTNER_WEBHOOK_SECRET",
            "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtMzItYnl0ZXMh",
        );
    cmd
}

pub(super) fn naive_command(root: &Path, addr: SocketAddr, base: &str) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(root.join("bench/naive-proxy.mjs"))
        .env("PORT", addr.port().to_string())
        .env("YCLOUD_BASE_URL", base)
        .env("YCLOUD_API_KEY", BENCH_KEY);
    cmd
}

pub(super) fn start_to_healthy(
    cmd: &mut Command,
    addr: SocketAddr,
    dir: &Path,
) -> Result<f64, String> {
    let started = Instant::now();
    let mut server = Server::spawn(cmd, &dir.join("start.log"))?;
    wait_healthy(addr, &mut server.child, Duration::from_secs(30))?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// POSTs one onboarding (with `session`, when given) and returns its id and client token
/// (when the answer has one).
pub(super) fn create_onboarding(
    addr: SocketAddr,
    session: Option<&str>,
) -> Result<(String, Option<String>), String> {
    let session = session
        .map(|s| format!(r#","session":"{s}""#))
        .unwrap_or_default();
    let body = format!(
        r#"{{"mode":"standard","waba_id":"9990001","phone_number_id":"9990002"{session}}}"#
    );
    let (status, text) =
        http(addr, "POST", "/api/onboardings", Some(&body)).map_err(|e| format!("{addr}: {e}"))?;
    if status != 200 && status != 201 {
        return Err(format!("POST /api/onboardings on {addr}: {status} {text}"));
    }
    let field = |name: &str| {
        let key = format!("\"{name}\":\"");
        let start = text.find(&key)? + key.len();
        let end = text[start..].find('"')?;
        Some(text[start..start + end].to_string())
    };
    let id = field("id").ok_or_else(|| format!("no id in {text}"))?;
    Ok((id, field("client_token")))
}

/// `n` sessions through the partner API, four clients at once; their tokens.
pub(super) fn create_sessions(addr: SocketAddr, n: usize) -> Result<Vec<String>, String> {
    let clients = 4;
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || -> Result<Vec<String>, String> {
                let auth = format!("Authorization: Bearer {BENCH_PARTNER_KEY}\r\n");
                (c..n)
                    .step_by(clients)
                    .map(|i| {
                        let body = format!(r#"{{"customer_ref":"bench-{i}"}}"#);
                        let (status, text) =
                            http_with(addr, "POST", "/api/partner/sessions", Some(&body), &auth)
                                .map_err(|e| format!("{addr}: {e}"))?;
                        if status != 201 {
                            return Err(format!("POST /api/partner/sessions: {status} {text}"));
                        }
                        json_string(&text, "token")
                    })
                    .collect()
            })
        })
        .collect();
    let mut tokens = Vec::with_capacity(n);
    for w in workers {
        tokens.extend(
            w.join()
                .map_err(|_| "a session client panicked".to_owned())??,
        );
    }
    Ok(tokens)
}

/// Waits (up to 30 s) for the outbox to deliver what the POST runs emitted; answers
/// (delivered, listed) from the partner API's event feed.
pub(super) fn event_deliveries(addr: SocketAddr) -> Result<(u64, u64), String> {
    let auth = format!("Authorization: Bearer {BENCH_PARTNER_KEY}\r\n");
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let (mut delivered, mut total) = (0u64, 0u64);
        let mut after = String::new();
        loop {
            let path = match after.as_str() {
                "" => "/api/partner/events?limit=100".to_owned(),
                a => format!("/api/partner/events?limit=100&after={a}"),
            };
            let (status, text) =
                http_with(addr, "GET", &path, None, &auth).map_err(|e| format!("{addr}: {e}"))?;
            if status != 200 {
                return Err(format!("GET /api/partner/events: {status} {text}"));
            }
            total += text.matches("\"delivery\":").count() as u64;
            delivered += text.matches("\"state\":\"delivered\"").count() as u64;
            match json_string(&text, "next_cursor") {
                Ok(next) => after = next,
                Err(_) => break,
            }
        }
        if delivered == total || Instant::now() > until {
            return Ok((delivered, total));
        }
        sleep(Duration::from_millis(500));
    }
}

/// The first `"key":"value"` string of a JSON text (xtask has no JSON parser).
pub(super) fn json_string(text: &str, key: &str) -> Result<String, String> {
    let pattern = format!("\"{key}\":\"");
    let start = text
        .find(&pattern)
        .ok_or_else(|| format!("no {key} in {text}"))?
        + pattern.len();
    let end = text[start..]
        .find('"')
        .ok_or_else(|| format!("no {key} in {text}"))?;
    Ok(text[start..start + end].to_string())
}

pub(super) fn wrk(
    args: &[&str],
    addr: SocketAddr,
    path: &str,
    script: Option<&str>,
) -> Result<Wrk, String> {
    wrk_with(args, addr, path, script, &[])
}

/// [`wrk`] with environment variables for its script.
pub(super) fn wrk_with(
    args: &[&str],
    addr: SocketAddr,
    path: &str,
    script: Option<&str>,
    env: &[(&str, String)],
) -> Result<Wrk, String> {
    let mut cmd = Command::new("wrk");
    cmd.args(args);
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    if let Some(s) = script {
        cmd.args(["-s", s]);
    }
    cmd.arg(format!("http://{addr}{path}"));
    let out = cmd.output().map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "wrk {args:?} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut w = Wrk::default();
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            w.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("50%") {
            w.p50_ms = parse_duration_ms(v.trim());
        } else if let Some(v) = t.strip_prefix("99%") {
            w.p99_ms = parse_duration_ms(v.trim());
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            w.non_2xx = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Socket errors:") {
            w.socket_errors = v.trim().to_string();
        }
    }
    println!(
        "    {:.0} req/s{}{}",
        w.rps,
        w.p99_ms
            .map(|p| format!(", p50 {:.2} ms, p99 {p:.2} ms", w.p50_ms.unwrap_or(0.0)))
            .unwrap_or_default(),
        if w.non_2xx > 0 {
            format!(", {} answers not 2xx", w.non_2xx)
        } else {
            String::new()
        }
    );
    Ok(w)
}

/// wrk's `1.23ms`, `456.00us`, `1.50s`, `2.00m`.
pub(super) fn parse_duration_ms(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// A `kB` field of `/proc/PID/status` (`VmHWM`, `VmRSS`).
pub(super) fn status_kb(pid: u32, field: &str) -> Result<u64, String> {
    let status =
        fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("pid {pid}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} for pid {pid}"))
}

pub(super) fn count_lines(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}
