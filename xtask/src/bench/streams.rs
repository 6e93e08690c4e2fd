//! Memory with many event streams open: [`OPEN`] pending sign-ups (the fake connects numbers
//! only after a day), each with its `GET /api/onboardings/{id}/events` opened from this one
//! client, in steps, memory read after each.
//!
//! Both ends hold a socket per stream: this process and the proxy each need more than
//! [`OPEN`] file descriptors, so the soft `RLIMIT_NOFILE` of this process (inherited by the
//! proxy it starts) is raised first when it is lower, with util-linux's `prlimit` (xtask is
//! std only: no `setrlimit` binding).

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::load::{json_string, live_proxy_command, status_kb};
use super::procs::{http, loopback, verdict, wait_healthy, Server, TempDir};
use super::TARGET_STREAMS_KB;

/// Event streams open at the end.
pub(super) const OPEN: usize = 10_000;
/// Event streams opened, in steps, on one proxy.
const STEPS: [usize; 3] = [1_000, 5_000, OPEN];
/// Clients creating the pending sign-ups at once.
const CREATORS: usize = 4;

/// Memory with event streams open on pending sign-ups.
pub(super) struct Streams {
    pub(super) onboardings: usize,
    /// VmRSS with the pending sign-ups and no stream.
    pub(super) base_kb: u64,
    /// (streams open, VmRSS).
    pub(super) steps: Vec<(usize, u64)>,
    /// The soft limit of open files before and after raising it.
    pub(super) nofile: (u64, u64),
}

pub(super) fn run(root: &Path) -> Result<Streams, String> {
    let dir = TempDir::new("streams")?;
    // Each side's sockets, plus the proxy's database, log and listener, with room to spare.
    let nofile = raise_nofile(OPEN as u64 + 1_024)?;
    let (fake_addr, fake) = Server::fake(
        root,
        &["--connect-after-ms", "86400000"],
        &dir.0.join("fake-pending.log"),
    )?;
    let db = dir.0.join("streams");
    fs::create_dir_all(&db).map_err(|e| e.to_string())?;
    let addr = loopback()?;
    // Anonymous sign-ups (no session needed for this), and the per-client and overall
    // limits raised: all the streams come from this one client.
    let room = (2 * OPEN).to_string();
    let mut proxy = Server::spawn(
        live_proxy_command(root, &db, addr, &format!("http://{fake_addr}/v2"))
            .env("ALLOW_ANONYMOUS_ONBOARDINGS", "true")
            .env("EVENT_STREAMS_PER_CLIENT", &room)
            .env("EVENT_STREAMS_MAX", &room)
            .env("MAX_CONCURRENT_REQUESTS", &room)
            .env("REQUESTS_IN_FLIGHT_PER_CLIENT", &room)
            .env("EVENT_STREAM_MAX_SECS", "3600"),
        &dir.0.join("proxy-streams.log"),
    )?;
    wait_healthy(addr, &mut proxy.child, Duration::from_secs(30))?;
    println!("  {OPEN} pending sign-ups");
    let started = Instant::now();
    let creators: Vec<_> = (0..CREATORS)
        .map(|c| std::thread::spawn(move || pending_signups(addr, c)))
        .collect();
    let mut signups = Vec::with_capacity(OPEN);
    for c in creators {
        signups.extend(c.join().map_err(|_| "a creating client panicked")??);
    }
    println!("    made in {:.1} s", started.elapsed().as_secs_f64());
    sleep(Duration::from_secs(2));
    let pid = proxy.child.id();
    let base_kb = status_kb(pid, "VmRSS")?;
    let mut open = Vec::with_capacity(OPEN);
    let mut steps = Vec::new();
    for want in STEPS {
        while open.len() < want {
            let (id, token) = &signups[open.len()];
            open.push(open_stream(addr, id, token)?);
        }
        sleep(Duration::from_secs(1));
        let kb = status_kb(pid, "VmRSS")?;
        println!(
            "    {want} open: RSS {:.1} MB ({:.1} KB a stream)",
            kb as f64 / 1024.0,
            kb.saturating_sub(base_kb) as f64 * 1.024 / want as f64
        );
        steps.push((want, kb));
    }
    drop(open);
    drop(proxy);
    drop(fake);
    Ok(Streams {
        onboardings: OPEN,
        base_kb,
        steps,
        nofile,
    })
}

