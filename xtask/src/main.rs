//! `cargo xtask serve | test | build | bench`: the project's commands.
//!
//! Std only but for the two compressors of the bundle (brotli, flate2), so it compiles in
//! seconds on a fresh clone. Every tool is installed only when it is missing or at the wrong
//! version, and each install says in one line what and why.

mod bench;
mod package;
mod postgres;
mod structure;
mod tools;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use tools::{run, Tools};

const USAGE: &str = "\
usage: cargo xtask <command>
  serve [--addr HOST:PORT]  build the release bundle and run the proxy serving it
                            (--sandbox when no YCLOUD_API_KEY is in the environment
                            or in ./.env; live with one)
  test                      install what is missing, then run every test layer:
                            native (with a throwaway PostgreSQL cluster), API fuzzing,
                            wasm in headless Chromium and Firefox, end-to-end
                            (Chromium, the integration examples, a smoke test in
                            Firefox and WebKit)
  test native|api|wasm|e2e  run one layer only
  postgres COMMAND [ARG…]   run COMMAND with PROXY_TEST_POSTGRES_URL naming a throwaway
                            PostgreSQL cluster (e.g. cargo test -p proxy --test api postgres)
  build                     build the release bundles (dist/, dist/console/), the
                            proxy's binaries and the widget package
                            (target/wa-signup-VERSION.tgz, npm pack)
  setup [--browser]         install the missing tools only (--browser: also Chromium,
                            Firefox ESR, WebKitGTK and their drivers)
  structure                 check the tree's shape: no import cycles between sibling
                            modules, no source file over 600 lines before its tests,
                            docs/ARCHITECTURE.md's module map true to the files
  bench                     run every benchmark side by side, write BENCHMARKS.md
  bench PART                one part of the proxy's, printed: load (against Node),
                            growth (1, 100,000, 1,000,000 sign-ups stored), streams
                            (10,000 open), health (100,000 numbers read), proxy (all four)";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&root, &args[1..]),
        Some("test") => test(&root, args.get(1).map(String::as_str)),
        Some("build") => Tools::ensure(&root, false).and_then(|t| build(&root, &t)),
        Some("bench") => bench::run(&root, args.get(1).map(String::as_str)),
        Some("postgres") => with_postgres(&root, &args[1..]),
        Some("structure") => structure::run(&root),
        Some("setup") => setup(&root, args.iter().any(|a| a == "--browser")),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask/Cargo.toml sits one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Release bundle into `dist/` with trunk (offline, tools pinned), the partner console's
/// into `dist/console/`, and their precompressed copies, then the proxy crate's binaries:
/// `wa-signup-proxy` and `fake-ycloud` (the fake YCloud of e2e tests and benchmarks), then
/// the typed widget package around the widget's bundle.
fn build(root: &Path, tools: &Tools) -> Result<(), String> {
    // trunk runs cargo with --offline: every crate must already be in the local registry.
    run(Command::new("cargo")
        .arg("fetch")
        .arg("--quiet")
        .current_dir(root))?;
    run(tools
        .command("trunk")
        .args(["build", "--release", "--offline"])
        .current_dir(root))?;
    // The partner console, a bundle of its own in dist/console (after the widget's: trunk
    // replaces its whole dist folder).
    run(tools
        .command("trunk")
        .args(["build", "--release", "--offline"])
        .current_dir(root.join("console")))?;
    precompress(&root.join("dist"))?;
    precompress(&root.join("dist/console"))?;
    run(Command::new("cargo")
        .args(["build", "--release", "--quiet", "-p", "proxy"])
        .current_dir(root))?;
    package::pack(root, tools)?;
    Ok(())
}

/// Writes `NAME.br` (brotli, quality 11) and `NAME.gz` (gzip -9) beside each script, wasm
/// and stylesheet of `dist`. The proxy serves them as they are, by the request's
/// `Accept-Encoding`: no request waits for compression, and the levels are the highest, which
/// compressing on the fly cannot afford (the wasm is about a sixth smaller in brotli 11 than
/// in the quick brotli the proxy uses). A dist without them is still served, compressed then.
fn precompress(dist: &Path) -> Result<(), String> {
    use std::io::Write;
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("{}: {e}", dist.display()))?
            .path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !["js", "wasm", "css"].contains(&ext) {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let beside = |suffix: &str| {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            PathBuf::from(name)
        };
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 22,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &bytes[..], &mut br, &params)
            .map_err(|e| format!("brotli {}: {e}", path.display()))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gz = gz
            .write_all(&bytes)
            .and_then(|()| gz.finish())
            .map_err(|e| format!("gzip {}: {e}", path.display()))?;
        for (suffix, data) in [(".br", &br), (".gz", &gz)] {
            let out = beside(suffix);
            std::fs::write(&out, data).map_err(|e| format!("{}: {e}", out.display()))?;
        }
    }
    Ok(())
}

