//! BENCHMARKS.md above the notes: the machine, the table of results against the targets,
//! then each part's details.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::load::{Load, Wrk};
use super::page::{total, Bundle, Ready, Sized as SizedFile};
use super::procs::{first_line, kb, median, verdict};
use super::{growth, health, streams};
use super::{
    CEILING_BUNDLE_GZIP, LOAD_SECONDS, READY_RUNS, START_RUNS, TARGET_BUNDLE_GZIP,
    TARGET_GET_RATIO, TARGET_POST_P99_SHARE, TARGET_POST_RATIO, TARGET_READY_RATIO, TARGET_RSS_KB,
    TARGET_START_MS,
};

/// What one run measured: every part in the full run, some in a partial one.
#[derive(Default)]
pub(super) struct Results {
    pub(super) bundle: Option<Bundle>,
    pub(super) twiggy: Option<String>,
    /// One per run ([`super::READY_REPEATS`]).
    pub(super) ready: Option<Vec<Ready>>,
    pub(super) load: Option<Load>,
    pub(super) growth: Option<growth::Growth>,
    pub(super) streams: Option<streams::Streams>,
    pub(super) health: Option<health::Health>,
}

#[derive(Default)]
pub(super) struct Report {
    pub(super) load_before: String,
    pub(super) load_after: String,
}

/// A partial run's text: its rows of the targets' table, then its sections.
pub(super) fn render_partial(res: &Results) -> String {
    let mut s = String::new();
    targets(&mut s, res);
    sections(&mut s, res);
    s
}

/// The table of results against the targets, a row for each target the run measured.
fn targets(w: &mut String, res: &Results) {
    let _ = writeln!(w, "## Results against the targets\n");
    let _ = writeln!(w, "| measure | app / proxy | baseline | target | result |");
    let _ = writeln!(w, "|---|---|---|---|---|");
    if let Some(b) = &res.bundle {
        let (_, app_gz) = total(&b.app);
        let (_, c_gz) = total(&b.counter);
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
    }
    if let Some(runs) = res.ready.as_deref().filter(|r| !r.is_empty()) {
        // Each run's median against the plain page's in the same run; met only when every
        // run meets it.
        let join =
            |f: &dyn Fn(&Ready) -> String| runs.iter().map(f).collect::<Vec<_>>().join(" / ");
        let ratios = join(&|r| format!("{:.2}", r.app_median / r.plain_median));
        let met = runs
            .iter()
            .all(|r| r.app_median / r.plain_median <= TARGET_READY_RATIO);
        let _ = writeln!(
            w,
            "| time to ready, median of {}, {} runs | {} ms | plain-JS page {} ms | ≤ {TARGET_READY_RATIO} × plain in each run | {} ({ratios} ×) |",
            runs[0].runs,
            runs.len(),
            join(&|r| format!("{:.0}", r.app_median)),
            join(&|r| format!("{:.0}", r.plain_median)),
            verdict(met)
        );
    }
    if let Some(l) = &res.load {
        let post_ratio = l.rust.post64.rps / l.node.post64.rps;
        let _ = writeln!(
            w,
            "| POST /api/onboardings, 64 connections | {:.0} req/s | Node {:.0} req/s | ≥ {TARGET_POST_RATIO} × Node | {} ({post_ratio:.2} ×) |",
            l.rust.post64.rps, l.node.post64.rps, verdict(post_ratio >= TARGET_POST_RATIO)
        );
        // Each run's p99 against Node's in the same run; met only when every run meets it.
        let pairs: Vec<(f64, f64)> = l
            .rust
            .post8
            .iter()
            .zip(&l.node.post8)
            .map(|(r, n)| (r.p99_ms.unwrap_or(f64::NAN), n.p99_ms.unwrap_or(f64::NAN)))
            .collect();
        let list =
            |f: &dyn Fn(&(f64, f64)) -> String| pairs.iter().map(f).collect::<Vec<_>>().join(" / ");
        let _ = writeln!(
            w,
            "| POST p99, 8 connections, {} runs | {} ms | Node {} ms | ≤ {TARGET_POST_P99_SHARE} × Node's in each run | {} ({} ×) |",
            pairs.len(),
            list(&|(r, _)| format!("{r:.2}")),
            list(&|(_, n)| format!("{n:.2}")),
            verdict(
                !pairs.is_empty()
                    && pairs.iter().all(|(r, n)| *r <= TARGET_POST_P99_SHARE * n)
            ),
            list(&|(r, n)| format!("{:.2}", r / n)),
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
    }
    if let Some(g) = &res.growth {
        growth::target_row(w, g);
    }
    if let Some(s) = &res.streams {
        streams::target_row(w, s);
    }
    if let Some(h) = &res.health {
        health::target_row(w, h);
    }
    let _ = writeln!(w, "\nKB = 1000 bytes; MB = 2^20 bytes.\n");
}

/// Each measured part's details.
fn sections(w: &mut String, res: &Results) {
    if let Some(b) = &res.bundle {
        bundle_section(w, b, res.twiggy.as_deref());
    }
    if let Some(runs) = &res.ready {
        ready_section(w, runs);
    }
    if let Some(l) = &res.load {
        load_section(w, l);
    }
    if let Some(g) = &res.growth {
        growth::render(w, g);
    }
    if let Some(s) = &res.streams {
        streams::render(w, s);
    }
    if let Some(h) = &res.health {
        health::render(w, h);
    }
}

fn bundle_section(w: &mut String, b: &Bundle, twiggy: Option<&str>) {
    let (app_raw, app_gz) = total(&b.app);
    let (c_raw, c_gz) = total(&b.counter);
    let (console_raw, console_gz) = total(&b.console);
    // Details: bundle
    let _ = writeln!(w, "## Bundle\n");
    let _ = writeln!(w, "| file | raw | gzip -9 |\n|---|---|---|");
    // Each bundle's files, then its total in bold.
    let mut files =
        |label: &str, dir: &str, list: &[SizedFile], total: &str, (raw, gz): (u64, u64)| {
            for f in list {
                let (name, raw, gz) = (&f.name, kb(f.raw), kb(f.gzip));
                let _ = writeln!(w, "| {label}: `{dir}{name}` | {raw} | {gz} |");
            }
            let _ = writeln!(w, "| **{total}** | **{}** | **{}** |", kb(raw), kb(gz));
        };
    let app_total = "app total (wasm + JS the page loads)";
    files("app", "dist/", &b.app, app_total, (app_raw, app_gz));
    let console_total = "partner console total (its own page, `/console`)";
    files(
        "console",
        "dist/console/",
        &b.console,
        console_total,
        (console_raw, console_gz),
    );
    let counter_total = "Leptos counter total";
    files(
        "counter",
        "bench/counter/dist/",
        &b.counter,
        counter_total,
        (c_raw, c_gz),
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
}

fn ready_section(w: &mut String, runs: &[Ready]) {
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
    let _ = writeln!(
        w,
        "| run | page | median | min | max |\n|---|---|---|---|---|"
    );
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | app | {:.1} ms | {:.1} ms | {:.1} ms |\n| {} | plain-JS | {:.1} ms | {:.1} ms | {:.1} ms |",
            i + 1,
            r.app_median,
            r.app_range.0,
            r.app_range.1,
            i + 1,
            r.plain_median,
            r.plain_range.0,
            r.plain_range.1
        );
    }
    let _ = writeln!(
        w,
        "\nSamples (ms), then the medians of when each resource started and finished \
         loading and of the app's milestones (ms from the navigation start): \
         `wasm_end` is the last byte received, not compiled; `app_started` is trunk's \
         `TrunkApplicationStarted` (the wasm compiled and instantiated, the app's main \
         run); `fb_init` is `FB.init` called; `button` the launch button first in the \
         page, enabled or not."
    );
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(w, "\nRun {}:\n\n```\n{}\n```", i + 1, r.samples);
    }
    let _ = writeln!(w);
}

