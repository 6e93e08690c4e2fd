//! Sandbox mode: when it is on, and the fake ids and SDK the page is handed in it.

use std::net::SocketAddr;

use super::parse::flag;
use super::ConfigError;

/// Embedded Signup ids handed to the browser in sandbox mode. They look like Meta's ids
/// (digits) so that any validation in the browser accepts them, and they are obviously fake.
pub const SANDBOX_APP_ID: &str = "100000000000001";
/// See [`SANDBOX_APP_ID`].
pub const SANDBOX_CONFIG_ID: &str = "200000000000002";
/// See [`SANDBOX_APP_ID`].
pub const SANDBOX_SOLUTION_ID: &str = "300000000000003";
/// The proxy's own stand-in for the SDK, served in sandbox mode.
pub const SANDBOX_FB_SDK_URL: &str = "/sandbox/sdk.js";

/// `SANDBOX` or `--sandbox`, refused on a non-loopback address unless `SANDBOX_ALLOW_PUBLIC`.
pub(super) fn enabled(
    get: &impl Fn(&str) -> Option<String>,
    cli_flag: bool,
    addr: SocketAddr,
) -> Result<bool, ConfigError> {
    // Sandbox mode answers fake successes: only ever on request, and only where nobody
    // else can reach it unless that is asked for too.
    let sandbox = cli_flag || flag(get, "SANDBOX")?;
    if sandbox && !addr.ip().is_loopback() && !flag(get, "SANDBOX_ALLOW_PUBLIC")? {
        return Err(ConfigError::new(
            "SANDBOX",
            format!(
                "refused on the non-loopback ADDR {addr} (anyone reaching it would get \
                 fake successes); listen on 127.0.0.1 or set SANDBOX_ALLOW_PUBLIC=true"
            ),
        ));
    }
    Ok(sandbox)
}
