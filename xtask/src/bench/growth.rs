//! How the proxy's costs grow with what it holds: POST latency, start time and memory with
//! 10,000 and 100,000 sign-ups already stored, and memory with 1,000 event streams open.
//!
//! The stored sign-ups are copies of one real one (bench/seed-onboardings.py): the template
//! goes through the real POST with a session and its events are delivered, then the rows are
//! copied with fresh identifiers. Each size gets its own database and proxy, measured the
//! same way, so the slope between them is the cost of the stored rows alone.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::{
    create_sessions, event_deliveries, http, live_proxy_command, loopback, partner_proxy_command,
    status_kb, wait_healthy, wait_listening, wrk_with, Server, TempDir, Wrk, BENCH_KEY,
    LOAD_SECONDS,
};

/// Sign-ups stored before each measurement (the template itself is the 1).
pub(super) const SIZES: [usize; 3] = [1, 10_000, 100_000];
/// Event streams opened, in steps, on one proxy.
const STREAM_STEPS: [usize; 3] = [250, 500, 1_000];
/// Sessions per wrk run here: 5 posts each (the 8-connection run stays far below this).
const SESSIONS: usize = 4_000;

/// One stored size, measured.
pub(super) struct Point {
    pub stored: usize,
    pub start_ms: f64,
    /// VmRSS a second after start, before any load.
    pub idle_kb: u64,
    pub post8: Wrk,
    /// VmRSS and VmHWM after the POST run.
    pub after_kb: u64,
    pub hwm_kb: u64,
    /// The database file and its WAL, after the run.
    pub db_bytes: u64,
}

/// Memory with event streams open on pending sign-ups.
pub(super) struct Streams {
    pub onboardings: usize,
    /// VmRSS with the pending sign-ups and no stream.
    pub base_kb: u64,
    /// (streams open, VmRSS).
    pub steps: Vec<(usize, u64)>,
}

pub(super) struct Growth {
    pub points: Vec<Point>,
    pub streams: Streams,
}

pub(super) fn run(root: &Path) -> Result<Growth, String> {
    ensure_python()?;
    let dir = TempDir::new("growth")?;
    let fake_addr = loopback()?;
    let mut fake = Server::spawn(
        Command::new(crate::fake_ycloud_binary(root))
            .arg(fake_addr.port().to_string())
            .args(["--api-key", BENCH_KEY, "--zero-latency"]),
        &dir.0.join("fake.log"),
    )?;
    wait_listening(fake_addr, &mut fake.child)?;
    let mut points = Vec::new();
    for stored in SIZES {
        points.push(point(root, &dir.0, fake_addr, stored)?);
    }
    drop(fake);
    let streams = streams(root, &dir.0)?;
    Ok(Growth { points, streams })
}

