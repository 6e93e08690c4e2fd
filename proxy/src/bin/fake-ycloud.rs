//! `fake-ycloud`: the sandbox's fake YCloud over HTTP, for the end-to-end suite, the
//! benchmarks and trying a live-mode proxy by hand. What it answers: `proxy/src/sandbox.rs`.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use proxy::providers::ycloud::fake::http::{router, FakeServer};
use proxy::providers::ycloud::fake::FakeYCloud;

const USAGE: &str = "\
fake-ycloud [PORT] [--api-key KEY] [--connect-after-ms MS | --zero-latency]

The sandbox's fake YCloud (behaviour table: proxy/src/sandbox.rs) on 127.0.0.1:PORT
(0 or none: a free port). Prints the port as the first line on stdout once it listens;
point a proxy at it with YCLOUD_BASE_URL=http://127.0.0.1:PORT/v2.

  --api-key KEY          the only X-API-Key accepted (default: any present key)
  --connect-after-ms MS  numbers read CONNECTED MS after their register (default 3000)
  --zero-latency         numbers are CONNECTED at once (benchmarks)

Tests: GET /__calls lists the calls received (with their statuses); POST /__control
{\"paymentMissing\": bool, \"holdPending\": bool} sets the switches; POST /__faults
{\"errorPercent\", \"rateLimitPercent\", \"hangPercent\", \"hangMs\"} injects failures.
";

struct Args {
    port: u16,
    api_key: Option<String>,
    connect_after: Duration,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        port: 0,
        api_key: None,
        connect_after: Duration::from_secs(3),
    };
    let mut port_seen = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--api-key" => out.api_key = Some(value("--api-key")?),
            "--connect-after-ms" => {
                let v = value("--connect-after-ms")?;
                let ms = v
                    .parse()
                    .map_err(|_| format!("--connect-after-ms: {v:?} is not a number"))?;
                out.connect_after = Duration::from_millis(ms);
            }
            "--zero-latency" => out.connect_after = Duration::ZERO,
            p if !port_seen && !p.starts_with('-') => {
                out.port = p.parse().map_err(|_| format!("{p:?} is not a port"))?;
                port_seen = true;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(raw) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    // The first line on stdout is the port, for whoever started the fake.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{port}");
    let _ = stdout.flush();
    eprintln!(
        "fake YCloud at http://127.0.0.1:{port}/v2 (numbers connect after {} ms)",
        args.connect_after.as_millis()
    );
    let server = Arc::new(FakeServer::new(
        FakeYCloud::new(args.connect_after),
        args.api_key,
    ));
    match axum::serve(listener, router(server)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn arguments() {
        let a = args(&[]).unwrap();
        assert_eq!((a.port, a.connect_after), (0, Duration::from_secs(3)));
        let a = args(&["8099", "--api-key", "k", "--zero-latency"]).unwrap();
        assert_eq!(a.port, 8099);
        assert_eq!(a.api_key.as_deref(), Some("k"));
        assert_eq!(a.connect_after, Duration::ZERO);
        let a = args(&["--connect-after-ms", "250"]).unwrap();
        assert_eq!(a.connect_after, Duration::from_millis(250));
        assert!(args(&["1", "2"]).is_err());
        assert!(args(&["--api-key"]).is_err());
        assert!(args(&["--connect-after-ms", "soon"]).is_err());
        assert!(args(&["--fast"]).is_err());
    }
}
