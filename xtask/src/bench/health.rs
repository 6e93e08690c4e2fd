//! The health schedule under load: [`NUMBERS`] connected numbers stored (copies of one real
//! sign-up, all due for a health read), the proxy's schedule reading them from the
//! zero-latency fake while POSTs run at 8 connections, against the same proxy with nothing
//! of them due.
//!
//! The schedule cannot be turned off: every number a POST connects is due at once. So
//! "without" is the same database with the stored numbers read already (due in the far
//! future) and the schedule at its slowest (`HEALTH_PER_SECOND=1`, for the POSTs' own new
//! numbers); "with" is every stored number due, at the default pace (as deployed), and at
//! [`FAST`] reads a second, twenty times the default, to show where the cost starts. Each
//! is run [`ROUNDS`] times, alternating, a proxy started for each run; reads are counted
//! from the fake's call log (`GET /__calls`: the stored numbers' WABA ids are the copies'
//! own), overall and in the busiest second.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::growth;
use super::load::{create_sessions, partner_proxy_command, wrk_with, Wrk};
use super::procs::{http, loopback, median, verdict, wait_healthy, Server, TempDir};
use super::{LOAD_SECONDS, TARGET_HEALTH_P99_SHARE};
use crate::tools::run as run_cmd;

/// Connected numbers stored.
pub(super) const NUMBERS: usize = 100_000;
/// `HEALTH_PER_SECOND` when not set (proxy/src/config/upstream.rs): one read every 200 ms.
const DEFAULT_PACE: u32 = 5;
/// The faster pace measured beside it.
const FAST: u32 = 100;
const ROUNDS: usize = 3;
/// Sessions per wrk run: 5 posts each, more than an 8-connection run makes here.
const SESSIONS: usize = 3_000;
/// The stored copies' WABA ids start so (the template's, bench/seed-onboardings.py).
const STORED_WABAS: &str = "77000000000";

/// One measurement: the schedule's setting, and what it gave.
pub(super) struct Run {
    /// `None`: the stored numbers not due, the slowest pace.
    pub(super) pace: Option<u32>,
    pub(super) post8: Wrk,
    /// Reads of stored numbers during the POST run: in all, and in its busiest second.
    pub(super) reads: usize,
    pub(super) busiest_second: usize,
    pub(super) secs: f64,
}

pub(super) struct Health {
    pub(super) runs: Vec<Run>,
    pub(super) seed_secs: f64,
}

impl Health {
    /// The median p99 and reads a second of the runs at `pace`.
    fn summary(&self, pace: Option<u32>) -> (f64, f64, usize) {
        let runs: Vec<&Run> = self.runs.iter().filter(|r| r.pace == pace).collect();
        let p99: Vec<f64> = runs
            .iter()
            .map(|r| r.post8.p99_ms.unwrap_or(f64::NAN))
            .collect();
        let rate: Vec<f64> = runs.iter().map(|r| r.reads as f64 / r.secs).collect();
        let busiest = runs.iter().map(|r| r.busiest_second).max().unwrap_or(0);
        (median(&p99), median(&rate), busiest)
    }
}

