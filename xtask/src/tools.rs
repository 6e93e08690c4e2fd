//! Installs the build and test tools that are missing, at the versions the project pins.
//!
//! Nothing here downloads from outside the registries this machine reaches (crates.io, npm,
//! Debian): trunk is told to stay offline and finds every tool it needs on PATH.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// trunk 0.22 needs a newer rustc than this machine has; 0.21.14 is the last that builds.
const TRUNK_VERSION: &str = "0.21.14";
/// wasm-opt from npm's `binaryen` (Debian's 108 produces a bundle that fails at runtime).
const WASM_OPT_VERSION: &str = "version_132";

/// The tools are in place; `command` runs a program with them first on PATH.
pub struct Tools {
    path: OsString,
}

impl Tools {
    /// The tools already on PATH, installing nothing (for tests of commands that use them).
    #[cfg(test)]
    pub fn from_path() -> Tools {
        Tools {
            path: env::var_os("PATH").unwrap_or_default(),
        }
    }

    /// Installs whatever is missing. `browser` adds Chromium and its driver (tests only).
    pub fn ensure(root: &Path, browser: bool) -> Result<Tools, String> {
        let cargo_bin = cargo_home().join("bin");
        let npm_bin = root.join("e2e/node_modules/.bin");
        let mut dirs = vec![npm_bin, cargo_bin];
        dirs.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
        let tools = Tools {
            path: env::join_paths(dirs).map_err(|e| format!("PATH: {e}"))?,
        };
        tools.ensure_wasm_target()?;
        tools.ensure_npm_packages(root)?;
        tools.ensure_trunk()?;
        tools.ensure_wasm_bindgen(root)?;
        if browser {
            ensure_chromium()?;
        }
        Ok(tools)
    }