/// Client `c`'s share of the pending sign-ups: (id, client token) each.
fn pending_signups(addr: SocketAddr, c: usize) -> Result<Vec<(String, String)>, String> {
    (c..OPEN)
        .step_by(CREATORS)
        .map(|i| {
            let body = format!(
                r#"{{"mode":"standard","waba_id":"66{i:012}1","phone_number_id":"55{i:012}1"}}"#
            );
            let (status, text) = http(addr, "POST", "/api/onboardings", Some(&body))
                .map_err(|e| format!("{addr}: {e}"))?;
            if status != 201 || !text.contains("\"state\":\"pending\"") {
                return Err(format!("a pending sign-up: {status} {text}"));
            }
            Ok((
                json_string(&text, "id")?,
                json_string(&text, "client_token")?,
            ))
        })
        .collect()
}

/// The soft `RLIMIT_NOFILE` of this process raised to at least `need` (up to the hard
/// limit, which root may raise too); answers (before, after).
fn raise_nofile(need: u64) -> Result<(u64, u64), String> {
    let (soft, hard) = nofile()?;
    if soft >= need {
        return Ok((soft, soft));
    }
    let new_hard = hard.max(need);
    let out = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={need}:{new_hard}"))
        .output()
        .map_err(|e| format!("prlimit (util-linux): {e}"))?;
    let (after, _) = nofile()?;
    if after < need {
        return Err(format!(
            "{OPEN} event streams need {need} open files in this process and the proxy; the \
             limit is {soft} (hard {hard}) and prlimit could not raise it: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    println!("  open files: soft limit raised from {soft} to {after}");
    Ok((soft, after))
}

/// This process's (soft, hard) `RLIMIT_NOFILE`, from /proc/self/limits.
fn nofile() -> Result<(u64, u64), String> {
    let limits = fs::read_to_string("/proc/self/limits").map_err(|e| format!("limits: {e}"))?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .ok_or("no \"Max open files\" in /proc/self/limits")?;
    let mut n = line["Max open files".len()..].split_whitespace().map(|v| {
        if v == "unlimited" {
            Ok(u64::MAX)
        } else {
            v.parse::<u64>().map_err(|e| format!("{line:?}: {e}"))
        }
    });
    match (n.next(), n.next()) {
        (Some(soft), Some(hard)) => Ok((soft?, hard?)),
        _ => Err(format!("{line:?}: no limits")),
    }
}

/// Opens `GET /api/onboardings/{id}/events` with the onboarding's client token and reads up
/// to its first event, so the stream is established on the server when this returns.
fn open_stream(addr: SocketAddr, id: &str, token: &str) -> Result<BufReader<TcpStream>, String> {
    let fail = |e: std::io::Error| format!("event stream of {id}: {e}");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(fail)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    write!(
        s,
        "GET /api/onboardings/{id}/events HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
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

/// The targets' row: RSS added by [`OPEN`] streams.
pub(super) fn target_row(w: &mut String, s: &Streams) {
    let Some((n, kb)) = s.steps.last() else {
        return;
    };
    let added = kb.saturating_sub(s.base_kb);
    let _ = writeln!(
        w,
        "| {n} open event streams, RSS added | {:.1} MB ({:.1} KB a stream) | none open: {:.1} MB | ≤ {} MB added | {} |",
        added as f64 / 1024.0,
        added as f64 * 1.024 / *n as f64,
        s.base_kb as f64 / 1024.0,
        TARGET_STREAMS_KB / 1024,
        verdict(*n >= OPEN && added <= TARGET_STREAMS_KB)
    );
}

/// The report's section.
pub(super) fn render(w: &mut String, s: &Streams) {
    let _ = writeln!(w, "## Open event streams\n");
    let _ = writeln!(
        w,
        "{} pending sign-ups (a fake that connects numbers only after a day; each has its \
         follower polling), then `GET /api/onboardings/{{id}}/events` opened on them with \
         their client tokens from one client (`EVENT_STREAMS_PER_CLIENT`, \
         `EVENT_STREAMS_MAX`, `MAX_CONCURRENT_REQUESTS` and `REQUESTS_IN_FLIGHT_PER_CLIENT` \
         raised for it), each read to its first event. Open files: {}. RSS with none open: \
         {:.1} MB.\n",
        s.onboardings,
        if s.nofile.0 == s.nofile.1 {
            format!("the soft limit ({}) was enough for both ends", s.nofile.0)
        } else {
            format!(
                "the soft limit raised from {} to {} (`prlimit`) for both ends",
                s.nofile.0, s.nofile.1
            )
        },
        s.base_kb as f64 / 1024.0
    );
    let _ = writeln!(
        w,
        "| streams open | RSS | added, per stream |\n|---|---|---|"
    );
    for (n, kb) in &s.steps {
        let _ = writeln!(
            w,
            "| {n} | {:.1} MB | {:.1} KB |",
            *kb as f64 / 1024.0,
            kb.saturating_sub(s.base_kb) as f64 * 1.024 / *n as f64
        );
    }
    let _ = writeln!(w);
}