fn point(root: &Path, dir: &Path, fake: SocketAddr, stored: usize) -> Result<Point, String> {
    println!("  {stored} sign-ups stored");
    let db = dir.join(format!("stored-{stored}"));
    fs::create_dir_all(&db).map_err(|e| e.to_string())?;
    let log = dir.join(format!("proxy-{stored}.log"));

    // The template: one real sign-up with a session, its events delivered.
    let addr = loopback()?;
    let mut proxy = Server::spawn(&mut partner_proxy_command(root, &db, addr, fake), &log)?;
    wait_healthy(addr, &mut proxy.child, Duration::from_secs(30))?;
    let token = create_sessions(addr, 1)?
        .pop()
        .ok_or("no session for the template")?;
    let body = format!(
        r#"{{"mode":"standard","waba_id":"7700000000000000001","phone_number_id":"8800000000000000001","session":"{token}"}}"#
    );
    let (status, text) =
        http(addr, "POST", "/api/onboardings", Some(&body)).map_err(|e| format!("{addr}: {e}"))?;
    if status != 201 || !text.contains("\"state\":\"connected\"") {
        return Err(format!("the template sign-up: {status} {text}"));
    }
    let (delivered, total) = event_deliveries(addr)?;
    if delivered != total {
        return Err(format!(
            "the template's events: {delivered} of {total} delivered"
        ));
    }
    drop(proxy);

    let file = db.join("bench.db");
    if stored > 1 {
        let started = Instant::now();
        let status = Command::new("python3")
            .arg(root.join("bench/seed-onboardings.py"))
            .arg(&file)
            .arg((stored - 1).to_string())
            .status()
            .map_err(|e| format!("python3: {e}"))?;
        if !status.success() {
            return Err(format!("bench/seed-onboardings.py: {status}"));
        }
        println!("    copied in {:.1} s", started.elapsed().as_secs_f64());
    }

    // Measured: start, memory at rest, POST at 8 connections, memory after.
    let addr = loopback()?;
    let started = Instant::now();
    let mut proxy = Server::spawn(&mut partner_proxy_command(root, &db, addr, fake), &log)?;
    wait_healthy(addr, &mut proxy.child, Duration::from_secs(60))?;
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    sleep(Duration::from_secs(1));
    let pid = proxy.child.id();
    let idle_kb = status_kb(pid, "VmRSS")?;
    let tokens = create_sessions(addr, 2 * SESSIONS)?;
    let tokens_file = dir.join(format!("tokens-{stored}.txt"));
    fs::write(&tokens_file, tokens.join("\n")).map_err(|e| e.to_string())?;
    let env = |run: usize| {
        vec![
            ("WA_BENCH_TOKENS", tokens_file.display().to_string()),
            ("WA_BENCH_TOKEN_OFFSET", (run * SESSIONS).to_string()),
            ("WA_BENCH_TOKENS_PER_THREAD", (SESSIONS / 2).to_string()),
        ]
    };
    let script = root.join("bench/post-onboardings.lua");
    let script = script.to_str().ok_or("a path that is not UTF-8")?;
    wrk_with(&["-t2", "-c8", "-d3s"], addr, "/", Some(script), &env(0))?;
    let d = format!("-d{LOAD_SECONDS}s");
    let post8 = wrk_with(
        &["-t2", "-c8", &d, "--latency"],
        addr,
        "/",
        Some(script),
        &env(1),
    )?;
    let after_kb = status_kb(pid, "VmRSS")?;
    let hwm_kb = status_kb(pid, "VmHWM")?;
    drop(proxy);
    let db_bytes = ["bench.db", "bench.db-wal"]
        .iter()
        .filter_map(|f| fs::metadata(db.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "    start {start_ms:.0} ms, RSS {:.1} MB idle, {:.1} MB after, database {:.0} MB",
        idle_kb as f64 / 1024.0,
        after_kb as f64 / 1024.0,
        db_bytes as f64 / 1e6
    );
    // The next size has its own database: this one's disk space is not needed any more.
    let _ = fs::remove_dir_all(&db);
    Ok(Point {
        stored,
        start_ms,
        idle_kb,
        post8,
        after_kb,
        hwm_kb,
        db_bytes,
    })
}

/// 1,000 pending sign-ups (the fake connects numbers only after a day), then their event
/// streams opened in steps, memory read after each step.
fn streams(root: &Path, dir: &Path) -> Result<Streams, String> {
    let onboardings = *STREAM_STEPS.last().unwrap_or(&0);
    println!("  {onboardings} event streams");
    let fake_addr = loopback()?;
    let mut fake = Server::spawn(
        Command::new(crate::fake_ycloud_binary(root))
            .arg(fake_addr.port().to_string())
            .args(["--api-key", BENCH_KEY, "--connect-after-ms", "86400000"]),
        &dir.join("fake-pending.log"),
    )?;
    wait_listening(fake_addr, &mut fake.child)?;
    let db = dir.join("streams");
    fs::create_dir_all(&db).map_err(|e| e.to_string())?;
    let addr = loopback()?;
    // Anonymous sign-ups (no session needed for this), and the per-client and concurrency
    // limits raised: all the streams come from this one client.
    let mut proxy = Server::spawn(
        live_proxy_command(root, &db, addr, &format!("http://{fake_addr}/v2"))
            .env("ALLOW_ANONYMOUS_ONBOARDINGS", "true")
            .env("EVENT_STREAMS_PER_CLIENT", (2 * onboardings).to_string())
            .env("MAX_CONCURRENT_REQUESTS", (4 * onboardings).to_string())
            .env("EVENT_STREAM_MAX_SECS", "3600"),
        &dir.join("proxy-streams.log"),
    )?;
    wait_healthy(addr, &mut proxy.child, Duration::from_secs(30))?;
    let mut ids = Vec::with_capacity(onboardings);
    for i in 0..onboardings {
        let body = format!(
            r#"{{"mode":"standard","waba_id":"66{i:012}1","phone_number_id":"55{i:012}1"}}"#
        );
        let (status, text) = http(addr, "POST", "/api/onboardings", Some(&body))
            .map_err(|e| format!("{addr}: {e}"))?;
        if status != 201 || !text.contains("\"state\":\"pending\"") {
            return Err(format!("a pending sign-up: {status} {text}"));
        }
        ids.push(super::json_string(&text, "id")?);
    }
    sleep(Duration::from_secs(2));
    let pid = proxy.child.id();
    let base_kb = status_kb(pid, "VmRSS")?;
    let mut open = Vec::with_capacity(onboardings);
    let mut steps = Vec::new();
    for want in STREAM_STEPS {
        while open.len() < want {
            open.push(open_stream(addr, &ids[open.len()])?);
        }
        sleep(Duration::from_secs(1));
        let kb = status_kb(pid, "VmRSS")?;
        println!(
            "    {want} open: RSS {:.1} MB ({:.1} KB a stream)",
            kb as f64 / 1024.0,
            kb.saturating_sub(base_kb) as f64 / want as f64
        );
        steps.push((want, kb));
    }
    drop(open);
    drop(proxy);
    drop(fake);
    Ok(Streams {
        onboardings,
        base_kb,
        steps,
    })
}

/// Opens `GET /api/onboardings/{id}/events` and reads up to its first event, so the stream is
/// established on the server when this returns.
fn open_stream(addr: SocketAddr, id: &str) -> Result<BufReader<TcpStream>, String> {
    let fail = |e: std::io::Error| format!("event stream of {id}: {e}");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(fail)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    write!(
        s,
        "GET /api/onboardings/{id}/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .map_err(fail)?;
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(fail)?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(format!("event stream of {id}: {}", line.trim()));
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(fail)? == 0 {
            return Err(format!(
                "event stream of {id} closed before its first event"
            ));
        }
        if line.contains("data:") {
            return Ok(reader);
        }
    }
}

/// Python 3 (the seeding script uses only its standard library).
fn ensure_python() -> Result<(), String> {
    match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err(
            "python3 is needed to seed the growth benchmark's databases \
                  (bench/seed-onboardings.py); install Debian's python3"
                .into(),
        ),
    }
}