    /// A command for `program` with the project's tools first on PATH.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", &self.path);
        if Path::new("/usr/bin/chromedriver").exists() && env::var_os("CHROMEDRIVER").is_none() {
            cmd.env("CHROMEDRIVER", "/usr/bin/chromedriver");
        }
        cmd
    }

    /// Where `program` is on the tools' PATH, if anywhere.
    fn find(&self, program: &str) -> Option<PathBuf> {
        env::split_paths(&self.path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    }

    /// First line a tool prints for `--version`, or None when it is not there.
    fn version_of(&self, program: &str, arg: &str) -> Option<String> {
        let out = self
            .command(program)
            .arg(arg)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        out.status
            .success()
            .then(|| text.lines().next().unwrap_or("").trim().to_string())
    }

    fn ensure_wasm_target(&self) -> Result<(), String> {
        let installed = self
            .command("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .map_err(|e| format!("rustup: {e}"))?;
        if String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
            return Ok(());
        }
        say(
            "the wasm32-unknown-unknown target",
            "the browser app compiles to it",
        );
        run(self
            .command("rustup")
            .args(["target", "add", "wasm32-unknown-unknown"]))
    }

    fn ensure_trunk(&self) -> Result<(), String> {
        let want = format!("trunk {TRUNK_VERSION}");
        if self.version_of("trunk", "--version").as_deref() == Some(want.as_str()) {
            return Ok(());
        }
        say(&want, "it builds the wasm bundle (about 9 minutes, once)");
        run(self.command("cargo").args([
            "install",
            "--locked",
            "--quiet",
            "trunk",
            "--version",
            TRUNK_VERSION,
        ]))
    }

    fn ensure_wasm_bindgen(&self, root: &Path) -> Result<(), String> {
        let version = locked_version(root, "wasm-bindgen")?;
        let want = format!("wasm-bindgen {version}");
        let have = self.version_of("wasm-bindgen", "--version");
        let runner = self.version_of("wasm-bindgen-test-runner", "--version");
        if have.as_deref() == Some(want.as_str()) && runner.is_some() {
            return Ok(());
        }
        say(
            &format!("wasm-bindgen-cli {version}"),
            "it must match the wasm-bindgen in Cargo.lock (about 3 minutes, once)",
        );
        // Not --locked: its lock file wants a webpki-roots the registry does not have.
        run(self.command("cargo").args([
            "install",
            "--quiet",
            "--force",
            "wasm-bindgen-cli",
            "--version",
            &version,
        ]))
    }

    /// The integration examples' own dependencies: `npm ci` in `examples/node`, and a
    /// virtual environment under `target/` with `examples/python/requirements.txt`. Returns
    /// that environment's Python.
    pub fn ensure_examples(&self, root: &Path) -> Result<PathBuf, String> {
        let node = root.join("examples/node");
        let lock = fs::read(node.join("package-lock.json"))
            .map_err(|e| format!("examples/node/package-lock.json: {e}"))?;
        let stamp = node.join("node_modules/.xtask-lock.json");
        if fs::read(&stamp).ok().as_deref() != Some(&lock[..]) {
            say(
                "the npm packages of examples/node (npm ci)",
                "the Node example verifies webhooks with standardwebhooks",
            );
            run(self
                .command("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&node))?;
            fs::write(&stamp, &lock).map_err(|e| format!("{}: {e}", stamp.display()))?;
        }
        let venv = root.join("target/examples-venv");
        let python = venv.join("bin/python");
        let requirements = fs::read(root.join("examples/python/requirements.txt"))
            .map_err(|e| format!("examples/python/requirements.txt: {e}"))?;
        let stamp = venv.join(".xtask-requirements.txt");
        if fs::read(&stamp).ok().as_deref() != Some(&requirements[..]) {
            say(
                "PyPI's standardwebhooks into target/examples-venv (python3 -m venv, pip)",
                "the Python example verifies webhooks with it",
            );
            let has_venv = self
                .command("python3")
                .args(["-c", "import ensurepip, venv"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !has_venv {
                say(
                    "Debian's python3-venv",
                    "the Python example runs in a virtual environment",
                );
                apt_install(&["python3-venv"])?;
            }
            run(self
                .command("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv))?;
            run(Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "-r"])
                .arg(root.join("examples/python/requirements.txt")))?;
            fs::write(&stamp, &requirements).map_err(|e| format!("{}: {e}", stamp.display()))?;
        }
        Ok(python)
    }

    fn ensure_npm_packages(&self, root: &Path) -> Result<(), String> {
        let e2e = root.join("e2e");
        let lock = fs::read(e2e.join("package-lock.json"))
            .map_err(|e| format!("e2e/package-lock.json: {e}"))?;
        // npm ci writes node_modules/.package-lock.json; equal lock files mean nothing changed.
        let stamp = e2e.join("node_modules/.xtask-lock.json");
        let wasm_opt_ok = self
            .version_of("wasm-opt", "--version")
            .is_some_and(|v| v.contains(WASM_OPT_VERSION));
        if wasm_opt_ok && fs::read(&stamp).ok().as_deref() == Some(&lock[..]) {
            return Ok(());
        }
        say(
            "the npm packages of e2e/ (npm ci)",
            "binaryen's wasm-opt for the bundle, playwright-core, axe-core and typescript for the tests",
        );
        run(self
            .command("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&e2e))?;
        fs::write(&stamp, &lock).map_err(|e| format!("{}: {e}", stamp.display()))
    }
}

fn ensure_chromium() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    say(
        "Debian's chromium and chromium-driver",
        "the browser tests and end-to-end tests drive headless Chromium",
    );
    apt_install(&["chromium", "chromium-driver"])
}

/// geckodriver from crates.io (Debian packages none): wasm-bindgen-test's runner and the
/// end-to-end smoke test drive Firefox through it.
const GECKODRIVER_VERSION: &str = "0.37.1";

/// The engines besides Chromium, ready to drive.
pub struct OtherEngines {
    /// geckodriver, for Firefox ESR.
    pub geckodriver: PathBuf,
    /// WebKitGTK's MiniBrowser, the browser WebKitWebDriver starts.
    pub minibrowser: PathBuf,
}

/// Firefox and WebKit, where customers also arrive: Debian's `firefox-esr`,
/// `webkit2gtk-driver` (WebKitWebDriver, and MiniBrowser through its library) and `xvfb`
/// with `xauth` (WebKitGTK needs a display, `xvfb-run` gives it one), plus geckodriver from
/// crates.io; each installed only when missing.
pub fn ensure_other_engines(tools: &Tools) -> Result<OtherEngines, String> {
    let debian = [
        ("/usr/bin/firefox-esr", "firefox-esr"),
        ("/usr/bin/WebKitWebDriver", "webkit2gtk-driver"),
        ("/usr/bin/xvfb-run", "xvfb"),
        ("/usr/bin/xauth", "xauth"),
    ];
    let mut missing: Vec<&str> = debian
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, package)| *package)
        .collect();
    if find_minibrowser().is_none() && !missing.contains(&"webkit2gtk-driver") {
        missing.push("webkit2gtk-driver");
    }
    if !missing.is_empty() {
        say(
            &format!("Debian's {}", missing.join(", ")),
            "the browser tests also run in Firefox, the end-to-end smoke test in Firefox and WebKit",
        );
        apt_install(&missing)?;
    }
    let minibrowser = find_minibrowser().ok_or_else(|| {
        "webkit2gtk-driver is installed, but no /usr/lib/*/webkit2gtk-4.1/MiniBrowser was found"
            .to_owned()
    })?;
    let want = format!("geckodriver {GECKODRIVER_VERSION}");
    let have = tools.version_of("geckodriver", "--version");
    if !have.is_some_and(|v| v.starts_with(&want)) {
        say(
            &want,
            "Firefox is driven through it (about 2 minutes, once)",
        );
        run(tools.command("cargo").args([
            "install",
            "--locked",
            "--quiet",
            "--force",
            "geckodriver",
            "--version",
            GECKODRIVER_VERSION,
        ]))?;
    }
    // The one that answered (cargo's bin directory comes first on the tools' PATH).
    let geckodriver = tools
        .find("geckodriver")
        .ok_or("geckodriver is installed, but not on PATH")?;
    Ok(OtherEngines {
        geckodriver,
        minibrowser,
    })
}

/// WebKitGTK's MiniBrowser, which Debian keeps off PATH in the library's directory of the
/// machine's architecture (`/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/` on amd64).
fn find_minibrowser() -> Option<PathBuf> {
    fs::read_dir("/usr/lib")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("webkit2gtk-4.1/MiniBrowser"))
        .find(|p| p.is_file())
}

/// The directory holding PostgreSQL's server programs (`initdb`, `pg_ctl`), installing
/// Debian's `postgresql` when there is none.
pub fn ensure_postgres() -> Result<PathBuf, String> {
    if let Some(bin) = find_postgres_bin() {
        return Ok(bin);
    }
    say(
        "Debian's postgresql",
        "the proxy's tests run its store on a throwaway PostgreSQL cluster too",
    );
    apt_install(&["postgresql"])?;
    find_postgres_bin().ok_or_else(|| {
        "postgresql is installed, but neither PATH nor /usr/lib/postgresql/*/bin has initdb \
         and pg_ctl"
            .to_owned()
    })
}

/// A directory with both `initdb` and `pg_ctl`: on PATH first, else Debian's (which keeps
/// them off PATH, under /usr/lib/postgresql/VERSION/bin), the newest version.
fn find_postgres_bin() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let on_path = env::split_paths(&env::var_os("PATH").unwrap_or_default()).find(|d| has_both(d));
    if on_path.is_some() {
        return on_path;
    }
    let debian: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| has_both(d))
        .collect();
    newest_version(debian)
}