/// `cargo xtask setup`: the build's tools; with `browser`, every engine the tests drive.
fn setup(root: &Path, browser: bool) -> Result<(), String> {
    let tools = Tools::ensure(root, browser)?;
    if browser {
        tools::ensure_other_engines(&tools)?;
    }
    Ok(())
}

fn proxy_binary(root: &Path) -> PathBuf {
    root.join("target/release/wa-signup-proxy")
}

/// The sandbox's fake YCloud over HTTP, built beside the proxy by [`build`].
fn fake_ycloud_binary(root: &Path) -> PathBuf {
    root.join("target/release/fake-ycloud")
}

fn serve(root: &Path, args: &[String]) -> Result<(), String> {
    let tools = Tools::ensure(root, false)?;
    build(root, &tools)?;
    let mut cmd = Command::new(proxy_binary(root));
    cmd.current_dir(root).env("DIST_DIR", root.join("dist"));
    match args {
        [] => {}
        [flag, addr] if flag == "--addr" => {
            cmd.env("ADDR", addr);
        }
        _ => return Err(format!("serve takes only --addr HOST:PORT\n{USAGE}")),
    }
    // The proxy refuses to start without a key unless sandbox mode is asked for; this
    // command is for trying the kit, so it asks for it, and says so.
    if has_ycloud_key(root) {
        println!("xtask: YCLOUD_API_KEY is configured: starting the proxy in live mode");
    } else {
        println!("xtask: no YCLOUD_API_KEY configured: starting the proxy with --sandbox (nothing real happens)");
        cmd.arg("--sandbox");
    }
    run(&mut cmd)
}

/// True when `YCLOUD_API_KEY` is set and not empty, in the environment or in `dir/.env`
/// (the file the proxy reads from its working directory).
fn has_ycloud_key(dir: &Path) -> bool {
    if env::var("YCLOUD_API_KEY").is_ok_and(|v| !v.trim().is_empty()) {
        return true;
    }
    std::fs::read_to_string(dir.join(".env")).is_ok_and(|text| dotenv_has_key(&text))
}

/// Whether a `.env` text sets `YCLOUD_API_KEY` to something not empty.
fn dotenv_has_key(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        match line.split_once('=') {
            Some((name, value)) if name.trim() == "YCLOUD_API_KEY" => {
                let value = value.split(" #").next().unwrap_or_default().trim();
                !value
                    .trim_matches(|c| c == '"' || c == '\'')
                    .trim()
                    .is_empty()
            }
            _ => false,
        }
    })
}

