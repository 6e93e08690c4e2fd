//! Headers that keep the proxy's own pages from being turned against their visitors: a
//! `Content-Security-Policy` on every HTML page (the bundle's `index.html`, the sandbox popup
//! and the sandbox's example partner page), and `X-Content-Type-Options` and `Referrer-Policy` on every answer.
//!
//! Scripts may come from the proxy itself, from the Facebook SDK's origin, and inline only
//! when their exact text was served at start-up (each inline `<script>` of the HTML files at
//! the top of `DIST_DIR` and of the sandbox popup is allowed by its SHA-256). WebAssembly may
//! be compiled (`'wasm-unsafe-eval'`); nothing else is evaluated.

use std::path::Path;

use axum::http::{header, HeaderValue, Response};
use sha2::{Digest, Sha256};

/// The headers added to the proxy's answers, worked out once when the router is built.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    /// The console's: the same, framed by nobody (it acts with the partner's rights).
    console_csp: HeaderValue,
}

impl SecurityHeaders {
    /// The policy for a proxy whose SDK is `sdk_url`, framed only by `frame_ancestors`
    /// (CSP sources: `'self'`, `'none'`, origins), serving `dist_dir` and, in sandbox mode,
    /// the sandbox popup.
    pub fn new(
        sdk_url: &str,
        frame_ancestors: &[String],
        dist_dir: Option<&Path>,
        sandbox: bool,
    ) -> Self {
        let mut pages: Vec<String> = dist_dir.map(html_files).unwrap_or_default();
        pages.extend(
            dist_dir
                .map(|d| html_files(&d.join("console")))
                .unwrap_or_default(),
        );
        if sandbox {
            pages.push(super::assets::POPUP_HTML.to_owned());
            pages.push(super::assets::EMBED_DEMO_HTML.to_owned());
            pages.push(super::assets::DIALOG_HTML.to_owned());
        }
        let mut hashes: Vec<String> = pages
            .iter()
            .flat_map(|page| inline_scripts(page))
            .map(|script| format!("'sha256-{}'", base64(&Sha256::digest(script.as_bytes()))))
            .collect();
        hashes.sort();
        hashes.dedup();
        let header = |csp: String| {
            HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                HeaderValue::from_static(
                    "script-src 'self'; object-src 'none'; frame-ancestors 'self'",
                )
            })
        };
        Self {
            csp: header(content_security_policy(sdk_url, frame_ancestors, &hashes)),
            console_csp: header(content_security_policy(
                sdk_url,
                &["'none'".to_owned()],
                &hashes,
            )),
        }
    }

    /// Adds the headers to one answer (the policy only to HTML).
    pub fn apply<B>(&self, mut response: Response<B>) -> Response<B> {
        let is_html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
        if is_html {
            let console = response
                .extensions()
                .get::<super::console::ConsolePage>()
                .is_some();
            let csp = match console {
                true => self.console_csp.clone(),
                false => self.csp.clone(),
            };
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        let headers = response.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // An answer that chose a stricter policy (a page or answer holding a token) keeps it.
        if !headers.contains_key(header::REFERRER_POLICY) {
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            );
        }
        response
    }
}

fn content_security_policy(sdk_url: &str, frame_ancestors: &[String], hashes: &[String]) -> String {
    let mut script_src = vec!["'self'".to_owned()];
    if let Some(origin) = url::Url::parse(sdk_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
    {
        script_src.push(origin);
    }
    script_src.push("'wasm-unsafe-eval'".to_owned());
    script_src.extend(hashes.iter().cloned());
    let ancestors = if frame_ancestors.is_empty() {
        "'self'".to_owned()
    } else {
        frame_ancestors.join(" ")
    };
    format!(
        "script-src {}; object-src 'none'; base-uri 'self'; frame-ancestors {ancestors}",
        script_src.join(" ")
    )
}

/// The text of every `.html` file directly in `dir` (unreadable ones are skipped).
fn html_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// The contents of the `<script>` elements without a `src` attribute, exactly as written
/// (what the browser hashes).
fn inline_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| at + i) {
        let Some(tag_end) = lower[start..].find('>').map(|i| start + i) else {
            break;
        };
        let attrs = &lower[start + "<script".len()..tag_end];
        let Some(close) = lower[tag_end..].find("</script").map(|i| tag_end + i) else {
            break;
        };
        let is_element = attrs.is_empty() || attrs.starts_with(|c: char| c.is_ascii_whitespace());
        if is_element && !has_src(attrs) {
            found.push(&html[tag_end + 1..close]);
        }
        at = close + "</script".len();
    }
    found
}

fn has_src(attrs: &str) -> bool {
    attrs
        .split(|c: char| c.is_ascii_whitespace())
        .any(|a| a == "src" || a.starts_with("src="))
}

/// Standard base64 with padding (what CSP hashes use).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // The example of CSP Level 3 (`alert('Hello, world.');`).
        assert_eq!(
            base64(&Sha256::digest(b"alert('Hello, world.');")),
            "qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng="
        );
    }

    #[test]
    fn only_inline_scripts_are_picked() {
        let html = "<script src=\"a.js\"></script><SCRIPT type=\"module\">one()</SCRIPT>\
                    <scripts>x</scripts><script>\n two()\n</script><script type=module src=b.js></script>";
        assert_eq!(inline_scripts(html), ["one()", "\n two()\n"]);
    }

    #[test]
    fn the_policy_names_the_sdk_origin_and_the_ancestors() {
        let csp = content_security_policy(
            "https://connect.facebook.net/en_US/sdk.js",
            &["https://shop.example".to_owned()],
            &["'sha256-x'".to_owned()],
        );
        assert_eq!(
            csp,
            "script-src 'self' https://connect.facebook.net 'wasm-unsafe-eval' 'sha256-x'; \
             object-src 'none'; base-uri 'self'; frame-ancestors https://shop.example"
        );
        let csp = content_security_policy("/sandbox/sdk.js", &[], &[]);
        assert!(
            csp.starts_with("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    }
}
