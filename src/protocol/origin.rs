//! Which `postMessage` origins may speak for Facebook.
//!
//! Meta's and YCloud's samples test `origin.endsWith('facebook.com')`, which also trusts
//! `https://evilfacebook.com`. Here the origin is parsed as a URL and every part of it is
//! checked: scheme, userinfo, port, path and each label of the host.
//!
//! The parser accepts only the serialized-origin form browsers produce for
//! `MessageEvent.origin` (`scheme://host[:port]`, ASCII). A general URL parser would repair
//! inputs a real origin never has, and its IDNA tables would double the wasm bundle.

use std::fmt;

/// The registrable domain whose subdomains may send session info.
const FACEBOOK_DOMAIN: &str = "facebook.com";

/// Longest origin worth parsing. Real ones are a few dozen bytes; the bound keeps a hostile
/// page from making the check expensive.
const MAX_ORIGIN_BYTES: usize = 256;

/// Longest DNS label (RFC 1035).
const MAX_LABEL_BYTES: usize = 63;

/// Which message origins the app trusts.
///
/// The default trusts Facebook only. In sandbox mode the page's own origin is trusted too,
/// and the proxy's (where the stand-in for Facebook's popup is served from), so a widget
/// embedded on a partner's page finishes as on the proxy's own page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    /// The page's own origin and the proxy's, trusted in sandbox mode only.
    sandbox_origins: Vec<Origin>,
}

/// A parsed `scheme://host[:port]`, lower-cased, with the scheme's default port dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    /// `None` for the scheme's default port.
    port: Option<u16>,
}

impl Origin {
    fn serialize(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// Why a page origin cannot be trusted as the sandbox origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginError {
    /// The text is not an absolute URL.
    NotAUrl,
    /// The scheme is neither `http` nor `https`.
    NotHttp,
    /// The URL has userinfo, a path, a query or a fragment, so it is not a bare origin.
    NotAnOrigin,
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OriginError::NotAUrl => "the page origin is not an absolute URL",
            OriginError::NotHttp => "the page origin is neither http nor https",
            OriginError::NotAnOrigin => "the page origin has more than scheme, host and port",
        })
    }
}

impl std::error::Error for OriginError {}

impl OriginPolicy {
    /// Trusts Facebook's origins and nothing else (production).
    pub fn facebook_only() -> Self {
        Self::default()
    }

    /// Trusts Facebook's origins and exactly `page_origin` (sandbox mode), e.g.
    /// `http://127.0.0.1:8080` as `window.location.origin` reports it.
    ///
    /// # Errors
    /// [`OriginError`] when `page_origin` is not a bare `http:`/`https:` origin.
    pub fn sandbox(page_origin: &str) -> Result<Self, OriginError> {
        let origin = parse_bare_origin(page_origin)?;
        if !matches!(origin.scheme.as_str(), "http" | "https") {
            return Err(OriginError::NotHttp);
        }
        Ok(Self {
            sandbox_origins: vec![origin],
        })
    }

    /// A sandbox policy also trusting the origin of `url`, an absolute `http(s)` URL (the
    /// proxy's, or the stand-in SDK's beside which its popup is served). A relative URL is
    /// on the page's origin, trusted already; Facebook-only policies stay as they are.
    pub fn also_trusting_url_of(mut self, url: &str) -> Self {
        if self.sandbox_origins.is_empty() {
            return self;
        }
        let Some(origin) = origin_of_url(url) else {
            return self;
        };
        if matches!(origin.scheme.as_str(), "http" | "https")
            && !self.sandbox_origins.contains(&origin)
        {
            self.sandbox_origins.push(origin);
        }
        self
    }

    /// The trusted sandbox origins, serialized as browsers do (empty outside sandbox mode).
    pub fn sandbox_origins(&self) -> Vec<String> {
        self.sandbox_origins.iter().map(Origin::serialize).collect()
    }

    /// The trusted origins in words, for messages saying what was waited for.
    pub fn describe(&self) -> String {
        let mut out = String::from("https://facebook.com and its subdomains");
        for origin in &self.sandbox_origins {
            out.push_str(", ");
            out.push_str(&origin.serialize());
        }
        out
    }

