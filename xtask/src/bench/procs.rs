//! Processes, ports, HTTP, and the small helpers every part shares (xtask is std only).

use std::env;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::tools::run as run_cmd;

// ---------------------------------------------------------------------------------------------
// Processes, ports, HTTP

/// A child process killed when dropped.
pub(super) struct Server {
    pub(super) child: Child,
}

impl Server {
    pub(super) fn spawn(cmd: &mut Command, log: &Path) -> Result<Server, String> {
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

    /// The proxy crate's fake YCloud on a free port, listening, with the benchmark's key and
    /// `behaviour` (`--zero-latency`, or `--connect-after-ms MS`); logs to `log`.
    pub(super) fn fake(
        root: &Path,
        behaviour: &[&str],
        log: &Path,
    ) -> Result<(SocketAddr, Server), String> {
        let addr = loopback()?;
        let mut fake = Server::spawn(
            Command::new(crate::fake_ycloud_binary(root))
                .arg(addr.port().to_string())
                .args(["--api-key", super::BENCH_KEY])
                .args(behaviour),
            log,
        )?;
        wait_listening(addr, &mut fake.child)?;
        Ok((addr, fake))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory removed when dropped.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(what: &str) -> Result<TempDir, String> {
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

pub(super) fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("bind: {e}"))
}

pub(super) fn loopback() -> Result<SocketAddr, String> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

/// A minimal HTTP/1.1 request (`Connection: close`); the status and the body.
pub(super) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    http_with(addr, method, path, body, "")
}

/// [`http`] with extra header lines (each ending in `\r\n`).
pub(super) fn http_with(
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
pub(super) fn wait_healthy(
    addr: SocketAddr,
    child: &mut Child,
    limit: Duration,
) -> Result<(), String> {
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

pub(super) fn wait_listening(addr: SocketAddr, child: &mut Child) -> Result<(), String> {
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
pub(super) fn ensure_wrk() -> Result<(), String> {
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

pub(super) fn median(xs: &[f64]) -> f64 {
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

pub(super) fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

pub(super) fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**missed**"
    }
}

pub(super) fn first_line(cmd: &str, args: &[&str]) -> String {
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

pub(super) fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
