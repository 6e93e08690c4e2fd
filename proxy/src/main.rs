//! `wa-signup-proxy`: reads the configuration, then serves until SIGINT/SIGTERM.

use std::process::ExitCode;

use proxy::config::{usage, wants_help, wants_version, Settings, VERSION};
use proxy::startup::{init_tracing, Application};

/// jemalloc rather than the system's malloc: with thousands of event streams open, most of
/// each connection's buffers are never written, and jemalloc leaves those pages unbacked
/// (glibc's heap had them resident; BENCHMARKS.md, "Open event streams").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    if wants_help() {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    if wants_version() {
        println!("wa-signup-proxy {VERSION}");
        return ExitCode::SUCCESS;
    }
    // Settings first: they say how to log. A bad one is printed on its own line.
    let settings = match Settings::from_env_and_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(settings.log_format);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", app.banner());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
