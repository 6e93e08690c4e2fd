//! The one table of configuration variables. `--help`, the tables in README.md and
//! docs/API.md, and `.env.example` are all generated from [`VARIABLES`]; a test fails when a
//! generated copy differs, and every variable the proxy reads must be listed here (reading an
//! unlisted one panics in debug builds, so tests catch it).
//!
//! To add a variable: add a [`Var`] below, then regenerate the copies with
//! `UPDATE_CONFIG_DOCS=1 cargo test -p proxy --lib config::vars`.

/// One row: a variable (or a few that only make sense together).
#[derive(Debug, Clone, Copy)]
pub struct Var {
    /// The variables the row documents.
    pub names: &'static [&'static str],
    /// One short plain-text line for `--help`, the README and `.env.example`.
    pub help: &'static str,
    /// A value for `.env.example`; empty: the line stays `# NAME=`.
    pub example: &'static str,
    /// The full meaning, Markdown, for docs/API.md.
    pub meaning: &'static str,
    /// The default, Markdown.
    pub default: &'static str,
}

/// Every variable the proxy reads, in the order the docs list them.
pub const VARIABLES: &[Var] = &[
    Var {
        names: &["ADDR"],
        help: "listen address HOST:PORT (--addr overrides)",
        example: "127.0.0.1:8080",
        meaning: "listen address, `HOST:PORT` (the flag `--addr` overrides it)",
        default: "`127.0.0.1:8080`",
    },
    Var {
        names: &["SANDBOX"],
        help: "true: sandbox mode, in-process fakes, nothing real (--sandbox does the same)",
        example: "true",
        meaning: "`true` (or `1`, `yes`): **sandbox mode**, an in-process fake YCloud and local SDK and popup stand-ins, nothing real; the flag `--sandbox` does the same. `false`, `0`, `no` or unset: live",
        default: "live",
    },
    Var {
        names: &["SANDBOX_ALLOW_PUBLIC"],
        help: "true: allow sandbox mode on a non-loopback ADDR",
        example: "",
        meaning: "`true`: allow sandbox mode on a non-loopback `ADDR`. Otherwise a sandbox whose address is not in 127.0.0.0/8 or `::1` is refused at start-up (`SANDBOX: refused on the non-loopback ADDR …`), since anyone reaching it would get fake successes",
        default: "`false`",
    },
    Var {
        names: &["YCLOUD_API_KEY"],
        help: "YCloud API key (required live with the ycloud provider; unused in sandbox)",
        example: "your-ycloud-api-key",
        meaning: "YCloud API key (printable ASCII, no spaces); required in live mode with `WHATSAPP_PROVIDER=ycloud` (`YCLOUD_API_KEY: required …` otherwise). In sandbox mode a configured key is not used, and start-up says so in one warning line",
        default: "none",
    },
    Var {
        names: &["YCLOUD_BASE_URL"],
        help: "YCloud API base (https; http only to loopback)",
        example: "",
        meaning: "YCloud API base, an `https` URL (`http` only towards 127.0.0.0/8, `::1` or `localhost`: the key travels with every call)",
        default: "`https://api.ycloud.com/v2`",
    },
    Var {
        names: &["YCLOUD_WEBHOOK_SECRET"],
        help: "secret of the YCloud webhook endpoint (without it: 503)",
        example: "whsec_from-ycloud-console",
        meaning: "secret of the YCloud webhook endpoint",
        default: "none: `POST /webhooks/ycloud` answers 503",
    },
    Var {
        names: &["FB_APP_ID", "FB_CONFIG_ID", "FB_SOLUTION_ID"],
        help: "Meta app id, Embedded Signup configuration id, YCloud solution id (required live)",
        example: "",
        meaning: "Meta app id, Embedded Signup configuration id, YCloud solution id, handed to the browser (letters, digits, `_`, `-`); required in live mode; with `WHATSAPP_PROVIDER=meta` `FB_SOLUTION_ID` may be left out (a Tech Provider's own app has no YCloud solution: the launch sends `setup: {}`)",
        default: "sandbox values in sandbox mode",
    },
    Var {
        names: &["FB_ES_VERSION"],
        help: "Embedded Signup version: v4 or v4-public-preview (v2, v3 retired)",
        example: "v4",
        meaning: "Embedded Signup version the launch buttons ask for: `v4` or `v4-public-preview`; `v2`, `v3` and their previews (retired by Meta on 2026-10-15) stop start-up naming the date; published in `/api/config` as `es_version`",
        default: "`v4`",
    },
    Var {
        names: &["FB_GRAPH_VERSION"],
        help: "Graph API version for FB.init and Graph calls",
        example: "",
        meaning: "Graph API version (`vN.N`) for `FB.init` and the proxy's Graph calls",
        default: "`v26.0`",
    },
    Var {
        names: &["FB_SDK_URL"],
        help: "where the browser loads the Facebook SDK from (URL or path)",
        example: "",
        meaning: "where the browser loads the Facebook SDK from: an `http(s)` URL or a path on the proxy; in live mode an absolute URL must be `https` (plain `http` only on a loopback address)",
        default: "`https://connect.facebook.net/en_US/sdk.js` (sandbox: `/sandbox/sdk.js`)",
    },
    Var {
        names: &["FB_APP_SECRET"],
        help: "Meta app secret: code exchange, ownership check, Meta webhook signatures (required live)",
        example: "your-meta-app-secret",
        meaning: "Meta app secret: turns on the code exchange and the WABA ownership check, and keys `X-Hub-Signature-256` of Meta's webhooks; required in live mode unless `ALLOW_UNVERIFIED_ONBOARDINGS=true` (with `meta`, always required)",
        default: "none: refused in live mode; in sandbox mode no check, `/api/config` says `verification: false`",
    },
    Var {
        names: &["ALLOW_UNVERIFIED_ONBOARDINGS"],
        help: "true: run live without FB_APP_SECRET (ownership unverified)",
        example: "",
        meaning: "`true`: run live without `FB_APP_SECRET`, i.e. without the ownership check (`verification: false`). Start-up then logs one warning that ownership is not verified and anyone who can reach the proxy can make it bind any WABA. Ignored when `FB_APP_SECRET` is set",
        default: "`false`",
    },
    Var {
        names: &["GRAPH_BASE_URL"],
        help: "Graph API base (https; http only to loopback)",
        example: "",
        meaning: "Graph API base, an `https` URL (`http` only towards 127.0.0.0/8, `::1` or `localhost`; tests point it at a fake)",
        default: "`https://graph.facebook.com`",
    },
    Var {
        names: &["DATABASE_URL"],
        help: "onboarding store: sqlite: or postgres: URL",
        example: "postgres://user:password@localhost/wa_signup",
        meaning: "the onboarding store: `sqlite:…` (file and directory created; one process: it holds `{file}.lock`, and a second proxy on the same file stops at start-up naming it) or `postgres:`/`postgresql:…` (several instances may share it: each onboarding is run by the instance holding its row's lease)",
        default: "`sqlite://data/onboarding.db`",
    },
    Var {
        names: &["ALLOWED_ORIGINS"],
        help: "comma-separated origins allowed by CORS (pages embedding the widget)",
        example: "https://app.example.com",
        meaning: "comma-separated origins (`http(s)://host[:port]`) allowed by CORS: the partner pages that embed the widget",
        default: "none: same origin only",
    },
    Var {
        names: &["FRAME_ANCESTORS"],
        help: "who may frame the proxy's pages: 'self', 'none' or origins",
        example: "'self'",
        meaning: "who may show the proxy's pages in a frame (CSP `frame-ancestors`): `'self'`, `'none'` (alone), or comma-separated origins, with `'self'` if wanted",
        default: "`'self'`",
    },
    Var {
        names: &["PUBLIC_URL"],
        help: "where customers reach the proxy; session links start with it",
        example: "https://signup.example.com",
        meaning: "the address customers reach the proxy at (`http(s)://host[:port][/path]`); session links are `{PUBLIC_URL}/?session=…`; in live mode `https` (plain `http` only on a loopback address)",
        default: "`http://{ADDR}`",
    },
    Var {
        names: &["REDIRECT_FLOW"],
        help: "true/false: offer the full-page sign-in where the popup cannot open",
        example: "",
        meaning: "`true`/`false`: offer the full-page sign-in (Meta's login dialog in the same window, back at `{PUBLIC_URL}/oauth/callback`) where the popup cannot open: blocked popups, in-app browsers, an SDK that did not load. `true` without `FB_APP_SECRET` in live mode stops start-up naming `REDIRECT_FLOW` (the proxy exchanges Meta's code itself). Register `{PUBLIC_URL}/oauth/callback` as a valid OAuth redirect URI of the Meta app",
        default: "on in sandbox mode, and in live mode with `FB_APP_SECRET`; else off",
    },
    Var {
        names: &["PARTNER_API_KEYS"],
        help: "comma-separated partner API bearer keys, each >= 32 characters",
        example: "generate-with-openssl-rand-hex-32",
        meaning: "comma-separated bearer keys of the partner API, each at least 32 printable ASCII characters (several: rotation)",
        default: "none: the partner API answers 503",
    },
    Var {
        names: &["PARTNER_WEBHOOK_URL", "PARTNER_WEBHOOK_SECRET"],
        help: "where signed events go, and their Standard Webhooks secret (whsec_...)",
        example: "https://app.example.com/webhooks/wa-signup",
        meaning: "where events are POSTed (`https`, or `http` to a loopback address) and the Standard Webhooks secret (`whsec_` + base64 of at least 24 bytes); one without the other stops start-up",
        default: "none: events are only listed by the partner API",
    },
    Var {
        names: &["PARTNER_NAME"],
        help: "the partner's name shown to customers (\"Connecting WhatsApp to ...\")",
        example: "Example Inc.",
        meaning: "the partner's name shown to customers: \"Connecting WhatsApp to {PARTNER_NAME} for {customer_name}\" before the buttons, and the finished page's \"Return to {PARTNER_NAME}\" link; 1–128 characters without control characters; published in `/api/config` as `partner_name`",
        default: "none: sentences name no partner",
    },
    Var {
        names: &["ALLOW_ANONYMOUS_ONBOARDINGS"],
        help: "true: live mode accepts onboardings without a session",
        example: "",
        meaning: "`true`: live mode accepts onboardings without a session; their `customer_ref` is the browser's, marked `customer_ref_verified: false`, and start-up logs a warning",
        default: "`false`",
    },
    Var {
        names: &["ONBOARDING_LEASE_SECS"],
        help: "seconds an instance holds an onboarding it runs (1-3600)",
        example: "",
        meaning: "how long an instance holds an onboarding it runs before another may take it over (renewed every third of it while running; after a crash, the onboardings it held resume once this has passed), 1–3600",
        default: "`30`",
    },
    Var {
        names: &["RESUME_PER_SECOND"],
        help: "unfinished onboardings resumed per second after a restart (1-10000)",
        example: "",
        meaning: "how many unfinished onboardings are picked up per second after a restart or once their lease expired (1–10000), so a restart with thousands pending never bursts towards YCloud or Meta",
        default: "`20`",
    },
    Var {
        names: &["HEALTH_POLL_SECS"],
        help: "seconds between two health reads of each connected number (1-604800)",
        example: "",
        meaning: "how often each connected number's health is read from the provider, in seconds (1–604800), give or take a tenth so numbers connected together drift apart; each change is a `number.health_changed` event. Instances sharing a database read each number once per period between them",
        default: "`21600`",
    },
    Var {
        names: &["HEALTH_PER_SECOND"],
        help: "health reads per second at most, per instance (1-1000)",
        example: "",
        meaning: "how many numbers' health one instance reads per second at most (1–1000), so a restart with thousands of connected numbers due at once never bursts towards YCloud or Meta",
        default: "`5`",
    },
    Var {
        names: &["UPSTREAM_TIMEOUT_SECS"],
        help: "seconds one request to YCloud or the Graph API may take (1-300)",
        example: "",
        meaning: "how long one request to YCloud or the Graph API may take, in seconds (1–300)",
        default: "`30`",
    },
    Var {
        names: &["DIST_DIR"],
        help: "the built bundle served at /",
        example: "",
        meaning: "the built browser bundle served at `/`",
        default: "`dist`",
    },
    Var {
        names: &["HEADER_READ_TIMEOUT_SECS"],
        help: "seconds to send a request's head (1-3600)",
        example: "",
        meaning: "seconds a client has to send a request's head (1–3600); then the connection is closed",
        default: "`10`",
    },
    Var {
        names: &["BODY_READ_TIMEOUT_SECS"],
        help: "seconds for a request's body to arrive (1-3600)",
        example: "",
        meaning: "seconds for a request's whole body to arrive once its head is read (1–3600); then `408 body_timeout`, and the request's place is free again",
        default: "`10`",
    },
    Var {
        names: &["REQUEST_TIMEOUT_SECS"],
        help: "seconds to answer a request, event streams excepted (1-3600)",
        example: "",
        meaning: "seconds to answer a request, event streams excepted (1–3600); then `503 request_timeout`",
        default: "`60`",
    },
    Var {
        names: &["MAX_CONCURRENT_REQUESTS"],
        help: "requests handled at once; more get 503",
        example: "",
        meaning: "requests handled at once (1–1000000); more are answered `503 overloaded`",
        default: "`512`",
    },
    Var {
        names: &["RATE_LIMIT_PER_MINUTE"],
        help: "sign-ups and retries per client and minute; 0: off",
        example: "",
        meaning: "sign-ups, and apart from them retries and PINs, one client may send per minute (0–60000; `0` turns the limit off); beyond it `429 rate_limited`",
        default: "`60`",
    },
    Var {
        names: &["RATE_LIMIT_BURST"],
        help: "how many of those at once",
        example: "",
        meaning: "how many of those may come at once (1–100000)",
        default: "`20`",
    },
    Var {
        names: &["REQUESTS_IN_FLIGHT_PER_CLIENT"],
        help: "requests one client may have in flight at once (health and metrics aside)",
        example: "",
        meaning: "requests one client (an IPv4 address or an IPv6 /64) may have in flight at once, `/healthz`, `/livez` and `/metrics` aside (1–1000000); one more is `429 rate_limited` at once, so no client can hold every place of `MAX_CONCURRENT_REQUESTS`",
        default: "`64`",
    },
    Var {
        names: &["EVENT_STREAMS_PER_CLIENT"],
        help: "event streams one client may hold open",
        example: "",
        meaning: "event streams one client may hold open at once (1–100000); one more is `429 too_many_streams`",
        default: "`20`",
    },
    Var {
        names: &["EVENT_STREAMS_MAX"],
        help: "event streams open at once in all",
        example: "",
        meaning: "event streams open at once, all clients together (1–1000000); one more is `503 overloaded` with `Retry-After`",
        default: "`2000`",
    },
    Var {
        names: &["EVENT_STREAM_MAX_SECS"],
        help: "longest life of one event stream, seconds",
        example: "",
        meaning: "seconds an event stream stays open at most (1–86400)",
        default: "`600`",
    },
    Var {
        names: &["RETRY_COOLDOWN_SECS"],
        help: "least seconds between retries of one onboarding; 0: none",
        example: "",
        meaning: "least seconds between two retries of one onboarding (0–3600; `0`: none); sooner is `429 retry_too_soon`",
        default: "`10`",
    },
    Var {
        names: &["WEBHOOK_EVENT_RETENTION_DAYS"],
        help: "days received YCloud webhook events are kept",
        example: "",
        meaning: "days a received YCloud webhook event is kept, to recognise YCloud's retries of it (1–3650); older ones are deleted hourly",
        default: "`30`",
    },
    Var {
        names: &["TRUST_PROXY_HEADERS"],
        help: "true: the client is the last X-Forwarded-For address",
        example: "",
        meaning: "`true`: the client is the last `X-Forwarded-For` address (set only behind a reverse proxy that appends it)",
        default: "`false`",
    },
    Var {
        names: &["METRICS_TOKEN"],
        help: "bearer token GET /metrics asks for",
        example: "",
        meaning: "bearer token `GET /metrics` asks for (at least 16 printable characters, no spaces)",
        default: "none: `/metrics` is open",
    },
    Var {
        names: &["LOG_FORMAT"],
        help: "log lines: text or json",
        example: "",
        meaning: "how log lines on stderr are written: `text` (readable lines, coloured only when stderr is a terminal, so files and pipes get no escape codes) or `json` (one JSON object per line, for log collectors); anything else stops start-up",
        default: "`text`",
    },
    Var {
        names: &["WHATSAPP_PROVIDER"],
        help: "ycloud, or meta for Meta's Cloud API directly",
        example: "ycloud",
        meaning: "`ycloud`, or `meta` to register with Meta's Cloud API directly (README, \"Choosing a provider\"); anything else stops start-up",
        default: "`ycloud`",
    },
    Var {
        names: &["TOKEN_ENCRYPTION_KEY"],
        help: "base64 of 32 bytes: encrypts stored tokens and PINs (required with meta)",
        example: "",
        meaning: "base64 of 32 bytes (e.g. `openssl rand -base64 32`): encrypts the stored business tokens and PINs; required with `meta` (never quoted in errors)",
        default: "none; a sandbox makes up one",
    },
    Var {
        names: &["TOKEN_ENCRYPTION_OLD_KEYS"],
        help: "comma-separated earlier keys: what they sealed is sealed again with TOKEN_ENCRYPTION_KEY at start-up",
        example: "",
        meaning: "comma-separated earlier values of `TOKEN_ENCRYPTION_KEY`: at start-up every stored secret that opens only with one of them is sealed again with `TOKEN_ENCRYPTION_KEY`. While some stored secret opens with no configured key, a key that opens none of them stops start-up naming it (`TOKEN_ENCRYPTION_OLD_KEYS: key 2 opens none …`, or `TOKEN_ENCRYPTION_KEY: opens none …`); once everything opens with the current key, the earlier ones can be removed (start-up says so)",
        default: "none",
    },
    Var {
        names: &["DATA_LOCALIZATION_REGION"],
        help: "default local-storage region for Meta registration (e.g. DE)",
        example: "",
        meaning: "local-storage region of standard registrations with `meta` whose session names none: `AU`, `ID`, `IN`, `JP`, `SG`, `KR`, `DE`, `CH`, `GB`, `BR`, `BH`, `ZA`, `AE`, `CA`",
        default: "none",
    },
    Var {
        names: &["META_WEBHOOK_VERIFY_TOKEN"],
        help: "verify token of GET /webhooks/meta",
        example: "",
        meaning: "verify token of `GET /webhooks/meta`",
        default: "none: `GET /webhooks/meta` answers 503",
    },
    Var {
        names: &["RUST_LOG"],
        help: "log filter (tracing syntax)",
        example: "",
        meaning: "log filter (`tracing` syntax), e.g. `debug` for a line per request",
        default: "`info,sqlx=warn,hyper=warn`",
    },
];