fn test(root: &Path, layer: Option<&str>) -> Result<(), String> {
    let all = layer.is_none();
    let want = |name: &str| all || layer == Some(name);
    if let Some(l) = layer {
        if !["native", "api", "wasm", "e2e"].contains(&l) {
            return Err(format!("unknown test layer {l:?}\n{USAGE}"));
        }
    }
    let tools = Tools::ensure(root, want("wasm") || want("e2e"))?;
    if want("native") {
        let postgres = TestPostgres::start()?;
        step("native tests: cargo test --workspace");
        run(Command::new("cargo")
            .args(["test", "--workspace"])
            .current_dir(root)
            .env(POSTGRES_URL_VAR, postgres.url()))?;
        step("typed widget package: tsc --noEmit --strict on a partner's usage");
        package::typecheck(root, &tools)?;
    }
    if want("api") {
        step("API fuzzing: schemathesis against /api/openapi.json (no 5xx allowed)");
        run(Command::new("bash")
            .arg("proxy/tests/schemathesis.sh")
            .current_dir(root))?;
    }
    // Firefox and WebKit besides Chromium: customers arrive in all three.
    let engines = match want("wasm") || want("e2e") {
        true => Some(tools::ensure_other_engines(&tools)?),
        false => None,
    };
    if let Some(engines) = engines.as_ref().filter(|_| want("wasm")) {
        let wasm_tests = [
            "test",
            "-p",
            "wa-signup",
            "--target",
            "wasm32-unknown-unknown",
        ];
        // wasm-bindgen-test-runner takes the driver its environment names (GECKODRIVER
        // before CHROMEDRIVER), else the first one on PATH; webdriver.json holds each
        // browser's options.
        step("browser tests: wasm-bindgen-test in headless Chromium");
        run(tools
            .command("cargo")
            .args(wasm_tests)
            .current_dir(root)
            .env_remove("GECKODRIVER"))?;
        step("browser tests: wasm-bindgen-test in headless Firefox ESR (geckodriver)");
        run(tools
            .command("cargo")
            .args(wasm_tests)
            .current_dir(root)
            .env_remove("CHROMEDRIVER")
            .env("GECKODRIVER", &engines.geckodriver))?;
    }
    if let Some(engines) = engines.as_ref().filter(|_| want("e2e")) {
        let python = tools.ensure_examples(root)?;
        step(
            "end-to-end: release bundle + proxy binary; Playwright in Chromium, the integration \
             examples, a smoke test in Firefox and WebKit through WebDriver (under xvfb-run)",
        );
        build(root, &tools)?;
        // xvfb-run gives WebKitGTK a display (Chromium and Firefox run headless anyway).
        run(tools
            .command("xvfb-run")
            .args(["-a", "npm", "test", "--silent"])
            .current_dir(root.join("e2e"))
            .env("PROXY_BIN", proxy_binary(root))
            .env("FAKE_YCLOUD_BIN", fake_ycloud_binary(root))
            .env("DIST_DIR", root.join("dist"))
            .env("EXAMPLES_PYTHON", python)
            .env("GECKODRIVER", &engines.geckodriver)
            .env("WEBKIT_MINIBROWSER", &engines.minibrowser))?;
    }
    Ok(())
}

/// Names the PostgreSQL server the proxy's tests create their databases on; they fail
/// without it.
const POSTGRES_URL_VAR: &str = "PROXY_TEST_POSTGRES_URL";

/// The server the proxy's PostgreSQL tests use: the one `PROXY_TEST_POSTGRES_URL` already
/// names, or a throwaway cluster (stopped and removed when this is dropped, also when the
/// tests fail).
enum TestPostgres {
    Given(String),
    Throwaway(postgres::Cluster),
}

impl TestPostgres {
    fn start() -> Result<TestPostgres, String> {
        if let Some(url) = env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            println!("xtask: {POSTGRES_URL_VAR} is set: the PostgreSQL tests use that server");
            return Ok(TestPostgres::Given(url));
        }
        let bin = tools::ensure_postgres()?;
        step("a throwaway PostgreSQL cluster for the proxy's tests");
        let cluster = postgres::Cluster::start(&bin)?;
        println!("xtask: PostgreSQL at {}", cluster.url());
        Ok(TestPostgres::Throwaway(cluster))
    }

    fn url(&self) -> String {
        match self {
            TestPostgres::Given(url) => url.clone(),
            TestPostgres::Throwaway(cluster) => cluster.url(),
        }
    }
}

/// `cargo xtask postgres COMMAND…`: one command with a test PostgreSQL server.
fn with_postgres(root: &Path, command: &[String]) -> Result<(), String> {
    let Some((program, args)) = command.split_first() else {
        return Err(format!("postgres needs a command to run\n{USAGE}"));
    };
    let postgres = TestPostgres::start()?;
    run(Command::new(program)
        .args(args)
        .current_dir(root)
        .env(POSTGRES_URL_VAR, postgres.url()))
}

fn step(what: &str) {
    println!("\n==> {what}");
}

#[cfg(test)]
mod tests {
    use super::dotenv_has_key;

    #[test]
    fn a_dotenv_key_is_found_only_when_set() {
        assert!(dotenv_has_key("YCLOUD_API_KEY=abc\n"));
        assert!(dotenv_has_key("# c\nexport YCLOUD_API_KEY = \"abc\"\n"));
        assert!(!dotenv_has_key("YCLOUD_API_KEY=\n"));
        assert!(!dotenv_has_key("YCLOUD_API_KEY=\"\" # none yet\n"));
        assert!(!dotenv_has_key("# YCLOUD_API_KEY=abc\nYCLOUD_BASE_URL=x\n"));
        assert!(!dotenv_has_key(""));
    }
}
