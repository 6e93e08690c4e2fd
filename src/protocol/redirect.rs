//! When Meta's popup cannot work: the in-app browsers that never open it, and the answer
//! `FB.login` gives when the browser blocked it. Pure functions of what the browser reports.

/// `FB.login` answering faster than this without a code did not show a popup to anyone: the
/// browser blocked it (the SDK then answers `unknown` at once).
pub const BLOCKED_WITHIN_MS: u64 = 1_500;

/// User-agent marks of the apps whose built-in browsers cannot open Meta's popup: Facebook
/// (`FBAN`, `FBAV`, `FB_IAB`, `FBIOS`), Instagram, LinkedIn, WeChat (`MicroMessenger`) and
/// Line.
const IN_APP_MARKS: &[&str] = &[
    "FBAN/",
    "FBAV/",
    "FB_IAB",
    "FBIOS",
    "Instagram ",
    "LinkedInApp",
    "MicroMessenger/",
    " Line/",
];

/// Whether `user_agent` is an app's built-in browser, where the full-page sign-in is the
/// first choice.
pub fn in_app_browser(user_agent: &str) -> bool {
    IN_APP_MARKS.iter().any(|m| user_agent.contains(m))
}

/// Whether an `FB.login` answer means the popup never opened: no code, and an answer that
/// came at once (`elapsed_ms` after the call).
pub fn popup_blocked(status: &str, has_code: bool, elapsed_ms: u64) -> bool {
    !has_code && status != "connected" && elapsed_ms < BLOCKED_WITHIN_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_in_app_browsers_are_recognised() {
        let apps = [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21B80 [FBAN/FBIOS;FBAV/442.0.0.36.118;FBBV/545474532]",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/444.0.0.0.11;]",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 307.0.0.34.111 (iPhone15,2; iOS 17_1)",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.5866",
            "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.42.2460(0x28002A35) NetType/WIFI Language/zh_CN",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.20.0",
        ];
        for ua in apps {
            assert!(in_app_browser(ua), "{ua}");
        }
        let browsers = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "",
        ];
        for ua in browsers {
            assert!(!in_app_browser(ua), "{ua}");
        }
    }

    #[test]
    fn only_an_empty_answer_at_once_is_a_blocked_popup() {
        assert!(popup_blocked("unknown", false, 20));
        assert!(
            !popup_blocked("unknown", false, 30_000),
            "closed by the customer"
        );
        assert!(!popup_blocked("connected", true, 20));
        assert!(!popup_blocked("unknown", true, 20));
    }
}
