//! `cargo xtask bench`: every measurement side by side in one run, written to BENCHMARKS.md.
//!
//! - bundle: dist/'s wasm + JS, raw and `gzip -9`, against a minimal Leptos CSR counter built
//!   the same way (bench/counter/) and YCloud's plain-JS page (bench/plain-js/);
//! - time to ready in headless Chromium (bench/time-to-ready.mjs), app against plain-JS page;
//! - the proxy under load (wrk) against the proxy crate's fake YCloud (`fake-ycloud
//!   --zero-latency`, the sandbox's answers over HTTP), beside a naive Node.js proxy
//!   (bench/naive-proxy.mjs): throughput, latency percentiles, peak RSS, start time;
//! - growth (bench/growth.rs): the same proxy with 10,000 and 100,000 sign-ups stored, and
//!   with 1,000 event streams open.
//!
//! These are benchmarks, not tests: nothing here fails because a target is missed; the gaps
//! are written down. Everything runs on loopback only.
//!
//! One file over the usual size on purpose: it is a script of sequential measurements, each
//! a function that starts its tools, measures and writes its table; splitting it would only
//! spread one run's order over several files. xtask is std only, so it also carries its own
//! small helpers (percentiles, gzip sizes through the `gzip` command).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::tools::{run as run_cmd, Tools};

mod growth;

/// The targets (README, "Performance").
const TARGET_BUNDLE_GZIP: u64 = 100_000;
const CEILING_BUNDLE_GZIP: u64 = 150_000;
const TARGET_READY_RATIO: f64 = 1.5;
const TARGET_POST_RATIO: f64 = 2.0;
/// POST p99 at 8 connections: at most this share of the naive Node proxy's, same run.
const TARGET_POST_P99_SHARE: f64 = 0.5;
const TARGET_GET_RATIO: f64 = 1.5;
const TARGET_RSS_KB: u64 = 64 * 1024;
const TARGET_START_MS: f64 = 200.0;

const READY_RUNS: usize = 20;
/// The YCloud key both proxies send and the fake YCloud requires.
const BENCH_KEY: &str = "bench-key";
const START_RUNS: usize = 10;
const LOAD_SECONDS: u32 = 10;
/// The partner API key of the benchmarked proxy.
const BENCH_PARTNER_KEY: &str = "bench-partner-key-0123456789abcdef0123";
/// Sessions per wrk run of the POST benchmark: 5 posts each, so up to this × 5 posts per
/// run (runs faster than that would end in refusals, which the report shows).
const SESSIONS_PER_RUN: usize = 8_000;
/// Runs that post with sessions: the warm-up, 64 connections, 8 connections.
const SESSION_RUNS: usize = 3;

/// BENCHMARKS.md keeps everything from this line on across runs (hand-written analysis).
const NOTES_MARKER: &str = "<!-- notes: everything below is kept by `cargo xtask bench` -->";

/// Every benchmark, written to BENCHMARKS.md; or, with `only = Some("growth")`, the growth
/// measurements alone, printed (they need the release proxy only).
pub(crate) fn run(root: &Path, only: Option<&str>) -> Result<(), String> {
    match only {
        None => {}
        Some("growth") => {
            ensure_wrk()?;
            step("build: cargo build --release -p proxy");
            run_cmd(
                Command::new("cargo")
                    .args(["build", "--release", "--quiet", "-p", "proxy"])
                    .current_dir(root),
            )?;
            step("growth: stored sign-ups and open event streams");
            let mut text = String::new();
            growth::render(&mut text, &growth::run(root)?);
            println!("\n{text}");
            return Ok(());
        }
        Some(other) => return Err(format!("bench: unknown part {other:?} (growth)")),
    }
    let tools = Tools::ensure(root, true)?;
    ensure_wrk()?;
    let mut md = Report {
        load_before: loadavg(),
        ..Report::default()
    };

    step("build: cargo xtask build (release bundle and proxy)");
    // Other builds in the same tree share dist/.stage and target/wasm-opt/: trunk fails with
    // "error copying (optimized) wasm file" when one races this one. Try again, twice.
    let mut attempt = 1;
    while let Err(e) = crate::build(root, &tools) {
        if attempt == 3 {
            return Err(e);
        }
        println!("xtask: bench: build failed ({e}); trying again");
        attempt += 1;
    }

    step("bundle sizes");
    let bundle = bundle(root, &tools)?;
    let twiggy = twiggy_by_crate(root, &tools);

    step("time to ready in headless Chromium");
    let ready = time_to_ready(root, &tools)?;

    step("proxy under load");
    let load = proxy_load(root)?;

    step("growth: stored sign-ups and open event streams");
    let growth = growth::run(root)?;

    md.load_after = loadavg();
    let text = md.render(root, &bundle, twiggy.as_deref(), &ready, &load, &growth);
    let path = root.join("BENCHMARKS.md");
    let notes = fs::read_to_string(&path)
        .ok()
        .and_then(|old| old.find(NOTES_MARKER).map(|i| old[i..].to_string()))
        .unwrap_or_else(|| format!("{NOTES_MARKER}\n"));
    fs::write(&path, format!("{text}\n{notes}")).map_err(|e| format!("BENCHMARKS.md: {e}"))?;
    println!("\n{text}");
    println!("xtask: wrote {}", path.display());
    Ok(())
}

