//! Widget options from a partner's page: `mount(element, {...})` or `data-*` attributes, and
//! the [`WidgetOptions`] they become.
//!
//! Pure Rust: the browser module hands over `(key, value)` pairs with camelCase keys (what
//! `element.dataset` gives for `data-customer-ref`, and what `mount`'s object uses), and this
//! module turns them into [`WidgetOptions`] once, or says which option is wrong. The flow,
//! the screens and the components read the options; none of them is needed to make them.

use std::fmt;

use wire::{CustomerRef, EsVersion, Mode, SessionToken};

/// Which launch buttons a widget shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Modes {
    /// Both modes.
    #[default]
    Both,
    /// Only one.
    Only(Mode),
}

impl Modes {
    /// Reads `standard`, `coexistence` or `both`.
    pub fn parse(s: &str) -> Option<Modes> {
        match s.trim() {
            "both" => Some(Modes::Both),
            one => one.parse().ok().map(Modes::Only),
        }
    }

    /// Whether `mode` gets a button.
    pub fn includes(self, mode: Mode) -> bool {
        match self {
            Modes::Both => true,
            Modes::Only(m) => m == mode,
        }
    }
}

/// The onboarding session a widget was handed by the partner's page or link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GivenSession {
    /// A token of the right shape; the proxy says whether it is live.
    Token(SessionToken),
    /// Text that cannot be a token (a link cut short, say): as dead as an expired one, and
    /// shown as such rather than as a page that does not load.
    Malformed,
}

impl GivenSession {
    /// Reads a token as the page or link gave it.
    pub fn parse(text: &str) -> GivenSession {
        SessionToken::parse(text).map_or(GivenSession::Malformed, GivenSession::Token)
    }

    /// The token, when the text was one.
    pub fn token(&self) -> Option<&SessionToken> {
        match self {
            GivenSession::Token(t) => Some(t),
            GivenSession::Malformed => None,
        }
    }
}

/// A widget's options (docs/API.md); `None` values come from `{proxy}/api/config`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WidgetOptions {
    /// The proxy's base URL; empty for the page's own origin.
    pub proxy_url: String,
    /// Which launch buttons to show.
    pub modes: Modes,
    /// Meta app id.
    pub app_id: Option<String>,
    /// Embedded Signup configuration id.
    pub config_id: Option<String>,
    /// YCloud's solution id.
    pub solution_id: Option<String>,
    /// Graph API version.
    pub graph_version: Option<String>,
    /// Embedded Signup version; the proxy's (`FB_ES_VERSION`) otherwise.
    pub es_version: Option<EsVersion>,
    /// Where to load the SDK from.
    pub sdk_url: Option<String>,
    /// A BCP 47 language tag; the browser's languages otherwise.
    pub locale: Option<String>,
    /// The partner's reference for this customer.
    pub customer_ref: Option<CustomerRef>,
    /// The onboarding session from the partner's backend (`session`, `data-session`, or the
    /// standalone page's `?session=`).
    pub session: Option<GivenSession>,
    /// The level of the widget's title (1 to 6; 2 when not given), so it fits the host
    /// page's outline: the standalone page makes it its level-one heading.
    pub heading_level: Option<u8>,
}

/// Longest value accepted for a free-text option (ids, URLs, versions).
const MAX_OPTION_CHARS: usize = 2048;

/// Every option of the widget, as `mount`'s object spells it. A name missing here is refused
/// as unknown (an ignored `data-*` attribute), so this list is what the parser accepts; the
/// typed package's `WaSignupOptions` declares exactly these (a test compares them).
pub const OPTION_NAMES: [&str; 12] = [
    "proxyUrl",
    "session",
    "mode",
    "appId",
    "configId",
    "solutionId",
    "graphVersion",
    "esVersion",
    "sdkUrl",
    "locale",
    "customerRef",
    "headingLevel",
];

/// Markers on the element that are not options (`data-wa-signup` itself, the one set once
/// mounted, and the standalone page's).
const MARKERS: [&str; 3] = ["waSignup", "waSignupMounted", "sessionFromUrl"];

/// Why a widget's options were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// The option as the partner spelled it (`mode`, `customerRef`...).
    pub option: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wa-signup: option {:?} {}", self.option, self.reason)
    }
}

impl std::error::Error for OptionError {}

