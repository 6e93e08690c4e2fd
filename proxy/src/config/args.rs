//! The command line: `--help`, `--version`, `--addr`, `--sandbox`.

use super::ConfigError;

/// True when the command line asks for the usage text.
pub fn wants_help() -> bool {
    std::env::args().skip(1).any(|a| a == "--help" || a == "-h")
}

/// True when the command line asks for the version.
pub fn wants_version() -> bool {
    std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
}

/// The proxy's version, as `--version` and `/healthz` report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The command-line flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--addr HOST:PORT` or `--addr=HOST:PORT`: overrides `ADDR`.
    pub addr: Option<String>,
    /// `--sandbox`: same as `SANDBOX=true`.
    pub sandbox: bool,
}

/// Parses `--addr HOST:PORT`, `--addr=HOST:PORT` and `--sandbox`.
///
/// # Errors
/// An unknown argument or `--addr` without a value.
pub fn parse_args(args: &[String]) -> Result<Flags, ConfigError> {
    let mut flags = Flags::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--sandbox" {
            flags.sandbox = true;
        } else if arg == "--addr" {
            match it.next() {
                Some(v) => flags.addr = Some(v.clone()),
                None => {
                    return Err(ConfigError::new(
                        "--addr",
                        "expects an address, e.g. 127.0.0.1:8080",
                    ))
                }
            }
        } else if let Some(v) = arg.strip_prefix("--addr=") {
            flags.addr = Some(v.to_owned());
        } else {
            return Err(ConfigError::new(
                "arguments",
                format!(
                    "unknown argument {arg:?} (only --addr and --sandbox are accepted; see --help)"
                ),
            ));
        }
    }
    Ok(flags)
}