/// Whether the proxy documents `name` (checked on every read in debug builds).
pub fn is_known(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.names.contains(&name))
}

/// Markdown as plain text: code spans and emphasis marks dropped.
fn plain(markdown: &str) -> String {
    markdown.replace(['`', '*'], "")
}

/// `wa-signup-proxy --help`.
pub fn usage() -> String {
    let mut out = String::from(
        "usage: wa-signup-proxy [--addr HOST:PORT] [--sandbox] | --help | --version\n\n\
         Configuration comes from the environment (and a .env file in the working directory;\n\
         an empty value counts as unset). docs/API.md explains each variable in full.\n\n",
    );
    for var in VARIABLES {
        out.push_str(&format!(
            "  {}\n      {}. Default: {}\n",
            var.names.join(", "),
            var.help,
            plain(var.default)
        ));
    }
    out
}

/// The Markdown table: `full` for docs/API.md, else the README's shorter one.
pub fn markdown_table(full: bool) -> String {
    let mut out = String::from("| variable | meaning | default |\n|---|---|---|\n");
    for var in VARIABLES {
        let names: Vec<String> = var.names.iter().map(|n| format!("`{n}`")).collect();
        let meaning = if full {
            var.meaning.to_owned()
        } else {
            var.help.to_owned()
        };
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            names.join(", "),
            meaning,
            var.default
        ));
    }
    out
}