/// Where the option pairs come from: unknown keys are an error in a `mount` object (a typo),
/// but ignored in `data-*` attributes (the host page may use its own).
///
/// HTML sanitisers commonly keep `data-*` attributes, so markup a customer or an attacker
/// wrote may sit on the partner's page: it must not choose identity. Only a `mount` object
/// sets where the widget fetches from and which script it loads (`proxyUrl`, `sdkUrl`) and
/// which Meta app and configuration open (`appId`, `configId`, `solutionId`); those
/// attributes are ignored. `data-session` is honoured only when the partner's script allowed
/// it (`autoMount({sessionFromMarkup: true})`), since a session decides whose account the
/// customer's number joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The object passed to `mount(element, options)`.
    Object,
    /// The element's `data-*` attributes; `session`: whether its `session` counts.
    Dataset {
        /// The partner's script allowed `data-session` (or the page is the proxy's own).
        session: bool,
    },
}

impl Source {
    /// Whether markup may set `key`.
    fn markup_may_set(self, key: &str) -> bool {
        match (self, key) {
            (Source::Object, _) => true,
            (_, "proxyUrl" | "sdkUrl" | "appId" | "configId" | "solutionId") => false,
            (Source::Dataset { session }, "session") => session,
            _ => true,
        }
    }
}

/// Parses option pairs into [`WidgetOptions`]; `default_proxy` applies when none is given.
///
/// # Errors
/// [`OptionError`] naming the first bad option.
pub fn parse_options<K, V>(
    pairs: impl IntoIterator<Item = (K, V)>,
    source: Source,
    default_proxy: &str,
) -> Result<WidgetOptions, OptionError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut options = WidgetOptions {
        proxy_url: default_proxy.to_string(),
        ..WidgetOptions::default()
    };
    for (key, value) in pairs {
        let (key, value) = (key.as_ref(), value.as_ref().trim());
        let err = |reason| OptionError {
            option: key.to_string(),
            reason,
        };
        let text = || -> Result<Option<String>, OptionError> {
            if value.chars().count() > MAX_OPTION_CHARS {
                return Err(err("is too long"));
            }
            if value.chars().any(char::is_control) {
                return Err(err("holds a control character"));
            }
            Ok((!value.is_empty()).then(|| value.to_string()))
        };
        if !OPTION_NAMES.contains(&key) {
            if source == Source::Object && !MARKERS.contains(&key) {
                return Err(err("is not an option of the widget"));
            }
            continue;
        }
        match key {
            // Never from markup, or not without the partner's leave: see [`Source`].
            _ if !source.markup_may_set(key) => {}
            "proxyUrl" => {
                if !is_proxy_url(value) {
                    return Err(err("must be an http(s) URL or a path starting with /"));
                }
                options.proxy_url = value.trim_end_matches('/').to_string();
            }
            "mode" => {
                options.modes = Modes::parse(value)
                    .ok_or_else(|| err("must be \"standard\", \"coexistence\" or \"both\""))?;
            }
            "appId" => options.app_id = text()?,
            "configId" => options.config_id = text()?,
            "solutionId" => options.solution_id = text()?,
            "graphVersion" => options.graph_version = text()?,
            "esVersion" => {
                options.es_version = match value {
                    "" => None,
                    v => Some(
                        v.parse()
                            .map_err(|_| err("must be \"v4\" or \"v4-public-preview\""))?,
                    ),
                }
            }
            "sdkUrl" => options.sdk_url = text()?,
            "headingLevel" => {
                options.heading_level = match value {
                    "" => None,
                    v => Some(
                        v.parse::<u8>()
                            .ok()
                            .filter(|l| (1..=6).contains(l))
                            .ok_or_else(|| err("must be a heading level from 1 to 6"))?,
                    ),
                }
            }
            // An unknown language is not an error: the widget falls back to the browser's.
            "locale" => options.locale = text()?,
            "session" => {
                options.session = match value {
                    "" => None,
                    // A partner's script passing something else is a bug to name at once; a
                    // link or markup cut short is the customer's dead link, shown as such.
                    v if source == Source::Object => Some(GivenSession::Token(
                        wire::SessionToken::parse(v)
                            .map_err(|_| err("must be the token of POST /api/partner/sessions"))?,
                    )),
                    v => Some(GivenSession::parse(v)),
                }
            }
            "customerRef" => {
                options.customer_ref = match value {
                    "" => None,
                    v => Some(CustomerRef::parse(v).map_err(|_| {
                        err("must be 1 to 128 characters without control or format characters")
                    })?),
                }
            }
            // Listed in OPTION_NAMES without a meaning here: refused, and a test says so.
            _ => return Err(err("is not an option of the widget")),
        }
    }
    Ok(options)
}