    /// Whether a message with this `MessageEvent.origin` may be trusted.
    pub fn allows(&self, origin: &str) -> bool {
        if is_facebook_origin(origin) {
            return true;
        }
        if self.sandbox_origins.is_empty() {
            return false;
        }
        parse_bare_origin(origin).is_ok_and(|o| self.sandbox_origins.contains(&o))
    }
}

/// Whether `origin` is an `https:` origin on `facebook.com` or one of its subdomains.
///
/// Accepted: `https://www.facebook.com`, `https://business.facebook.com`,
/// `https://facebook.com`, also upper case, with `:443` or a trailing `/`.
/// Refused: other schemes, userinfo, other ports, paths, queries, fragments, trailing dots,
/// look-alike domains (`evilfacebook.com`, `facebook.com.evil.io`), any internationalized
/// label (`xn--…` or non-ASCII: browsers serialize origins in ASCII, so a Unicode
/// look-alike arrives as punycode), and anything that is not a URL (`null`, empty).
pub fn is_facebook_origin(origin: &str) -> bool {
    // Browsers serialize origins as `scheme://host[:port]`; insisting on the `//` refuses
    // forms the URL parser would quietly repair (`https:www.facebook.com`).
    let authority = match (origin.get(..8), origin.get(8..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("https://") => rest,
        _ => return false,
    };
    // The parser reads `host:` as no port at all; only `:443` may stand for the default.
    let authority = authority.trim_end_matches('/');
    if authority.contains(':') && !authority.ends_with(":443") {
        return false;
    }
    let Ok(parsed) = parse_bare_origin(origin) else {
        return false;
    };
    // The parser drops the scheme's default port, so `:443` reads as `None` here.
    parsed.scheme == "https" && parsed.port.is_none() && is_facebook_host(&parsed.host)
}

/// The origin of an absolute URL (`scheme://host[:port]/anything`).
fn origin_of_url(url: &str) -> Option<Origin> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    parse_bare_origin(&format!("{scheme}://{}", &rest[..end])).ok()
}