fn load_section(w: &mut String, l: &Load) {
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
    for (i, (a, b)) in l.rust.post8.iter().zip(&l.node.post8).enumerate() {
        let what = format!("POST, 8 connections, run {},", i + 1);
        row(w, &what, a, b);
        lat(w, &what, a, b);
    }
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
    let mut runs = vec![
        ("Rust POST 64", &l.rust.post64),
        ("Rust GET 64", &l.rust.get64),
        ("Rust GET 8", &l.rust.get8),
        ("Node POST 64", &l.node.post64),
        ("Node GET 64", &l.node.get64),
        ("Node GET 8", &l.node.get8),
    ];
    runs.extend(l.rust.post8.iter().map(|r| ("Rust POST 8", r)));
    runs.extend(l.node.post8.iter().map(|r| ("Node POST 8", r)));
    let errs: Vec<String> = runs
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
}

impl Report {
    pub(super) fn render(&self, root: &Path, res: &Results) -> String {
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

        targets(w, res);
        sections(w, res);

        let _ = writeln!(w, "## Commands\n");
        let _ = writeln!(
            w,
            "```sh\ncargo xtask bench   # all of the below, then rewrites this file above the notes\n\
             cargo xtask bench load|growth|streams|health|proxy   # one part (proxy: all four), printed\n\
             python3 bench/seed-onboardings.py DIR/bench.db COPIES [--due-now]   # copies of its one sign-up\n\
             prlimit --pid PID --nofile=N:N   # the open-files limit, when 10,000 streams need more\n\
             curl http://127.0.0.1:FAKE/__calls   # the fake's call log: the health reads\n\
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
