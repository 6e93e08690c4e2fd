//! `cargo xtask bench`: every measurement side by side in one run, written to BENCHMARKS.md.
//!
//! - bundle: dist/'s wasm + JS, raw and `gzip -9`, against a minimal Leptos CSR counter built
//!   the same way (bench/counter/) and YCloud's plain-JS page (bench/plain-js/), and time to
//!   ready in headless Chromium (bench/time-to-ready.mjs), app against plain-JS page
//!   (bench/page.rs);
//! - the proxy under load (wrk) against the proxy crate's fake YCloud (`fake-ycloud
//!   --zero-latency`, the sandbox's answers over HTTP), beside a naive Node.js proxy
//!   (bench/naive-proxy.mjs): throughput, latency percentiles in three runs, peak RSS, start
//!   time (bench/load.rs);
//! - growth (bench/growth.rs): the same proxy with 100,000 and 1,000,000 sign-ups stored;
//! - 10,000 event streams open on one proxy (bench/streams.rs);
//! - the health schedule reading 100,000 connected numbers while POSTs run (bench/health.rs).
//!
//! These are benchmarks, not tests: nothing here fails because a target is missed; the gaps
//! are written down. Everything runs on loopback only. xtask is std only, so it carries its
//! own small helpers (bench/procs.rs: processes, HTTP, percentiles); BENCHMARKS.md is written
//! by bench/report.rs.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::tools::{run as run_cmd, Tools};

mod growth;
mod health;
mod load;
mod page;
mod procs;
mod report;
mod streams;

use load::proxy_load;
use page::{bundle, time_to_ready, twiggy_by_crate};
use procs::{ensure_wrk, loadavg};
use report::{render_partial, Report, Results};

/// The targets (README, "Performance").
const TARGET_BUNDLE_GZIP: u64 = 100_000;
const CEILING_BUNDLE_GZIP: u64 = 150_000;
/// Time to ready: at most this many times the plain-JS page's, in each of [`READY_REPEATS`]
/// runs.
const TARGET_READY_RATIO: f64 = 1.3;
const TARGET_POST_RATIO: f64 = 2.0;
/// POST p99 at 8 connections: at most this share of the naive Node proxy's, same run, in
/// each of [`P99_RUNS`] runs.
const TARGET_POST_P99_SHARE: f64 = 0.5;
const TARGET_GET_RATIO: f64 = 1.5;
const TARGET_RSS_KB: u64 = 64 * 1024;
const TARGET_START_MS: f64 = 200.0;
/// With the most sign-ups stored, POST req/s and p99, start and RSS within this share of
/// the figures with one stored.
const TARGET_GROWTH_SHARE: f64 = 0.10;
/// RSS added by [`streams::OPEN`] open event streams, at most.
const TARGET_STREAMS_KB: u64 = 100 * 1024;
/// POST p99 while the health schedule reads, within this share of the p99 without.
const TARGET_HEALTH_P99_SHARE: f64 = 0.10;

/// The POST p99 comparison at 8 connections is run this many times, alternating.
const P99_RUNS: usize = 3;
/// Loads of each page per time-to-ready run (the median is compared).
const READY_RUNS: usize = 20;
/// Time-to-ready runs, each with a proxy of its own.
const READY_REPEATS: usize = 3;
/// The YCloud key both proxies send and the fake YCloud requires.
const BENCH_KEY: &str = "bench-key";
const START_RUNS: usize = 10;
const LOAD_SECONDS: u32 = 10;
/// The partner API key of the benchmarked proxy.
const BENCH_PARTNER_KEY: &str = "bench-partner-key-0123456789abcdef0123";
/// Sessions per wrk run of the POST benchmark: 5 posts each, so up to this × 5 posts per
/// run (runs faster than that would end in refusals, which the report shows).
const SESSIONS_PER_RUN: usize = 8_000;
/// Runs that post with sessions: the warm-up, 64 connections, then 8 connections
/// [`P99_RUNS`] times.
const SESSION_RUNS: usize = 2 + P99_RUNS;

/// BENCHMARKS.md keeps everything from this line on across runs (hand-written analysis).
const NOTES_MARKER: &str = "<!-- notes: everything below is kept by `cargo xtask bench` -->";

/// The parts a partial run can name (`cargo xtask bench PART`): each measured and printed,
/// with its rows of the targets' table; only the full run writes BENCHMARKS.md.
const PARTS: [&str; 5] = ["load", "growth", "streams", "health", "proxy"];

/// Every benchmark, written to BENCHMARKS.md; or, with `only = Some(part)`, that part alone,
/// printed (the proxy's parts need the release proxy only; `proxy` is all four of them).
pub(crate) fn run(root: &Path, only: Option<&str>) -> Result<(), String> {
    if let Some(part) = only {
        if !PARTS.contains(&part) {
            return Err(format!(
                "bench: unknown part {part:?} ({})",
                PARTS.join(", ")
            ));
        }
        ensure_wrk()?;
        step("build: cargo build --release -p proxy");
        run_cmd(
            Command::new("cargo")
                .args(["build", "--release", "--quiet", "-p", "proxy"])
                .current_dir(root),
        )?;
        let all = part == "proxy";
        let mut results = Results::default();
        proxy_parts(root, &mut results, |p| all || p == part)?;
        println!("\n{}", render_partial(&results));
        return Ok(());
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
    let mut results = Results {
        bundle: Some(bundle(root, &tools)?),
        twiggy: twiggy_by_crate(root, &tools),
        ..Results::default()
    };

    step("time to ready in headless Chromium");
    let ready = (0..READY_REPEATS)
        .map(|_| time_to_ready(root, &tools))
        .collect::<Result<Vec<_>, _>>()?;
    results.ready = Some(ready);

    proxy_parts(root, &mut results, |_| true)?;

    md.load_after = loadavg();
    let text = md.render(root, &results);
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

/// The proxy's parts that `wanted` names, in the full run's order.
fn proxy_parts(
    root: &Path,
    results: &mut Results,
    wanted: impl Fn(&str) -> bool,
) -> Result<(), String> {
    if wanted("load") {
        step("proxy under load");
        results.load = Some(proxy_load(root)?);
    }
    if wanted("growth") {
        step("growth: stored sign-ups");
        results.growth = Some(growth::run(root)?);
    }
    if wanted("streams") {
        step("open event streams");
        results.streams = Some(streams::run(root)?);
    }
    if wanted("health") {
        step("health polling of connected numbers, POST beside it");
        results.health = Some(health::run(root)?);
    }
    Ok(())
}

fn step(what: &str) {
    println!("\n==> bench: {what}");
}

#[cfg(test)]
mod tests {
    use super::load::parse_duration_ms;
    use super::page::{crate_of, csv_fields};

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