fn step(what: &str) {
    println!("\n==> bench: {what}");
}

// ---------------------------------------------------------------------------------------------
// Bundle

struct Sized {
    name: String,
    raw: u64,
    gzip: u64,
}

struct Bundle {
    app: Vec<Sized>,
    /// The partner console's wasm + JS (`dist/console/`), a bundle of its own.
    console: Vec<Sized>,
    app_extra: Vec<Sized>,
    counter: Vec<Sized>,
    plain: Sized,
    counter_build: Duration,
}

fn sized(path: &Path) -> Result<Sized, String> {
    let raw = fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    let out = Command::new("gzip")
        .args(["-9c"])
        .arg(path)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip -9c {} failed", path.display()));
    }
    Ok(Sized {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        raw,
        gzip: out.stdout.len() as u64,
    })
}

/// The wasm and JS module a trunk-built index.html loads (`'/NAME.js'`, `'/NAME_bg.wasm'`).
fn loaded_by_index(dist: &Path) -> Result<Vec<PathBuf>, String> {
    loaded_by_index_at(dist, "/")
}

/// [`loaded_by_index`] for a bundle served under `public_url` (`/console/`).
fn loaded_by_index_at(dist: &Path, public_url: &str) -> Result<Vec<PathBuf>, String> {
    let html = fs::read_to_string(dist.join("index.html"))
        .map_err(|e| format!("{}/index.html: {e}", dist.display()))?;
    let mut found = Vec::new();
    for piece in html.split(['\'', '"']) {
        let name = piece
            .strip_prefix(public_url)
            .unwrap_or(piece)
            .trim_start_matches('/');
        let wanted = (name.ends_with(".js") || name.ends_with(".wasm"))
            && !name.contains('/')
            && !name.contains(' ');
        let path = dist.join(name);
        if wanted && !found.contains(&path) {
            if !path.exists() {
                return Err(format!(
                    "{}/index.html loads {name}, which is missing (a build racing this one?)",
                    dist.display()
                ));
            }
            found.push(path);
        }
    }
    if !found
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "wasm"))
    {
        return Err(format!("{}/index.html loads no .wasm", dist.display()));
    }
    Ok(found)
}

