//! How the proxy's costs grow with what it holds: POST throughput and latency, start time
//! and memory with 100,000 and 1,000,000 sign-ups already stored, against one stored.
//!
//! The stored sign-ups are copies of one real one (bench/seed-onboardings.py): the template
//! goes through the real POST with a session and its events are delivered, then the rows are
//! copied with fresh identifiers. Each size gets its own database and proxy, measured the
//! same way, so the difference between them is the cost of the stored rows alone.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::load::{
    create_sessions, event_deliveries, partner_proxy_command, status_kb, wrk_with, Wrk,
};
use super::procs::{http, loopback, median, verdict, wait_healthy, Server, TempDir};
use super::{LOAD_SECONDS, TARGET_GROWTH_SHARE};

/// Sign-ups stored before each measurement (the template itself is the 1).
pub(super) const SIZES: [usize; 3] = [1, 100_000, 1_000_000];
/// Sessions per wrk run here: 5 posts each (the 8-connection run stays far below this).
const SESSIONS: usize = 4_000;
/// Starts measured per size (spawn to the first healthy answer); the median is reported.
const STARTS: usize = 5;

/// One stored size, measured.
pub(super) struct Point {
    pub(super) stored: usize,
    /// Median of [`STARTS`] starts.
    pub(super) start_ms: f64,
    /// How long the copies took to make.
    pub(super) seed_secs: f64,
    /// VmRSS a second after start, before any load.
    pub(super) idle_kb: u64,
    pub(super) post8: Wrk,
    /// VmRSS and VmHWM after the POST run.
    pub(super) after_kb: u64,
    pub(super) hwm_kb: u64,
    /// The database file and its WAL, after the run.
    pub(super) db_bytes: u64,
}

pub(super) struct Growth {
    pub(super) points: Vec<Point>,
}

pub(super) fn run(root: &Path) -> Result<Growth, String> {
    ensure_python()?;
    let dir = TempDir::new("growth")?;
    let (fake_addr, fake) = Server::fake(root, &["--zero-latency"], &dir.0.join("fake.log"))?;
    let mut points = Vec::new();
    for stored in SIZES {
        points.push(point(root, &dir.0, fake_addr, stored)?);
    }
    drop(fake);
    Ok(Growth { points })
}

/// A database in `dir/name` holding `stored` sign-ups: one real one made through the POST
/// with a session (its events delivered), then `stored - 1` copies of it. With `due_now`,
/// none has had its health read yet (all due for the health schedule). Answers the
/// directory and the seconds the copies took.
pub(super) fn seeded_database(
    root: &Path,
    dir: &Path,
    name: &str,
    fake: SocketAddr,
    stored: usize,
    due_now: bool,
) -> Result<(PathBuf, f64), String> {
    let db = dir.join(name);
    fs::create_dir_all(&db).map_err(|e| e.to_string())?;
    let log = dir.join(format!("proxy-{name}.log"));

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

    let started = Instant::now();
    if stored > 1 || due_now {
        let mut cmd = Command::new("python3");
        cmd.arg(root.join("bench/seed-onboardings.py"))
            .arg(db.join("bench.db"))
            .arg((stored - 1).to_string());
        if due_now {
            cmd.arg("--due-now");
        }
        let status = cmd.status().map_err(|e| format!("python3: {e}"))?;
        if !status.success() {
            return Err(format!("bench/seed-onboardings.py: {status}"));
        }
        println!(
            "    {} copies made in {:.1} s",
            stored - 1,
            started.elapsed().as_secs_f64()
        );
    }
    Ok((db, started.elapsed().as_secs_f64()))
}

fn point(root: &Path, dir: &Path, fake: SocketAddr, stored: usize) -> Result<Point, String> {
    println!("  {stored} sign-ups stored");
    let name = format!("stored-{stored}");
    let (db, seed_secs) = seeded_database(root, dir, &name, fake, stored, false)?;
    let log = dir.join(format!("proxy-{name}.log"));

    // Start to healthy, STARTS times (each start reads the same database).
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let addr = loopback()?;
        let started = Instant::now();
        let mut proxy = Server::spawn(&mut partner_proxy_command(root, &db, addr, fake), &log)?;
        wait_healthy(addr, &mut proxy.child, Duration::from_secs(120))?;
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let start_ms = median(&starts);

    // Measured: memory at rest, POST at 8 connections, memory after.
    let addr = loopback()?;
    let mut proxy = Server::spawn(&mut partner_proxy_command(root, &db, addr, fake), &log)?;
    wait_healthy(addr, &mut proxy.child, Duration::from_secs(120))?;
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
        seed_secs,
        idle_kb,
        post8,
        after_kb,
        hwm_kb,
        db_bytes,
    })
}