/// Splits a page address's query (`location.search`, with or without its `?`) into the
/// `session` parameter's value and the query without it (`?`-prefixed, or empty), so the
/// token can be taken out of the address bar while every other parameter stays.
///
/// Only the first `session` counts; every one is removed.
pub fn take_session_param(search: &str) -> (Option<String>, String) {
    let query = search.strip_prefix('?').unwrap_or(search);
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "session" {
            token.get_or_insert_with(|| percent_decode(value));
        } else {
            rest.push(pair);
        }
    }
    let rest = match rest.is_empty() {
        true => String::new(),
        false => format!("?{}", rest.join("&")),
    };
    (token, rest)
}

/// `%XX` escapes and `+` as a form would encode them; a token never needs either, so
/// anything odd only makes it fail [`wire::SessionToken::parse`].
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|b| (*b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
            (b'+', ..) => out.push(b' '),
            (b, ..) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_proxy_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
        None => value.is_empty() || (value.starts_with('/') && !value.starts_with("//")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::Mode;

    fn parse(pairs: &[(&str, &str)]) -> Result<WidgetOptions, OptionError> {
        parse_options(pairs.iter().copied(), Source::Object, "")
    }

    #[test]
    fn every_option_is_read() {
        let o = parse(&[
            ("proxyUrl", "https://partner.example/wa/"),
            ("mode", "coexistence"),
            ("appId", "123"),
            ("configId", "456"),
            ("solutionId", "789"),
            ("graphVersion", "v26.0"),
            ("esVersion", "v4-public-preview"),
            ("sdkUrl", "https://connect.facebook.net/en_US/sdk.js"),
            ("locale", "vi"),
            ("customerRef", "cust-42"),
            ("session", "ses_AbC-09_xyz"),
            ("headingLevel", "1"),
        ])
        .unwrap();
        assert_eq!(
            o.session,
            Some(GivenSession::Token(
                wire::SessionToken::parse("ses_AbC-09_xyz").unwrap()
            ))
        );
        assert_eq!(o.heading_level, Some(1));
        assert_eq!(o.proxy_url, "https://partner.example/wa");
        assert_eq!(o.modes, Modes::Only(Mode::Coexistence));
        assert_eq!(o.app_id.as_deref(), Some("123"));
        assert_eq!(o.config_id.as_deref(), Some("456"));
        assert_eq!(o.solution_id.as_deref(), Some("789"));
        assert_eq!(o.graph_version.as_deref(), Some("v26.0"));
        assert_eq!(o.es_version, Some(wire::EsVersion::V4PublicPreview));
        assert_eq!(o.locale.as_deref(), Some("vi"));
        assert_eq!(o.customer_ref.unwrap().as_str(), "cust-42");
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let o = parse_options(
            Vec::<(String, String)>::new(),
            Source::Dataset { session: false },
            "https://p.example",
        )
        .unwrap();
        assert_eq!(o.proxy_url, "https://p.example");
        assert_eq!(o.modes, Modes::Both);
        assert_eq!(o.app_id, None);
        // Empty attributes mean "not given", not "empty value".
        let o = parse(&[("appId", ""), ("customerRef", "  ")]).unwrap();
        assert_eq!((o.app_id, o.customer_ref), (None, None));
    }

    #[test]
    fn bad_values_name_the_option() {
        let long = "x".repeat(129);
        let cases: &[(&str, &str)] = &[
            ("mode", "premium"),
            ("mode", ""),
            ("proxyUrl", "ftp://x"),
            ("proxyUrl", "//evil.example"),
            ("proxyUrl", "javascript:alert(1)"),
            ("proxyUrl", "https://"),
            ("customerRef", &long),
            ("customerRef", "a\u{7}b"),
            ("appId", "1\n2"),
            ("esVersion", "v5"),
            ("esVersion", "v2"),
            ("esVersion", "v3"),
            ("headingLevel", "0"),
            ("headingLevel", "7"),
            ("headingLevel", "h2"),
            ("esVersion", "V4"),
            ("proxiUrl", "https://typo.example"),
            ("session", "https://p.example/?session=ses_x"),
            ("session", "ses x"),
        ];
        for (key, value) in cases {
            let e = parse(&[(key, value)]).unwrap_err();
            assert_eq!(e.option, *key, "{key}={value:?}");
            assert!(e.to_string().starts_with("wa-signup: option"), "{e}");
        }
    }

    #[test]
    fn every_listed_option_has_a_meaning() {
        let value = |name: &str| match name {
            "proxyUrl" => "https://p.example",
            "session" => "ses_abc",
            "mode" => "both",
            "esVersion" => "v4",
            "headingLevel" => "3",
            _ => "x",
        };
        for name in OPTION_NAMES {
            for source in [Source::Object, Source::Dataset { session: true }] {
                let parsed = parse_options([(name, value(name))], source, "");
                assert!(parsed.is_ok(), "{name} from {source:?}: {parsed:?}");
            }
        }
        // Markers are not options, yet a mount object naming one is not refused either.
        for marker in MARKERS {
            assert!(parse_options([(marker, "")], Source::Object, "").is_ok());
        }
    }

    #[test]
    fn data_attributes_ignore_the_host_pages_own() {
        let o = parse_options(
            [
                ("waSignup", ""),
                ("trackingId", "abc"),
                ("mode", "standard"),
            ],
            Source::Dataset { session: false },
            "",
        )
        .unwrap();
        assert_eq!(o.modes, Modes::Only(Mode::Standard));
        assert!(parse_options([("trackingId", "abc")], Source::Object, "").is_err());
    }

    #[test]
    fn data_attributes_cannot_choose_the_proxy_the_script_nor_the_meta_app() {
        let pairs = [
            ("proxyUrl", "https://evil.example"),
            ("sdkUrl", "https://evil.example/sdk.js"),
            ("appId", "1"),
            ("configId", "2"),
            ("solutionId", "3"),
            ("session", "ses_attacker-1"),
        ];
        let markup = Source::Dataset { session: false };
        let o = parse_options(pairs, markup, "https://p.example").unwrap();
        assert_eq!(o.proxy_url, "https://p.example");
        assert_eq!(o.sdk_url, None);
        assert_eq!((o.app_id, o.config_id, o.solution_id), (None, None, None));
        assert_eq!(o.session, None, "data-session without the partner's leave");
        // Even a malformed value is ignored rather than refused: markup cannot break the widget.
        let o = parse_options([("proxyUrl", "javascript:alert(1)")], markup, "").unwrap();
        assert_eq!(o.proxy_url, "");
        // Allowed by the partner's script, the session counts; the rest still does not.
        let o = parse_options(pairs, Source::Dataset { session: true }, "").unwrap();
        assert!(matches!(o.session, Some(GivenSession::Token(_))));
        assert_eq!(o.app_id, None);
        // A `mount` object sets them all.
        let o = parse_options(pairs, Source::Object, "https://p.example").unwrap();
        assert_eq!(o.proxy_url, "https://evil.example");
        assert_eq!(o.sdk_url.as_deref(), Some("https://evil.example/sdk.js"));
        assert_eq!(o.app_id.as_deref(), Some("1"));
        assert_eq!(o.config_id.as_deref(), Some("2"));
        assert_eq!(o.solution_id.as_deref(), Some("3"));
    }

    #[test]
    fn a_session_from_markup_or_a_link_is_kept_even_when_malformed() {
        let allowed = Source::Dataset { session: true };
        let o = parse_options([("session", "ses_ok-1")], allowed, "").unwrap();
        assert!(matches!(o.session, Some(GivenSession::Token(_))));
        // A link cut short: the page must still load and say that the link is dead.
        let o = parse_options([("session", "ses_ok%2")], allowed, "").unwrap();
        assert_eq!(o.session, Some(GivenSession::Malformed));
        let o = parse_options([("session", "  ")], allowed, "").unwrap();
        assert_eq!(o.session, None);
        // The standalone page's marker is not an option of its own.
        assert!(parse_options([("sessionFromUrl", "")], allowed, "").is_ok());
    }

    #[test]
    fn the_session_parameter_is_taken_out_of_the_query_and_the_rest_kept() {
        let cases = [
            ("?session=ses_abc", Some("ses_abc"), ""),
            ("session=ses_abc", Some("ses_abc"), ""),
            ("?a=1&session=ses_abc&b=2", Some("ses_abc"), "?a=1&b=2"),
            ("?session=ses_a&session=ses_b", Some("ses_a"), ""),
            ("?sessions=x&b", None, "?sessions=x&b"),
            ("?session=", Some(""), ""),
            ("?session=ses%5Fabc", Some("ses_abc"), ""),
            ("?session=a+b%zz", Some("a b%zz"), ""),
            ("?session=%", Some("%"), ""),
            ("", None, ""),
            ("?", None, ""),
            ("?&&a=1", None, "?a=1"),
        ];
        for (search, token, rest) in cases {
            let (t, r) = take_session_param(search);
            assert_eq!(t.as_deref(), token, "{search}");
            assert_eq!(r, rest, "{search}");
        }
    }
}