fn bundle(root: &Path, tools: &Tools) -> Result<Bundle, String> {
    let dist = root.join("dist");
    let app_files = loaded_by_index(&dist)?;
    let app = app_files
        .iter()
        .map(|p| sized(p))
        .collect::<Result<Vec<_>, _>>()?;
    // Other JS in dist/ (e.g. an embed loader) is listed apart, not added to the total.
    let mut app_extra = Vec::new();
    for entry in fs::read_dir(&dist).map_err(|e| format!("dist: {e}"))? {
        let path = entry.map_err(|e| format!("dist: {e}"))?.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ["js", "css"].contains(&ext) && !app_files.contains(&path) {
            app_extra.push(sized(&path)?);
        }
    }
    app_extra.sort_by(|a, b| a.name.cmp(&b.name));
    // The partner console, built beside the widget by `cargo xtask build`.
    let console = loaded_by_index_at(&dist.join("console"), "/console/")?
        .iter()
        .map(|p| sized(p))
        .collect::<Result<Vec<_>, _>>()?;

    // The counter: same lock file, same trunk and tools, its own target dir.
    let counter_dir = root.join("bench/counter");
    fs::copy(root.join("Cargo.lock"), counter_dir.join("Cargo.lock"))
        .map_err(|e| format!("bench/counter/Cargo.lock: {e}"))?;
    let target = root.join("target/bench-counter");
    run_cmd(
        Command::new("cargo")
            .args(["fetch", "--quiet"])
            .current_dir(&counter_dir),
    )?;
    let started = Instant::now();
    run_cmd(
        tools
            .command("trunk")
            .args(["build", "--release", "--offline"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(&counter_dir),
    )?;
    let counter_build = started.elapsed();
    let counter = loaded_by_index(&counter_dir.join("dist"))?
        .iter()
        .map(|p| sized(p))
        .collect::<Result<Vec<_>, _>>()?;
    let plain = sized(&root.join("bench/plain-js/index.html"))?;
    Ok(Bundle {
        app,
        console,
        app_extra,
        counter,
        plain,
        counter_build,
    })
}

fn total(files: &[Sized]) -> (u64, u64) {
    files
        .iter()
        .fold((0, 0), |(r, g), f| (r + f.raw, g + f.gzip))
}

/// Where the wasm's bytes go, by crate: `twiggy top` (CSV) of the app's and the counter's
/// wasm before wasm-bindgen and wasm-opt (they still have their names), summed per crate.
/// The custom sections, the name section and wasm-bindgen's `__wbindgen_describe*` functions
/// are left out: wasm-bindgen and wasm-opt remove them. None when twiggy is not installed.
fn twiggy_by_crate(root: &Path, tools: &Tools) -> Option<String> {
    let app = crate_sizes(
        tools,
        &root.join("target/wasm32-unknown-unknown/release/wa-signup.wasm"),
    )?;
    let counter = crate_sizes(
        tools,
        &root.join("target/bench-counter/wasm32-unknown-unknown/release/counter.wasm"),
    )
    .unwrap_or_default();
    let app_total: u64 = app.iter().map(|(_, n)| n).sum();
    let counter_total: u64 = counter.iter().map(|(_, n)| n).sum();
    let mut out = String::from(
        "| crate | app, bytes before wasm-opt | share | counter | app − counter |\n|---|---|---|---|---|\n",
    );
    for (name, n) in app.iter().take(16) {
        let c = counter
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "| `{name}` | {n} | {:.1} % | {c} | {:+} |",
            100.0 * *n as f64 / app_total as f64,
            *n as i64 - c as i64
        );
    }
    let _ = writeln!(
        out,
        "| **all** | **{app_total}** | 100 % | **{counter_total}** | **{:+}** |",
        app_total as i64 - counter_total as i64
    );
    Some(out)
}

fn crate_sizes(tools: &Tools, wasm: &Path) -> Option<Vec<(String, u64)>> {
    if !wasm.exists() {
        return None;
    }
    let out = tools
        .command("twiggy")
        .args(["top", "--format", "csv"])
        .arg(wasm)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sizes: Vec<(String, u64)> = Vec::new();
    for line in text.lines().skip(1) {
        let fields = csv_fields(line);
        let (Some(name), Some(size)) = (fields.first(), fields.get(1)) else {
            continue;
        };
        let Ok(size) = size.parse::<u64>() else {
            continue;
        };
        if name.starts_with("custom section")
            || name.contains("function names")
            || name.contains("__wbindgen_describe")
        {
            continue;
        }
        let krate = crate_of(name);
        match sizes.iter_mut().find(|(k, _)| *k == krate) {
            Some((_, n)) => *n += size,
            None => sizes.push((krate, size)),
        }
    }
    sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
    Some(sizes)
}

/// The crate a demangled item belongs to: `<T as tachys::view::Render>::build` -> `tachys`.
fn crate_of(name: &str) -> String {
    if name.starts_with("data segment") {
        return "(data: strings, tables)".into();
    }
    if name.starts_with("import ") {
        return "(imports from JS)".into();
    }
    if !name.contains("::") {
        return "(no path: exports, glue)".into();
    }
    let mut m = name;
    for _ in 0..5 {
        m = m.trim_start_matches(['<', '&', '*', ' ']);
        for p in ["dyn ", "mut ", "impl "] {
            m = m.strip_prefix(p).unwrap_or(m);
        }
        match m.split_once(" as ") {
            Some((lhs, rhs)) if lhs.chars().all(|c| c.is_alphanumeric() || c == '_') => m = rhs,
            _ => break,
        }
    }
    let end = m.find([':', '<', '[', ' ', '(']).unwrap_or(m.len());
    m[..end].to_string()
}

/// The fields of one CSV line (double quotes, `""` inside them).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

// ---------------------------------------------------------------------------------------------
// Time to ready

struct Ready {
    app_median: f64,
    plain_median: f64,
    app_range: (f64, f64),
    plain_range: (f64, f64),
    runs: usize,
    samples: String,
}

fn time_to_ready(root: &Path, tools: &Tools) -> Result<Ready, String> {
    let dir = TempDir::new("ready")?;
    let port = free_port()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut cmd = sandbox_proxy_command(root, &dir.0, addr);
    let mut proxy = Server::spawn(&mut cmd, &dir.0.join("proxy.log"))?;
    wait_healthy(addr, &mut proxy.child, Duration::from_secs(30))?;
    let out = tools
        .command("node")
        .arg(root.join("bench/time-to-ready.mjs"))
        .arg(format!("http://{addr}"))
        .arg(READY_RUNS.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("node: {e}"))?;
    drop(proxy);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("bench/time-to-ready.mjs failed:\n{text}"));
    }
    let get = |page: &str, stat: &str| -> Result<f64, String> {
        let prefix = format!("RESULT {page} {stat} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("time-to-ready.mjs printed no {prefix}:\n{text}"))
    };
    Ok(Ready {
        app_median: get("app", "median")?,
        plain_median: get("plain", "median")?,
        app_range: (get("app", "min")?, get("app", "max")?),
        plain_range: (get("plain", "min")?, get("plain", "max")?),
        runs: get("app", "runs")? as usize,
        samples: text
            .lines()
            .filter(|l| l.starts_with("SAMPLES") || l.starts_with("PHASES"))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

// ---------------------------------------------------------------------------------------------
// Proxy under load

#[derive(Default, Clone)]
struct Wrk {
    rps: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    non_2xx: u64,
    socket_errors: String,
}

#[derive(Default)]
struct ServerResults {
    post64: Wrk,
    post8: Wrk,
    get64: Wrk,
    get8: Wrk,
    rss_kb: u64,
    start_ms: Vec<f64>,
}

struct Load {
    fake_rps: f64,
    /// `POST /api/partner/sessions` per second, four clients, a new connection each.
    sessions_rps: f64,
    /// Partner events delivered to the webhook receiver by the end of the POST runs, and
    /// stored: (delivered, total).
    events: (u64, u64),
    rust: ServerResults,
    node: ServerResults,
    log_lines_per_post: Option<f64>,
}

fn proxy_load(root: &Path) -> Result<Load, String> {
    // The fake YCloud, built with the proxy, measured alone: it must not be what limits the
    // proxies. wrk reads a WABA (a GET: no script needed), with the key the fake requires.
    let dir = TempDir::new("load")?;
    let fake_addr = loopback()?;
    let mut fake = Server::spawn(
        Command::new(crate::fake_ycloud_binary(root))
            .arg(fake_addr.port().to_string())
            .args(["--api-key", BENCH_KEY, "--zero-latency"]),
        &dir.0.join("fake.log"),
    )?;
    wait_listening(fake_addr, &mut fake.child)?;
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
    for (i, (addr, name)) in servers.iter().enumerate() {
        println!("  POST /api/onboardings, 8 connections, latency: {name}");
        results[i].post8 = wrk_with(
            &["-t2", "-c8", &d, "--latency"],
            *addr,
            "/",
            Some(script),
            &sessions(name),
        )?;
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
fn clean_env(cmd: &mut Command) {
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
fn sandbox_proxy_command(root: &Path, dir: &Path, addr: SocketAddr) -> Command {
    let mut cmd = proxy_command(root, dir, addr);
    cmd.arg("--sandbox");
    cmd
}

/// The proxy with a clean environment, its address and a database in `dir`.
fn proxy_command(root: &Path, dir: &Path, addr: SocketAddr) -> Command {
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
fn live_proxy_command(root: &Path, dir: &Path, addr: SocketAddr, base: &str) -> Command {
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
fn partner_proxy_command(root: &Path, dir: &Path, addr: SocketAddr, fake: SocketAddr) -> Command {
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

fn naive_command(root: &Path, addr: SocketAddr, base: &str) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(root.join("bench/naive-proxy.mjs"))
        .env("PORT", addr.port().to_string())
        .env("YCLOUD_BASE_URL", base)
        .env("YCLOUD_API_KEY", BENCH_KEY);
    cmd
}

fn start_to_healthy(cmd: &mut Command, addr: SocketAddr, dir: &Path) -> Result<f64, String> {
    let started = Instant::now();
    let mut server = Server::spawn(cmd, &dir.join("start.log"))?;
    wait_healthy(addr, &mut server.child, Duration::from_secs(30))?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// POSTs one onboarding (with `session`, when given) and returns its id and client token
/// (when the answer has one).
fn create_onboarding(
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
fn create_sessions(addr: SocketAddr, n: usize) -> Result<Vec<String>, String> {
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
fn event_deliveries(addr: SocketAddr) -> Result<(u64, u64), String> {
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
fn json_string(text: &str, key: &str) -> Result<String, String> {
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

fn wrk(args: &[&str], addr: SocketAddr, path: &str, script: Option<&str>) -> Result<Wrk, String> {
    wrk_with(args, addr, path, script, &[])
}

/// [`wrk`] with environment variables for its script.
fn wrk_with(
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
fn parse_duration_ms(v: &str) -> Option<f64> {
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
fn status_kb(pid: u32, field: &str) -> Result<u64, String> {
    let status =
        fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("pid {pid}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} for pid {pid}"))
}

fn count_lines(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Processes, ports, HTTP

/// A child process killed when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn spawn(cmd: &mut Command, log: &Path) -> Result<Server, String> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
        Ok(Server { child })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = env::temp_dir().join(format!("wa-bench-{what}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("bind: {e}"))
}

fn loopback() -> Result<SocketAddr, String> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

/// A minimal HTTP/1.1 request (`Connection: close`); the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    http_with(addr, method, path, body, "")
}

/// [`http`] with extra header lines (each ending in `\r\n`).
fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `GET /healthz` every millisecond until it answers 200.
fn wait_healthy(addr: SocketAddr, child: &mut Child, limit: Duration) -> Result<(), String> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "server on {addr} exited ({status}) before it was healthy"
            ));
        }
        if let Ok((200, _)) = http(addr, "GET", "/healthz", None) {
            return Ok(());
        }
        sleep(Duration::from_millis(1));
    }
    Err(format!("server on {addr} not healthy within {limit:?}"))
}

fn wait_listening(addr: SocketAddr, child: &mut Child) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("fake on {addr} exited ({status})"));
        }
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        sleep(Duration::from_millis(5));
    }
    Err(format!("fake on {addr} not listening within 30 s"))
}

/// wrk from Debian, installed when missing (like Chromium in tools.rs).
fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return Ok(());
    }
    println!("xtask: installing Debian's wrk: missing; it loads the proxy in the benchmark");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(if root { "apt-get" } else { "sudo" });
        if !root {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run_cmd(&mut apt(&["update", "-qq"]))?;
    run_cmd(&mut apt(&["install", "-y", "-qq", "wrk"]))
}

// ---------------------------------------------------------------------------------------------
// The report

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let m = s.len() / 2;
    if s.is_empty() {
        f64::NAN
    } else if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**missed**"
    }
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            t.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_else(|| "?".into())
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[derive(Default)]
struct Report {
    load_before: String,
    load_after: String,
}

impl Report {
    fn render(
        &self,
        root: &Path,
        b: &Bundle,
        twiggy: Option<&str>,
        r: &Ready,
        l: &Load,
        g: &growth::Growth,
    ) -> String {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| "?".into());
        let ram = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
            .map(|k| format!("{:.1} GiB", k / 1024.0 / 1024.0))
            .unwrap_or_else(|| "?".into());
        let nproc = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let date = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
        let commit = first_line(
            "git",
            &["-C", root.to_str().unwrap(), "rev-parse", "--short", "HEAD"],
        );
        let dirty = Command::new("git")
            .args([
                "-C",
                root.to_str().unwrap(),
                "status",
                "--porcelain",
                "--untracked-files=no",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
            .unwrap_or(0);

        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(w, "# Benchmarks\n");
        let _ = writeln!(
            w,
            "Written by `cargo xtask bench` (xtask/src/bench.rs, scripts in `bench/`); rerun it \
             to refresh everything above the notes. These are measurements, not tests: a missed \
             target is reported here, nothing fails.\n"
        );
        let _ = writeln!(w, "## Machine and run\n");
        let _ = writeln!(w, "| | |\n|---|---|");
        let _ = writeln!(w, "| date | {date} |");
        let _ = writeln!(w, "| CPU | {cpu} |");
        let _ = writeln!(w, "| cores (nproc) | {nproc} |");
        let _ = writeln!(w, "| RAM | {ram} |");
        let _ = writeln!(
            w,
            "| load average (1/5/15 min) | {} at start, {} at end |",
            self.load_before, self.load_after
        );
        let _ = writeln!(
            w,
            "| tree | commit {commit}{} |",
            if dirty > 0 {
                format!(" plus {dirty} modified tracked files (other work in progress was measured too)")
            } else {
                String::new()
            }
        );
        let _ = writeln!(w, "| rustc | {} |", first_line("rustc", &["--version"]));
        let _ = writeln!(w, "| node | {} |", first_line("node", &["--version"]));
        let _ = writeln!(
            w,
            "| chromium | {} |",
            first_line("/usr/bin/chromium", &["--version"])
        );
        let _ = writeln!(w, "| wrk | {} |", first_line("wrk", &["--version"]));
        let _ = writeln!(
            w,
            "\nThe machine is shared: {nproc} cores, with other engineers' builds running during \
             the run (see the load average). Every figure is noisy; times are medians, and the \
             load generator (wrk), the servers and the fake YCloud all share the same cores, so \
             absolute throughput is a floor, and the ratios are what to read.\n"
        );

        // Bundle
        let (app_raw, app_gz) = total(&b.app);
        let (c_raw, c_gz) = total(&b.counter);
        let _ = writeln!(w, "## Results against the targets\n");
        let _ = writeln!(w, "| measure | app / proxy | baseline | target | result |");
        let _ = writeln!(w, "|---|---|---|---|---|");
        let _ = writeln!(
            w,
            "| bundle, wasm + JS, gzip -9 | {} | counter {}, plain-JS page {} | ≤ {} (ceiling {}) | {}{} |",
            kb(app_gz),
            kb(c_gz),
            kb(b.plain.gzip),
            kb(TARGET_BUNDLE_GZIP),
            kb(CEILING_BUNDLE_GZIP),
            verdict(app_gz <= TARGET_BUNDLE_GZIP),
            if app_gz > TARGET_BUNDLE_GZIP {
                format!(
                    ": {} over the target{}",
                    kb(app_gz - TARGET_BUNDLE_GZIP),
                    if app_gz > CEILING_BUNDLE_GZIP {
                        format!(", {} over the ceiling", kb(app_gz - CEILING_BUNDLE_GZIP))
                    } else {
                        ", under the ceiling".into()
                    }
                )
            } else {
                String::new()
            }
        );
        let (console_raw, console_gz) = total(&b.console);
        let _ = writeln!(
            w,
            "| partner console bundle, wasm + JS, gzip -9 (its own, not loaded by the widget) | {} | widget {} | none (its own page; the widget's bundle must not grow) | reported, {} raw |",
            kb(console_gz),
            kb(app_gz),
            kb(console_raw)
        );
        let ratio = r.app_median / r.plain_median;
        let _ = writeln!(
            w,
            "| time to ready, median of {} | {:.0} ms | plain-JS page {:.0} ms | ≤ {TARGET_READY_RATIO} × plain | {} ({ratio:.2} ×) |",
            r.runs, r.app_median, r.plain_median, verdict(ratio <= TARGET_READY_RATIO)
        );
        let post_ratio = l.rust.post64.rps / l.node.post64.rps;
        let _ = writeln!(
            w,
            "| POST /api/onboardings, 64 connections | {:.0} req/s | Node {:.0} req/s | ≥ {TARGET_POST_RATIO} × Node | {} ({post_ratio:.2} ×) |",
            l.rust.post64.rps, l.node.post64.rps, verdict(post_ratio >= TARGET_POST_RATIO)
        );
        let p99 = l.rust.post8.p99_ms.unwrap_or(f64::NAN);
        let node_p99 = l.node.post8.p99_ms.unwrap_or(f64::NAN);
        let _ = writeln!(
            w,
            "| POST p99, 8 connections | {p99:.2} ms | Node {node_p99:.2} ms | ≤ {TARGET_POST_P99_SHARE} × Node's | {} ({:.2} ×) |",
            verdict(p99 <= TARGET_POST_P99_SHARE * node_p99),
            p99 / node_p99
        );
        let get_ratio = l.rust.get64.rps / l.node.get64.rps;
        let _ = writeln!(
            w,
            "| GET /api/onboardings/{{id}}, 64 connections | {:.0} req/s | Node {:.0} req/s | ≥ {TARGET_GET_RATIO} × Node | {} ({get_ratio:.2} ×) |",
            l.rust.get64.rps, l.node.get64.rps, verdict(get_ratio >= TARGET_GET_RATIO)
        );
        let _ = writeln!(
            w,
            "| peak RSS (VmHWM) after all load | {:.1} MB | Node {:.1} MB | ≤ 64 MB | {} |",
            l.rust.rss_kb as f64 / 1024.0,
            l.node.rss_kb as f64 / 1024.0,
            verdict(l.rust.rss_kb <= TARGET_RSS_KB)
        );
        let start = median(&l.rust.start_ms);
        let _ = writeln!(
            w,
            "| start to healthy, median of {} | {start:.0} ms | Node {:.0} ms | ≤ {TARGET_START_MS} ms | {} |",
            l.rust.start_ms.len(),
            median(&l.node.start_ms),
            verdict(start <= TARGET_START_MS)
        );
        let _ = writeln!(w, "\nKB = 1000 bytes; MB = 2^20 bytes.\n");

        // Details: bundle
        let _ = writeln!(w, "## Bundle\n");
        let _ = writeln!(w, "| file | raw | gzip -9 |\n|---|---|---|");
        for f in &b.app {
            let _ = writeln!(
                w,
                "| app: `dist/{}` | {} | {} |",
                f.name,
                kb(f.raw),
                kb(f.gzip)
            );
        }
        let _ = writeln!(
            w,
            "| **app total (wasm + JS the page loads)** | **{}** | **{}** |",
            kb(app_raw),
            kb(app_gz)
        );
        for f in &b.console {
            let _ = writeln!(
                w,
                "| console: `dist/console/{}` | {} | {} |",
                f.name,
                kb(f.raw),
                kb(f.gzip)
            );
        }
        let _ = writeln!(
            w,
            "| **partner console total (its own page, `/console`)** | **{}** | **{}** |",
            kb(console_raw),
            kb(console_gz)
        );
        for f in &b.counter {
            let _ = writeln!(
                w,
                "| counter: `bench/counter/dist/{}` | {} | {} |",
                f.name,
                kb(f.raw),
                kb(f.gzip)
            );
        }
        let _ = writeln!(
            w,
            "| **Leptos counter total** | **{}** | **{}** |",
            kb(c_raw),
            kb(c_gz)
        );
        let _ = writeln!(
            w,
            "| plain-JS page: `bench/plain-js/index.html` (all of it; the SDK is not counted for any page) | {} | {} |",
            kb(b.plain.raw),
            kb(b.plain.gzip)
        );
        for f in &b.app_extra {
            let _ = writeln!(
                w,
                "| not in the total: `dist/{}` | {} | {} |",
                f.name,
                kb(f.raw),
                kb(f.gzip)
            );
        }
        let _ = writeln!(
            w,
            "\nThe app is {:.1} × the Leptos counter (gzip): {} of the app's own code and \
             dependencies on top of the framework's floor. The counter is built exactly like the \
             app (same Cargo.lock, trunk 0.21.14 --release --offline, opt-level z, LTO, one \
             codegen unit, panic abort, wasm-opt -Oz); its build took {:.0} s this run.\n",
            app_gz as f64 / c_gz as f64,
            kb(app_gz.saturating_sub(c_gz)),
            b.counter_build.as_secs_f64()
        );
        match twiggy {
            Some(t) => {
                let _ = writeln!(
                    w,
                    "Where the wasm goes, by crate (`twiggy top --format csv` of \
                     `target/wasm32-unknown-unknown/release/wa-signup.wasm` and of the counter's, \
                     summed per crate; before wasm-bindgen and wasm-opt, without the sections \
                     they remove, so read the sizes as shares of the shipped wasm):\n\n{t}"
                );
            }
            None => {
                let _ = writeln!(
                    w,
                    "(twiggy is not installed: no per-crate breakdown this run; \
                     `cargo install twiggy` adds it.)\n"
                );
            }
        }

        // Details: time to ready
        let _ = writeln!(w, "## Time to ready\n");
        let _ = writeln!(
            w,
            "Navigation start to ready in headless Chromium, a fresh context per load, the two \
             pages alternating, one warm-up load of each not counted. App: \
             `[data-testid=launch-standard]` present and enabled (served by the proxy in sandbox \
             mode: `/api/config`, then `/sandbox/sdk.js`). Plain-JS page: its button present and \
             `FB.init` run (the same SDK stand-in bytes, served at `/sdk.js` by the script).\n"
        );
        let _ = writeln!(w, "| page | median | min | max |\n|---|---|---|---|");
        let _ = writeln!(
            w,
            "| app | {:.1} ms | {:.1} ms | {:.1} ms |",
            r.app_median, r.app_range.0, r.app_range.1
        );
        let _ = writeln!(
            w,
            "| plain-JS | {:.1} ms | {:.1} ms | {:.1} ms |",
            r.plain_median, r.plain_range.0, r.plain_range.1
        );
        let _ = writeln!(
            w,
            "\nSamples (ms), then the medians of when each resource started and finished \
             loading and of the app's milestones (ms from the navigation start): \
             `wasm_end` is the last byte received, not compiled; `app_started` is trunk's \
             `TrunkApplicationStarted` (the wasm compiled and instantiated, the app's main \
             run); `fb_init` is `FB.init` called; `button` the launch button first in the \
             page, enabled or not."
        );
        let _ = writeln!(w, "\n```\n{}\n```\n", r.samples);

        // Details: proxy
        let _ = writeln!(w, "## Proxy under load\n");
        let _ = writeln!(
            w,
            "The Rust proxy (`target/release/wa-signup-proxy`, live mode, a fresh SQLite \
             database in a temporary directory, default logging at `info` into a file) and the \
             naive Node.js proxy (`bench/naive-proxy.mjs`: the same two upstream calls, no \
             validation, an in-memory Map) run side by side against one zero-latency fake \
             YCloud; each measurement runs on one server, then on the other, after a 3 s \
             warm-up of each.\n"
        );
        let _ = writeln!(
            w,
            "The Rust proxy runs as a partner deploys it: every POST carries a session token \
             (created beforehand through the partner API, {:.0} sessions/s from four clients; \
             a fresh one every 5 posts), and every change writes a partner event in the same \
             transaction, delivered signed to a webhook receiver (the fake's \
             `/__partner_webhook`) while the load runs: {} of {} events delivered 30 s after \
             the last POST run.\n",
            l.sessions_rps, l.events.0, l.events.1
        );
        // Each POST makes two calls to the fake (tp/bind, register).
        let calls = 2.0 * l.rust.post64.rps.max(l.node.post64.rps);
        let _ = writeln!(
            w,
            "Fake YCloud alone (`target/release/fake-ycloud --zero-latency`, the sandbox's fake \
             over HTTP; `wrk -t2 -c64 -d5s`, GET of a WABA): {:.0} req/s, {:.1} × the {calls:.0} \
             calls/s the busier proxy made at 64 connections (two per POST), {}.\n",
            l.fake_rps,
            l.fake_rps / calls,
            if l.fake_rps >= 3.0 * calls {
                "so the fake is not what limits the proxies"
            } else {
                "so the fake may be what limits the proxies: read the POST figures with that in mind"
            }
        );
        let _ = writeln!(
            w,
            "| measure | Rust proxy | naive Node proxy | Rust / Node |\n|---|---|---|---|"
        );
        let row = |w: &mut String, what: &str, a: &Wrk, b: &Wrk| {
            let _ = writeln!(
                w,
                "| {what} req/s | {:.0} | {:.0} | {:.2} × |",
                a.rps,
                b.rps,
                a.rps / b.rps
            );
        };
        let lat = |w: &mut String, what: &str, a: &Wrk, b: &Wrk| {
            let f = |x: Option<f64>| {
                x.map(|v| format!("{v:.2} ms"))
                    .unwrap_or_else(|| "?".into())
            };
            let _ = writeln!(w, "| {what} p50 | {} | {} | |", f(a.p50_ms), f(b.p50_ms));
            let _ = writeln!(w, "| {what} p99 | {} | {} | |", f(a.p99_ms), f(b.p99_ms));
        };
        row(w, "POST, 64 connections,", &l.rust.post64, &l.node.post64);
        row(w, "POST, 8 connections,", &l.rust.post8, &l.node.post8);
        lat(w, "POST, 8 connections,", &l.rust.post8, &l.node.post8);
        row(w, "GET, 64 connections,", &l.rust.get64, &l.node.get64);
        row(w, "GET, 8 connections,", &l.rust.get8, &l.node.get8);
        lat(w, "GET, 8 connections,", &l.rust.get8, &l.node.get8);
        let _ = writeln!(
            w,
            "| peak RSS (VmHWM) | {:.1} MB | {:.1} MB | |",
            l.rust.rss_kb as f64 / 1024.0,
            l.node.rss_kb as f64 / 1024.0
        );
        let _ = writeln!(
            w,
            "| start to healthy, median of {} | {:.0} ms | {:.0} ms | |",
            START_RUNS,
            median(&l.rust.start_ms),
            median(&l.node.start_ms)
        );
        let errs: Vec<String> = [
            ("Rust POST 64", &l.rust.post64),
            ("Rust POST 8", &l.rust.post8),
            ("Rust GET 64", &l.rust.get64),
            ("Rust GET 8", &l.rust.get8),
            ("Node POST 64", &l.node.post64),
            ("Node POST 8", &l.node.post8),
            ("Node GET 64", &l.node.get64),
            ("Node GET 8", &l.node.get8),
        ]
        .iter()
        .filter(|(_, r)| r.non_2xx > 0 || !r.socket_errors.is_empty())
        .map(|(n, r)| {
            format!(
                "{n}: {} answers not 2xx{}",
                r.non_2xx,
                if r.socket_errors.is_empty() {
                    String::new()
                } else {
                    format!(", socket errors {}", r.socket_errors)
                }
            )
        })
        .collect();
        let _ = writeln!(
            w,
            "\nErrors during the runs: {}.",
            if errs.is_empty() {
                "none (every answer 2xx, no socket errors)".to_string()
            } else {
                errs.join("; ")
            }
        );
        if let Some(per) = l.log_lines_per_post {
            let _ = writeln!(
                w,
                "The Rust proxy wrote {per:.1} log lines per POST at its default level (`info`).",
            );
        }
        let fmt = |xs: &[f64]| {
            xs.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            w,
            "Start-to-healthy samples (ms), Rust: {}; Node: {}.\n",
            fmt(&l.rust.start_ms),
            fmt(&l.node.start_ms)
        );

        growth::render(w, g);

        let _ = writeln!(w, "## Commands\n");
        let _ = writeln!(
            w,
            "```sh\ncargo xtask bench   # all of the below, then rewrites this file above the notes\n\
             cargo xtask bench growth   # only the growth section, printed\n\
             python3 bench/seed-onboardings.py DIR/bench.db COPIES   # copies of its one sign-up\n\
             cargo xtask build   # release bundle (trunk --release --offline) and proxy\n\
             (cd bench/counter && cp ../../Cargo.lock . && cargo fetch && \\\n  \
             CARGO_TARGET_DIR=../../target/bench-counter trunk build --release --offline)\n\
             gzip -9c FILE | wc -c\n\
             node bench/time-to-ready.mjs http://PROXY_IN_SANDBOX_MODE {READY_RUNS}\n\
             target/release/fake-ycloud FAKE --api-key bench-key --zero-latency\n\
             YCLOUD_API_KEY=bench-key YCLOUD_BASE_URL=http://127.0.0.1:FAKE/v2 \\\n  \
             FB_APP_ID=100000000000001 FB_CONFIG_ID=200000000000002 FB_SOLUTION_ID=300000000000003 \\\n  \
             DATABASE_URL=sqlite:///tmp/DIR/bench.db ADDR=127.0.0.1:RUST target/release/wa-signup-proxy\n\
             PORT=NODE YCLOUD_BASE_URL=http://127.0.0.1:FAKE/v2 YCLOUD_API_KEY=bench-key node bench/naive-proxy.mjs\n\
             wrk -t2 -c64 -d{LOAD_SECONDS}s -s bench/post-onboardings.lua http://127.0.0.1:PORT/\n\
             wrk -t2 -c8 -d{LOAD_SECONDS}s --latency -s bench/post-onboardings.lua http://127.0.0.1:PORT/\n\
             wrk -t2 -c64 -d{LOAD_SECONDS}s http://127.0.0.1:PORT/api/onboardings/ID\n\
             wrk -t2 -c8 -d{LOAD_SECONDS}s --latency http://127.0.0.1:PORT/api/onboardings/ID\n\
             grep VmHWM /proc/PID/status\n```"
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_of_demangled_items() {
        assert_eq!(crate_of("wa_signup::flow::Flow::step::hb6f"), "wa_signup");
        assert_eq!(
            crate_of("<T as tachys::view::any_view::IntoAny>::into_any::build::hec5"),
            "tachys"
        );
        assert_eq!(
            crate_of("<dlmalloc[e24a]::dlmalloc::Dlmalloc<dlmalloc[e24a]::sys::System>>::malloc"),
            "dlmalloc"
        );
        assert_eq!(
            crate_of("data segment \".rodata\""),
            "(data: strings, tables)"
        );
        assert_eq!(crate_of("import wbg::__wbg_set_1"), "(imports from JS)");
    }

    #[test]
    fn csv_and_durations() {
        assert_eq!(
            csv_fields(r#""export ""x"", y",12,0.5,,"#),
            vec![r#"export "x", y"#, "12", "0.5", "", ""]
        );
        assert_eq!(parse_duration_ms("456.00us"), Some(0.456));
        assert_eq!(parse_duration_ms("1.50s"), Some(1500.0));
        assert_eq!(parse_duration_ms("2.5ms"), Some(2.5));
    }
}