/// Python 3 (the seeding script uses only its standard library).
pub(super) fn ensure_python() -> Result<(), String> {
    match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err(
            "python3 is needed to seed the growth benchmark's databases \
                  (bench/seed-onboardings.py); install Debian's python3"
                .into(),
        ),
    }
}

/// The targets' row: with the most stored, POST req/s and p99, start and RSS (at rest and
/// after the run) within [`TARGET_GROWTH_SHARE`] of the figures with one stored.
pub(super) fn target_row(w: &mut String, g: &Growth) {
    let (Some(a), Some(b)) = (g.points.first(), g.points.last()) else {
        return;
    };
    let nan = f64::NAN;
    // (what, with one stored, with the most, the larger is better)
    let figures = [
        ("req/s", a.post8.rps, b.post8.rps, true),
        (
            "p99",
            a.post8.p99_ms.unwrap_or(nan),
            b.post8.p99_ms.unwrap_or(nan),
            false,
        ),
        ("start", a.start_ms, b.start_ms, false),
        ("RSS at rest", a.idle_kb as f64, b.idle_kb as f64, false),
        ("RSS after", a.after_kb as f64, b.after_kb as f64, false),
    ];
    let within = |(_, x, y, up): &(&str, f64, f64, bool)| {
        if *up {
            *y >= x * (1.0 - TARGET_GROWTH_SHARE)
        } else {
            *y <= x * (1.0 + TARGET_GROWTH_SHARE)
        }
    };
    let changes: Vec<String> = figures
        .iter()
        .map(|f| format!("{} {:+.0} %", f.0, 100.0 * (f.2 / f.1 - 1.0)))
        .collect();
    let show = |p: &Point| {
        format!(
            "{:.0} req/s, p99 {:.2} ms, start {:.0} ms, RSS {:.1} / {:.1} MB",
            p.post8.rps,
            p.post8.p99_ms.unwrap_or(nan),
            p.start_ms,
            p.idle_kb as f64 / 1024.0,
            p.after_kb as f64 / 1024.0
        )
    };
    let _ = writeln!(
        w,
        "| POST 8 connections, start, RSS (at rest / after), {} sign-ups stored | {} | 1 stored: {} | within {:.0} % of the 1-stored figures | {} ({}) |",
        b.stored,
        show(b),
        show(a),
        100.0 * TARGET_GROWTH_SHARE,
        verdict(figures.iter().all(within)),
        changes.join(", ")
    );
}

/// The report's section.
pub(super) fn render(w: &mut String, g: &Growth) {
    let _ = writeln!(w, "## Growth\n");
    let _ = writeln!(
        w,
        "The same proxy (live, sessions, the outbox delivering to the fake's receiver) on a \
         database already holding N sign-ups: copies of one real sign-up made through the \
         POST, with its steps, session, register attempt and two delivered partner events \
         (`bench/seed-onboardings.py`, one `INSERT … SELECT` per template row in one \
         transaction). Each N has its own database and proxy; start to healthy is the median \
         of {STARTS} starts; POST at 8 connections for {LOAD_SECONDS} s after a 3 s warm-up.\n"
    );
    let _ = writeln!(
        w,
        "| stored sign-ups | copied in | database | start to healthy | RSS at rest | POST 8c req/s | p50 | p99 | RSS after (peak) |\n|---|---|---|---|---|---|---|---|---|"
    );
    let ms = |x: Option<f64>| x.map_or_else(|| "?".into(), |v| format!("{v:.2} ms"));
    for p in &g.points {
        let _ = writeln!(
            w,
            "| {} | {:.0} s | {:.0} MB | {:.0} ms | {:.1} MB | {:.0} | {} | {} | {:.1} MB ({:.1} MB) |",
            p.stored,
            p.seed_secs,
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
    let _ = writeln!(w);
}