pub(super) fn run(root: &Path) -> Result<Health, String> {
    growth::ensure_python()?;
    let dir = TempDir::new("health")?;
    let (fake, _fake_server) = Server::fake(root, &["--zero-latency"], &dir.0.join("fake.log"))?;
    println!("  {NUMBERS} connected numbers");
    let (db, seed_secs) = growth::seeded_database(root, &dir.0, "health", fake, NUMBERS, true)?;
    let log = dir.0.join("proxy-health.log");
    let script = root.join("bench/post-onboardings.lua");
    let script = script.to_str().ok_or("a path that is not UTF-8")?;
    let settings = [None, Some(DEFAULT_PACE), Some(FAST)];

    // Every run's sessions, made at once through a first proxy (they are stored).
    let tokens_file = dir.0.join("tokens.txt");
    let runs_total = 2 * ROUNDS * settings.len();
    {
        let addr = loopback()?;
        let mut proxy = Server::spawn(&mut partner_proxy_command(root, &db, addr, fake), &log)?;
        wait_healthy(addr, &mut proxy.child, Duration::from_secs(60))?;
        let tokens = create_sessions(addr, runs_total * SESSIONS)?;
        fs::write(&tokens_file, tokens.join("\n")).map_err(|e| e.to_string())?;
    }
    let mut wrk_run = 0;
    let mut env = || {
        let offset = wrk_run * SESSIONS;
        wrk_run += 1;
        vec![
            ("WA_BENCH_TOKENS", tokens_file.display().to_string()),
            ("WA_BENCH_TOKEN_OFFSET", offset.to_string()),
            ("WA_BENCH_TOKENS_PER_THREAD", (SESSIONS / 2).to_string()),
        ]
    };

    let mut runs = Vec::new();
    for round in 1..=ROUNDS {
        for pace in settings {
            set_due(&db.join("bench.db"), pace.is_some())?;
            let addr = loopback()?;
            let mut cmd = partner_proxy_command(root, &db, addr, fake);
            cmd.env("HEALTH_PER_SECOND", pace.unwrap_or(1).to_string());
            let mut proxy = Server::spawn(&mut cmd, &log)?;
            wait_healthy(addr, &mut proxy.child, Duration::from_secs(60))?;
            println!(
                "  round {round}, {}",
                pace.map_or("the stored numbers not due".to_owned(), |p| format!(
                    "every stored number due, {p} reads a second"
                ))
            );
            wrk_with(&["-t2", "-c8", "-d3s"], addr, "/", Some(script), &env())?;
            let from = unix_ms();
            let d = format!("-d{LOAD_SECONDS}s");
            let post8 = wrk_with(
                &["-t2", "-c8", &d, "--latency"],
                addr,
                "/",
                Some(script),
                &env(),
            )?;
            let to = unix_ms();
            drop(proxy);
            let (reads, busiest_second) = stored_reads(fake, from, to)?;
            let secs = (to - from) as f64 / 1000.0;
            println!(
                "    {reads} stored numbers read ({:.1} a second, {busiest_second} in the busiest second)",
                reads as f64 / secs
            );
            runs.push(Run {
                pace,
                post8,
                reads,
                busiest_second,
                secs,
            });
        }
    }
    Ok(Health { runs, seed_secs })
}