/// Of `/usr/lib/postgresql/VERSION/bin` directories, the one with the highest VERSION
/// (numerically: 9.6 < 10 < 15).
fn newest_version(dirs: Vec<PathBuf>) -> Option<PathBuf> {
    let version = |dir: &Path| -> Vec<u32> {
        let name = dir
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.split('.').map(|p| p.parse().unwrap_or(0)).collect()
    };
    dirs.into_iter().max_by_key(|d| version(d))
}

/// `apt-get install` (after an update), through sudo unless running as root.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(if sudo { "sudo" } else { "apt-get" });
        if sudo {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-qq"]))?;
    let mut install = apt(&["install", "-y", "-qq"]);
    install.args(packages);
    run(&mut install)
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn cargo_home() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// The version of `package` recorded in Cargo.lock.
fn locked_version(root: &Path, package: &str) -> Result<String, String> {
    let lock =
        fs::read_to_string(root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == name_line {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err(format!("Cargo.lock has no {package}"))
}

/// One line saying what is installed and why.
fn say(what: &str, why: &str) {
    println!("xtask: installing {what}: missing or another version; {why}");
}

/// Runs a command with inherited output; a failure names the command.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        Err(format!(
            "`{} {}` failed ({status})",
            cmd.get_program().to_string_lossy(),
            args.join(" ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_found_in_the_first_path_directory_holding_it() {
        let base = env::temp_dir().join(format!("xtask-find-{}", std::process::id()));
        let (first, second) = (base.join("first"), base.join("second"));
        fs::create_dir_all(&first).unwrap();
        fs::create_dir_all(&second).unwrap();
        fs::write(second.join("geckodriver"), "").unwrap();
        let tools = Tools {
            path: env::join_paths([&first, &second]).unwrap(),
        };
        assert_eq!(tools.find("geckodriver"), Some(second.join("geckodriver")));
        assert_eq!(tools.find("chromedriver"), None);
        fs::write(first.join("geckodriver"), "").unwrap();
        assert_eq!(tools.find("geckodriver"), Some(first.join("geckodriver")));
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_newest_postgresql_is_chosen_numerically() {
        let dirs = ["9.6", "15", "10", "13"]
            .iter()
            .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
            .collect();
        assert_eq!(
            newest_version(dirs),
            Some(PathBuf::from("/usr/lib/postgresql/15/bin"))
        );
        assert_eq!(newest_version(Vec::new()), None);
    }
}