/// `.env.example`: every variable, commented out, with what it does.
pub fn env_example() -> String {
    let mut out = String::from(
        "# Configuration of wa-signup-proxy: copy to .env and uncomment what you need.\n\
         # Generated from proxy/src/config/vars.rs; docs/API.md explains each variable.\n\
         # Without YCLOUD_API_KEY (and without WHATSAPP_PROVIDER=meta) set SANDBOX=true.\n",
    );
    for var in VARIABLES {
        out.push_str(&format!(
            "\n# {}. Default: {}\n",
            var.help,
            plain(var.default)
        ));
        // The example fits the first name only (the others of a row are its companions).
        for (i, name) in var.names.iter().enumerate() {
            let example = if i == 0 { var.example } else { "" };
            out.push_str(&format!("# {name}={example}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- configuration table: generated from proxy/src/config/vars.rs -->\n";
    const END: &str = "<!-- end of configuration table -->";

    /// Replaces the generated part of `text` (between the markers) with `table`.
    fn with_table(text: &str, table: &str) -> Option<String> {
        let start = text.find(START)? + START.len();
        let end = start + text[start..].find(END)?;
        Some(format!("{}{}{}", &text[..start], table, &text[end..]))
    }

    /// Compares a generated copy with the file; `UPDATE_CONFIG_DOCS=1` rewrites the file.
    fn check(path: &str, expected: String) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path);
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual == expected {
            return;
        }
        if std::env::var_os("UPDATE_CONFIG_DOCS").is_some() {
            std::fs::write(&path, expected).expect("write the generated file");
            return;
        }
        panic!(
            "{} differs from proxy/src/config/vars.rs; regenerate it with \
             `UPDATE_CONFIG_DOCS=1 cargo test -p proxy --lib config::vars`",
            path.display()
        );
    }

    #[test]
    fn the_docs_tables_are_generated_from_this_one() {
        for (path, full) in [("README.md", false), ("docs/API.md", true)] {
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(path);
            let text = std::fs::read_to_string(&file).expect("read the docs");
            let expected = with_table(&text, &markdown_table(full)).unwrap_or_else(|| {
                panic!("{path} lacks the configuration table's markers ({START:?} ... {END:?})")
            });
            check(path, expected);
        }
        check(".env.example", env_example());
    }

    #[test]
    fn every_name_once_and_every_row_complete() {
        let mut seen = std::collections::HashSet::new();
        for var in VARIABLES {
            assert!(!var.help.is_empty() && !var.meaning.is_empty() && !var.default.is_empty());
            assert!(
                !var.help.ends_with('.'),
                "{:?}: help gets its full stop when printed",
                var.names
            );
            for name in var.names {
                assert!(seen.insert(*name), "{name} listed twice");
            }
        }
    }

    /// Whether a line of `help` names `name` (alone, or among its row's companions).
    fn names_line(help: &str, name: &str) -> bool {
        help.lines()
            .any(|l| l.starts_with("  ") && l.trim().split(", ").any(|n| n == name))
    }

    #[test]
    fn help_names_every_variable_with_its_default() {
        let help = usage();
        for name in [
            "PUBLIC_URL",
            "PARTNER_API_KEYS",
            "PARTNER_WEBHOOK_URL",
            "PARTNER_WEBHOOK_SECRET",
            "ALLOW_ANONYMOUS_ONBOARDINGS",
            "ONBOARDING_LEASE_SECS",
            "UPSTREAM_TIMEOUT_SECS",
        ] {
            assert!(names_line(&help, name), "--help lacks {name}");
        }
        assert!(help.contains("Default: 127.0.0.1:8080"));
        assert!(!help.contains('`'));
    }
}