/// The report's section.
pub(super) fn render(w: &mut String, g: &Growth) {
    let _ = writeln!(w, "## Growth\n");
    let _ = writeln!(
        w,
        "The same proxy (live, sessions, the outbox delivering to the fake's receiver) on a \
         database already holding N sign-ups: copies of one real sign-up made through the \
         POST, with its steps, session, register attempt and two delivered partner events \
         (`bench/seed-onboardings.py`). Each N has its own database and proxy; POST at 8 \
         connections for {LOAD_SECONDS} s after a 3 s warm-up.\n"
    );
    let _ = writeln!(
        w,
        "| stored sign-ups | database | start to healthy | RSS at rest | POST 8c req/s | p50 | p99 | RSS after (peak) |\n|---|---|---|---|---|---|---|---|"
    );
    let ms = |x: Option<f64>| x.map_or_else(|| "?".into(), |v| format!("{v:.2} ms"));
    for p in &g.points {
        let _ = writeln!(
            w,
            "| {} | {:.0} MB | {:.0} ms | {:.1} MB | {:.0} | {} | {} | {:.1} MB ({:.1} MB) |",
            p.stored,
            p.db_bytes as f64 / 1e6,
            p.start_ms,
            p.idle_kb as f64 / 1024.0,
            p.post8.rps,
            ms(p.post8.p50_ms),
            ms(p.post8.p99_ms),
            p.after_kb as f64 / 1024.0,
            p.hwm_kb as f64 / 1024.0,
        );
    }
    if let (Some(a), Some(b)) = (g.points.first(), g.points.last()) {
        let per = (b.stored - a.stored) as f64 / 10_000.0;
        let slope = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => format!("{:+.3} ms", (y - x) / per),
            _ => "?".into(),
        };
        let _ = writeln!(
            w,
            "\nSlope from {} to {} stored, per 10,000 sign-ups: POST p50 {}, p99 {}; RSS at \
             rest {:+.2} MB, after the run {:+.2} MB; start {:+.1} ms.",
            a.stored,
            b.stored,
            slope(a.post8.p50_ms, b.post8.p50_ms),
            slope(a.post8.p99_ms, b.post8.p99_ms),
            (b.idle_kb as f64 - a.idle_kb as f64) / 1024.0 / per,
            (b.after_kb as f64 - a.after_kb as f64) / 1024.0 / per,
            (b.start_ms - a.start_ms) / per,
        );
        let errors: Vec<String> = g
            .points
            .iter()
            .filter(|p| p.post8.non_2xx > 0 || !p.post8.socket_errors.is_empty())
            .map(|p| format!("{} stored: {} answers not 2xx", p.stored, p.post8.non_2xx))
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(w, "Errors: {}.", errors.join("; "));
        }
    }
    let s = &g.streams;
    let _ = writeln!(
        w,
        "\nEvent streams: {} pending sign-ups (a fake that connects numbers only after a day), \
         then `GET /api/onboardings/{{id}}/events` opened on them from one client \
         (`EVENT_STREAMS_PER_CLIENT` and `MAX_CONCURRENT_REQUESTS` raised for it), each read \
         to its first event. RSS with none open: {:.1} MB.\n",
        s.onboardings,
        s.base_kb as f64 / 1024.0
    );
    let _ = writeln!(w, "| streams open | RSS | per stream |\n|---|---|---|");
    for (n, kb) in &s.steps {
        let _ = writeln!(
            w,
            "| {n} | {:.1} MB | {:.1} KB |",
            *kb as f64 / 1024.0,
            kb.saturating_sub(s.base_kb) as f64 / *n as f64
        );
    }
    let _ = writeln!(w);
}