/// Parses text that must be nothing but an origin: scheme, host and optional port.
fn parse_bare_origin(origin: &str) -> Result<Origin, OriginError> {
    // A real origin is short, plain ASCII: no spaces, escapes, userinfo, query or fragment.
    let plain = origin.len() <= MAX_ORIGIN_BYTES
        && origin.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'/' | b'[' | b']')
        });
    if !plain {
        return Err(OriginError::NotAUrl);
    }
    let (scheme, rest) = origin.split_once(':').ok_or(OriginError::NotAUrl)?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric());
    if !scheme_ok {
        return Err(OriginError::NotAUrl);
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.strip_prefix("//").ok_or(OriginError::NotAnOrigin)?;
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if !matches!(path, "" | "/") {
        return Err(OriginError::NotAnOrigin);
    }
    // An IPv6 literal keeps its colons inside the brackets.
    let port_colon = match authority.rfind(']') {
        Some(end) => authority[end..].find(':').map(|i| end + i),
        None => authority.rfind(':'),
    };
    let (host, port) = match port_colon {
        Some(i) => (&authority[..i], Some(&authority[i + 1..])),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(OriginError::NotAnOrigin);
    }
    let port = match port {
        None => None,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse::<u16>().map_err(|_| OriginError::NotAUrl)?)
        }
        Some(_) => return Err(OriginError::NotAUrl),
    };
    let port = port.filter(|p| Some(*p) != default_port(&scheme));
    Ok(Origin {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// `facebook.com` itself or a subdomain made of plain letter-digit-hyphen labels.
fn is_facebook_host(host: &str) -> bool {
    // The parser has already lower-cased the host.
    let sub = if host == FACEBOOK_DOMAIN {
        ""
    } else if let Some(sub) = host.strip_suffix(FACEBOOK_DOMAIN) {
        match sub.strip_suffix('.') {
            Some(sub) if !sub.is_empty() => sub,
            // `evilfacebook.com`, or `.facebook.com` with an empty label.
            _ => return false,
        }
    } else {
        return false;
    };
    sub.is_empty() || sub.split('.').all(is_plain_label)
}

/// A DNS label of ASCII letters, digits and inner hyphens that is not an IDNA label.
fn is_plain_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LABEL_BYTES
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
        // `xn--` marks punycode, and RFC 5891 reserves every `??--` prefix: refusing them
        // shuts out look-alikes such as `www.faсebook.com` with a Cyrillic `с`.
        && bytes.get(2..4) != Some(b"--".as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCEPTED: &[&str] = &[
        "https://www.facebook.com",
        "https://web.facebook.com",
        "https://business.facebook.com",
        "https://staticxx.facebook.com",
        // `xn--` inside a label is not punycode: only a `??--` prefix is reserved.
        "https://1xn--www.facebook.com",
        "https://m.facebook.com",
        "https://facebook.com",
        "https://WWW.FACEBOOK.COM",
        "HTTPS://www.facebook.com",
        "https://www.facebook.com:443",
        "https://www.facebook.com/",
        "https://a-b.c1.facebook.com",
    ];

    const REFUSED: &[(&str, &str)] = &[
        ("https://evilfacebook.com", "suffix without a dot"),
        (
            "https://www.evilfacebook.com",
            "suffix without a dot, deeper",
        ),
        ("http://www.facebook.com", "not https"),
        ("wss://www.facebook.com", "not https"),
        ("ftp://www.facebook.com", "not https"),
        (
            "https://facebook.com.evil.io",
            "facebook.com as a subdomain",
        ),
        (
            "https://www.facebook.com.evil.io",
            "facebook.com as a subdomain",
        ),
        ("https://www.facebook.com.", "trailing dot"),
        ("https://facebook.com.", "trailing dot"),
        ("https://www.facebook.com:8443", "other port"),
        ("https://www.facebook.com:80", "other port"),
        ("https://www.facebook.com:", "empty port"),
        ("null", "opaque origin"),
        ("", "empty"),
        ("https://", "no host"),
        ("https://user@www.facebook.com", "userinfo"),
        ("https://user:pw@www.facebook.com", "userinfo"),
        ("https://:pw@www.facebook.com", "password only"),
        ("https://www.facebook.com@evil.io", "facebook as userinfo"),
        ("https://www.faсebook.com", "Cyrillic es"),
        ("https://www.xn--fabook-dmg.com", "punycode look-alike"),
        (
            "https://xn--80ak6aa92e.facebook.com",
            "punycode label under facebook.com",
        ),
        ("https://ab--c.facebook.com", "reserved IDNA prefix"),
        ("https://www.fаcebook.com", "Cyrillic a"),
        ("https://ｗｗｗ.facebook.com", "full-width letters"),
        ("https://www.facebook.com/path", "path"),
        ("https://www.facebook.com//", "path"),
        ("https://www.facebook.com/?", "empty query"),
        ("https://www.facebook.com?x=1", "query"),
        ("https://www.facebook.com#", "empty fragment"),
        ("https://www.facebook.com#x", "fragment"),
        (
            " https://www.facebook.com",
            "leading space the parser would strip",
        ),
        ("https://www.facebook.com ", "trailing space"),
        ("https://www.face\tbook.com", "tab the parser would drop"),
        ("https://www.facebook.co%6d", "percent escape in the host"),
        ("https:www.facebook.com", "no slashes"),
        ("https:\\\\www.facebook.com", "backslashes"),
        ("https:/www.facebook.com", "one slash"),
        ("https://.facebook.com", "empty label"),
        ("https://a..facebook.com", "empty label"),
        ("https://-a.facebook.com", "leading hyphen"),
        ("https://a-.facebook.com", "trailing hyphen"),
        ("https://a_b.facebook.com", "underscore"),
        ("https://157.240.1.35", "IPv4"),
        ("https://[::1]", "IPv6"),
        ("https://facebook.com.", "trailing dot on the apex"),
        ("https://fb.com", "other Meta domain"),
        ("https://facebook.net", "other Meta domain"),
        ("https://www.facebook.comm", "longer TLD"),
        ("facebook.com", "no scheme"),
        ("//www.facebook.com", "scheme-relative"),
    ];

    #[test]
    fn facebook_origins_are_accepted() {
        for origin in ACCEPTED {
            assert!(is_facebook_origin(origin), "{origin:?} should be accepted");
            assert!(OriginPolicy::facebook_only().allows(origin), "{origin:?}");
        }
    }

    #[test]
    fn everything_else_is_refused() {
        for (origin, why) in REFUSED {
            assert!(!is_facebook_origin(origin), "{origin:?} accepted ({why})");
            assert!(
                !OriginPolicy::facebook_only().allows(origin),
                "{origin:?} ({why})"
            );
        }
    }

    #[test]
    fn overlong_labels_and_origins_are_refused() {
        let label = "a".repeat(MAX_LABEL_BYTES);
        assert!(is_facebook_origin(&format!("https://{label}.facebook.com")));
        let label = "a".repeat(MAX_LABEL_BYTES + 1);
        assert!(!is_facebook_origin(&format!(
            "https://{label}.facebook.com"
        )));
        let many = "a.".repeat(MAX_ORIGIN_BYTES);
        assert!(!is_facebook_origin(&format!("https://{many}facebook.com")));
    }

    #[test]
    fn sandbox_adds_exactly_the_page_origin() {
        let policy = OriginPolicy::sandbox("http://127.0.0.1:8080").unwrap();
        assert_eq!(policy.sandbox_origins(), ["http://127.0.0.1:8080"]);
        for origin in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "https://www.facebook.com",
        ] {
            assert!(policy.allows(origin), "{origin:?}");
        }
        for origin in [
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
            "http://localhost:8080",
            "http://127.0.0.1",
            "http://127.0.0.1:8080/sandbox",
            "http://u@127.0.0.1:8080",
            "null",
            "",
            "https://evilfacebook.com",
        ] {
            assert!(!policy.allows(origin), "{origin:?}");
        }
    }

    #[test]
    fn sandbox_also_trusts_the_proxys_origin_and_nothing_more() {
        let policy = OriginPolicy::sandbox("https://partner.example")
            .unwrap()
            .also_trusting_url_of("http://127.0.0.1:8080/sandbox/sdk.js?v=1")
            .also_trusting_url_of("http://127.0.0.1:8080")
            .also_trusting_url_of("/sandbox/sdk.js")
            .also_trusting_url_of("ftp://files.example/x")
            .also_trusting_url_of("http://u@evil.example/");
        assert_eq!(
            policy.sandbox_origins(),
            ["https://partner.example", "http://127.0.0.1:8080"]
        );
        assert!(policy.allows("http://127.0.0.1:8080"));
        assert!(policy.allows("https://partner.example"));
        assert!(!policy.allows("http://127.0.0.1:8081"));
        assert!(!policy.allows("http://evil.example"));
        assert_eq!(
            policy.describe(),
            "https://facebook.com and its subdomains, https://partner.example, http://127.0.0.1:8080"
        );
        // Outside the sandbox, Facebook alone, whatever the proxy is.
        let live = OriginPolicy::facebook_only().also_trusting_url_of("http://127.0.0.1:8080/");
        assert!(!live.allows("http://127.0.0.1:8080"));
        assert_eq!(live.describe(), "https://facebook.com and its subdomains");
    }

    #[test]
    fn sandbox_default_ports_compare_equal() {
        let policy = OriginPolicy::sandbox("https://partner.example").unwrap();
        assert!(policy.allows("https://partner.example:443"));
        assert!(!policy.allows("http://partner.example"));
    }

    #[test]
    fn sandbox_origin_must_be_a_bare_http_origin() {
        let cases: &[(&str, OriginError)] = &[
            ("null", OriginError::NotAUrl),
            ("", OriginError::NotAUrl),
            ("localhost:8080", OriginError::NotAnOrigin),
            ("ftp://localhost", OriginError::NotHttp),
            ("file:///tmp", OriginError::NotAnOrigin),
            ("http://localhost:8080/app", OriginError::NotAnOrigin),
            ("http://u@localhost", OriginError::NotAUrl),
            ("ws://localhost:8080", OriginError::NotHttp),
        ];
        for (origin, want) in cases {
            assert_eq!(
                OriginPolicy::sandbox(origin).unwrap_err(),
                *want,
                "{origin:?}"
            );
        }
    }
}
