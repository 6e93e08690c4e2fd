use leptos::prelude::*;
use qrcodegen::{QrCode, QrCodeEcc};
use wire::Onboarding;

use super::tree::{el, Node};
use super::Ctx;
use crate::flow::Screen;
use crate::i18n::Msg;

/// The finished page's next step: a `wa.me` link (the primary way) and its QR code (for a
/// phone next to the computer) that send the connected number a first message, and whether
/// it arrived (`inbound_verified_at`, which the flow keeps asking the proxy for).
///
/// Shown only for a connected onboarding whose number is known.
pub(super) fn first_message(cx: Ctx) -> Option<Node> {
    let target = cx.flow.screen.with(Target::of)?;
    let l = cx.locale.get();
    let number = [("number", target.shown.as_str())];
    let link = wa_me(&target.digits, l.t(Msg::FirstMessageText));
    let qr = svg_path(&link).map(|(side, path)| {
        el(
            "svg",
            &[
                ("class", "wa-qr"),
                ("data-testid", "first-message-qr"),
                ("role", "img"),
                ("width", "160"),
                ("height", "160"),
                ("shape-rendering", "crispEdges"),
            ],
        )
        .attr("aria-label", l.fill(Msg::FirstMessageQr, &number))
        .attr("viewBox", format!("0 0 {side} {side}"))
        .kids([
            el(
                "rect",
                &[("width", "100%"), ("height", "100%"), ("fill", "#fff")],
            ),
            el("path", &[("fill", "#000")]).attr("d", path),
        ])
    });
    let (said, arrived) = match target.arrived {
        true => (Msg::FirstMessageArrived, "true"),
        false => (Msg::FirstMessageWaiting, "false"),
    };
    Some(
        el(
            "div",
            &[
                ("class", "wa-first-message"),
                ("data-testid", "first-message"),
            ],
        )
        .attr("data-arrived", arrived)
        .kids(
            [
                el("p", &[]).text(l.t(Msg::FirstMessageAsk)),
                el(
                    "a",
                    &[
                        ("class", "wa-button wa-first-message-link"),
                        ("data-testid", "first-message-link"),
                        ("target", "_blank"),
                        ("rel", "noopener noreferrer"),
                    ],
                )
                .attr("href", link)
                .text(l.fill(Msg::FirstMessageLink, &number)),
            ]
            .into_iter()
            .chain(qr)
            .chain([el(
                "p",
                &[
                    ("class", "wa-first-message-status"),
                    ("data-testid", "first-message-status"),
                    ("role", "status"),
                ],
            )
            .text(l.t(said))]),
        ),
    )
}

/// The number a first message goes to, as the onboarding on screen knows it.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    /// As people write it (`+1 555-000-1234`).
    shown: String,
    /// Its digits, as `wa.me` takes them.
    digits: String,
    /// Whether its first inbound message arrived.
    arrived: bool,
}

impl Target {
    fn of(screen: &Screen) -> Option<Target> {
        let Screen::Connected(o) = screen else {
            return None;
        };
        Target::of_onboarding(o)
    }

    fn of_onboarding(o: &Onboarding) -> Option<Target> {
        let shown = o.phone_number.as_ref()?.display_phone_number.clone()?;
        let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
        // E.164 allows at most 15 digits; fewer than 7 is no number a link could reach.
        if !(7..=15).contains(&digits.len()) {
            return None;
        }
        Some(Target {
            shown,
            digits,
            arrived: o.inbound_verified_at.is_some(),
        })
    }
}

/// `https://wa.me/{digits}?text={text}`: WhatsApp's click-to-chat link, `text` prefilled.
fn wa_me(digits: &str, text: &str) -> String {
    let mut link = format!("https://wa.me/{digits}?text=");
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                link.push(char::from(b));
            }
            _ => link.push_str(&format!("%{b:02X}")),
        }
    }
    link
}

/// The QR code of `text` as one SVG path (a square per dark module, after a four-module
/// quiet zone) and its side in modules; none when `text` is too long for a code.
fn svg_path(text: &str) -> Option<(i32, String)> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    Some((size + 8, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;
    use wire::{Mode, OnboardingState, PhoneNumberSummary, WabaId};

    fn connected(display: Option<&str>, verified: bool) -> Screen {
        Screen::Connected(Onboarding {
            id: "b7a1".into(),
            mode: Mode::Standard,
            launched_mode: None,
            waba_id: WabaId::parse("104996122399160").unwrap(),
            phone_number_id: None,
            business_id: None,
            customer_ref: None,
            state: OnboardingState::Connected,
            steps: Vec::new(),
            waba: None,
            phone_number: display.map(|d| PhoneNumberSummary {
                display_phone_number: Some(d.into()),
                ..PhoneNumberSummary::default()
            }),
            error: None,
            previous_onboarding_id: None,
            inbound_verified_at: verified.then(|| "2026-12-07T10:00:00Z".into()),
            sync: None,
            created_at: String::new(),
            updated_at: String::new(),
        })
    }

    #[test]
    fn only_a_connected_number_that_is_known_gets_a_first_message() {
        let t = Target::of(&connected(Some("+1 555-000-1234"), false)).unwrap();
        assert_eq!(t.digits, "15550001234");
        assert_eq!(t.shown, "+1 555-000-1234");
        assert!(!t.arrived);
        assert!(
            Target::of(&connected(Some("+1 555-000-1234"), true))
                .unwrap()
                .arrived
        );
        assert_eq!(Target::of(&connected(None, false)), None);
        assert_eq!(Target::of(&connected(Some("12345"), false)), None);
        assert_eq!(
            Target::of(&connected(Some("+1 2345 6789 0123 4567"), false)),
            None
        );
        assert_eq!(Target::of(&Screen::Ready), None);
    }

    #[test]
    fn the_link_carries_the_text_percent_encoded() {
        assert_eq!(
            wa_me("15550001234", "Hello! A test, 1~2."),
            "https://wa.me/15550001234?text=Hello%21%20A%20test%2C%201~2."
        );
        // UTF-8, byte by byte.
        assert_eq!(
            wa_me("84912345678", "Xin chào 您好"),
            "https://wa.me/84912345678?text=Xin%20ch%C3%A0o%20%E6%82%A8%E5%A5%BD"
        );
    }

    #[test]
    fn every_languages_link_fits_a_code() {
        for l in Locale::ALL {
            let link = wa_me("15550001234", l.t(Msg::FirstMessageText));
            let (side, path) = svg_path(&link).unwrap();
            // A phone reads it from a screen: version 10 (57 modules) at most.
            assert!(side <= 57 + 8, "{l:?}: {side}");
            assert!(path.starts_with("M4,4h1v1h-1z"));
        }
    }
}