/// Milliseconds since the Unix epoch (the fake's call log's clock: the same machine).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Every stored copy due for a health read (never read), or none due (read, next in the far
/// future), in the stopped proxy's database.
fn set_due(db: &Path, due: bool) -> Result<(), String> {
    let value = if due {
        "None"
    } else {
        "'9999-12-31T00:00:00Z'"
    };
    let code = format!(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         c.execute(\"UPDATE onboardings SET health_due_at = ? WHERE waba_id LIKE '{STORED_WABAS}%'\", ({value},))\n\
         c.commit()\n"
    );
    run_cmd(Command::new("python3").args(["-c", &code]).arg(db))
}

/// Reads of stored numbers the fake received between `from` and `to` (ms since the epoch):
/// in all, and in the busiest second.
fn stored_reads(fake: SocketAddr, from: u64, to: u64) -> Result<(usize, usize), String> {
    let (status, text) = http(fake, "GET", "/__calls", None).map_err(|e| format!("{fake}: {e}"))?;
    if status != 200 {
        return Err(format!("GET /__calls: {status}"));
    }
    let wanted = format!("\"path\":\"/v2/whatsapp/phoneNumbers/{STORED_WABAS}");
    let mut per_second: std::collections::BTreeMap<u64, usize> = Default::default();
    // One object per call: {"method":"GET","path":"…","at":…,"status":…}.
    for call in text.split('{').filter(|c| c.contains(&wanted)) {
        let at = call
            .split("\"at\":")
            .nth(1)
            .and_then(|v| {
                let digits = v.trim_start().split(|c: char| !c.is_ascii_digit()).next()?;
                digits.parse::<u64>().ok()
            })
            .ok_or_else(|| format!("a call without its time: {call}"))?;
        if (from..to).contains(&at) && call.contains("\"method\":\"GET\"") {
            *per_second.entry((at - from) / 1000).or_default() += 1;
        }
    }
    Ok((
        per_second.values().sum(),
        per_second.values().copied().max().unwrap_or(0),
    ))
}

/// The targets' row: at the default pace, the reads paced (no second over the pace) and the
/// POST p99 within [`TARGET_HEALTH_P99_SHARE`] of the p99 without.
pub(super) fn target_row(w: &mut String, h: &Health) {
    let (p99_without, _, _) = h.summary(None);
    let (p99, rate, busiest) = h.summary(Some(DEFAULT_PACE));
    // A second's window may hold one tick more than the pace (its first and last).
    let paced = rate > 0.0 && busiest <= DEFAULT_PACE as usize + 1;
    let _ = writeln!(
        w,
        "| health reads of {NUMBERS} connected numbers (default pace, {DEFAULT_PACE}/s) during POST at 8 connections | {rate:.1} reads/s (busiest second {busiest}), POST p99 {p99:.2} ms | none due: POST p99 {p99_without:.2} ms | paced; p99 within {:.0} % of without | {} ({:+.0} %) |",
        100.0 * TARGET_HEALTH_P99_SHARE,
        verdict(paced && p99 <= p99_without * (1.0 + TARGET_HEALTH_P99_SHARE)),
        100.0 * (p99 / p99_without - 1.0)
    );
}

/// The report's section.
pub(super) fn render(w: &mut String, h: &Health) {
    let _ = writeln!(w, "## Health polling\n");
    let _ = writeln!(
        w,
        "{NUMBERS} connected numbers stored (copies of one real sign-up, made in {:.0} s), \
         the proxy's health schedule reading them from the zero-latency fake while POSTs run at \
         8 connections ({LOAD_SECONDS} s after a 3 s warm-up), {ROUNDS} rounds, a fresh proxy \
         for each run. The schedule cannot be turned off (every number a POST connects is due \
         at once), so \"none due\" is the stored numbers read already and the slowest pace \
         (`HEALTH_PER_SECOND=1`). Reads counted in the fake's call log (stored numbers only); \
         the p99 and rates below are medians of the rounds.\n",
        h.seed_secs
    );
    let _ = writeln!(
        w,
        "| stored numbers due, pace | reads/s | busiest second | POST 8c req/s (each round) | p99 (each round) | p99, median |\n|---|---|---|---|---|---|"
    );
    for pace in [None, Some(DEFAULT_PACE), Some(FAST)] {
        let runs: Vec<&Run> = h.runs.iter().filter(|r| r.pace == pace).collect();
        let (p99, rate, busiest) = h.summary(pace);
        let each =
            |f: &dyn Fn(&Run) -> String| runs.iter().map(|r| f(r)).collect::<Vec<_>>().join(" / ");
        let _ = writeln!(
            w,
            "| {} | {rate:.1} | {busiest} | {} | {} ms | {p99:.2} ms |",
            match pace {
                None => "none, 1/s".to_owned(),
                Some(DEFAULT_PACE) => format!("all, {DEFAULT_PACE}/s (default)"),
                Some(p) => format!("all, {p}/s"),
            },
            each(&|r| format!("{:.0}", r.post8.rps)),
            each(&|r| format!("{:.2}", r.post8.p99_ms.unwrap_or(f64::NAN))),
        );
    }
    let errors: usize = h.runs.iter().map(|r| r.post8.non_2xx as usize).sum();
    if errors > 0 {
        let _ = writeln!(w, "\nPOST answers not 2xx in these runs: {errors}.");
    }
    let _ = writeln!(w);
}
