//! The browser side: the bundle's sizes (against the Leptos counter and the plain-JS page,
//! with twiggy's per-crate breakdown) and time to ready in headless Chromium.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::load::sandbox_proxy_command;
use super::procs::{free_port, wait_healthy, Server, TempDir};
use super::READY_RUNS;
use crate::tools::{run as run_cmd, Tools};

// ---------------------------------------------------------------------------------------------
// Bundle

pub(super) struct Sized {
    pub(super) name: String,
    pub(super) raw: u64,
    pub(super) gzip: u64,
}

pub(super) struct Bundle {
    pub(super) app: Vec<Sized>,
    /// The partner console's wasm + JS (`dist/console/`), a bundle of its own.
    pub(super) console: Vec<Sized>,
    pub(super) app_extra: Vec<Sized>,
    pub(super) counter: Vec<Sized>,
    pub(super) plain: Sized,
    pub(super) counter_build: Duration,
}

pub(super) fn sized(path: &Path) -> Result<Sized, String> {
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
pub(super) fn loaded_by_index(dist: &Path) -> Result<Vec<PathBuf>, String> {
    loaded_by_index_at(dist, "/")
}

/// [`loaded_by_index`] for a bundle served under `public_url` (`/console/`).
pub(super) fn loaded_by_index_at(dist: &Path, public_url: &str) -> Result<Vec<PathBuf>, String> {
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

pub(super) fn bundle(root: &Path, tools: &Tools) -> Result<Bundle, String> {
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

pub(super) fn total(files: &[Sized]) -> (u64, u64) {
    files
        .iter()
        .fold((0, 0), |(r, g), f| (r + f.raw, g + f.gzip))
}

/// Where the wasm's bytes go, by crate: `twiggy top` (CSV) of the app's and the counter's
/// wasm before wasm-bindgen and wasm-opt (they still have their names), summed per crate.
/// The custom sections, the name section and wasm-bindgen's `__wbindgen_describe*` functions
/// are left out: wasm-bindgen and wasm-opt remove them. None when twiggy is not installed.
pub(super) fn twiggy_by_crate(root: &Path, tools: &Tools) -> Option<String> {
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

pub(super) fn crate_sizes(tools: &Tools, wasm: &Path) -> Option<Vec<(String, u64)>> {
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
pub(super) fn crate_of(name: &str) -> String {
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
pub(super) fn csv_fields(line: &str) -> Vec<String> {
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

pub(super) struct Ready {
    pub(super) app_median: f64,
    pub(super) plain_median: f64,
    pub(super) app_range: (f64, f64),
    pub(super) plain_range: (f64, f64),
    pub(super) runs: usize,
    pub(super) samples: String,
}

pub(super) fn time_to_ready(root: &Path, tools: &Tools) -> Result<Ready, String> {
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
