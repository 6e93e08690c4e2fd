//! The widget's words in English, 简体中文, 繁體中文 and Tiếng Việt.
//!
//! Each language is one exhaustive `match` over [`Msg`]: a key missing in any language is a
//! compile error (in every build, the browser's included), and the tests check that
//! placeholders agree across languages. Sentences with a value carry a `{name}` placeholder,
//! filled by [`Locale::fill`].
//!
//! The browser bundle speaks English by itself and gets the other languages when a widget
//! needs one (`static/i18n/{tag}.json`: the sentences in [`Msg::ALL`]'s order, written from
//! these matches and checked against them by `the_delivered_languages_are_the_catalogue`),
//! so a page never downloads the three languages it is not showing. Natively, and in the
//! browser tests (feature `all-languages`), every language is compiled in.
//!
//! This file chooses the language and hands out its sentences; `msg` names every sentence,
//! and each language's own file holds its words.

mod en;
mod msg;
mod vi;
mod zh_hans;
mod zh_hant;

pub use msg::Msg;

/// A language the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English.
    En,
    /// Simplified Chinese.
    ZhHans,
    /// Traditional Chinese.
    ZhHant,
    /// Vietnamese.
    Vi,
}

impl Locale {
    /// Every language, in the order of the language switch.
    pub const ALL: [Locale; 4] = [Locale::En, Locale::ZhHans, Locale::ZhHant, Locale::Vi];

    /// BCP 47 tag, for `lang` attributes and the `locale` option: the protocol's spelling
    /// ([`wire::Locale`]), the one the proxy and the partner API use too.
    pub fn tag(self) -> &'static str {
        wire::Locale::from(self).as_str()
    }

    /// The language's name in itself, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhHans => "简体中文",
            Locale::ZhHant => "繁體中文",
            Locale::Vi => "Tiếng Việt",
        }
    }

    /// Reads one language tag (`zh-TW`, `zh_CN`, `vi-VN`, `en-GB`, `zh-Hant-HK`...).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let lower = tag.trim().replace('_', "-").to_ascii_lowercase();
        let mut parts = lower.split('-');
        match parts.next()? {
            "en" => Some(Locale::En),
            "vi" => Some(Locale::Vi),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                let traditional = rest
                    .iter()
                    .any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo"))
                    && !rest.contains(&"hans");
                Some(if traditional {
                    Locale::ZhHant
                } else {
                    Locale::ZhHans
                })
            }
            _ => None,
        }
    }

    /// The language a widget opens in: the page's explicit choice (a tag the widget speaks),
    /// else the session's (the partner knows its customer), else the browser's, else English.
    pub fn initial<'a>(
        explicit: Option<&str>,
        session: Option<wire::Locale>,
        browser: impl IntoIterator<Item = &'a str>,
    ) -> Locale {
        explicit
            .and_then(Locale::from_tag)
            .or(session.map(Locale::from))
            .unwrap_or_else(|| Locale::negotiate(browser))
    }

    /// The first language of `preferred` the widget speaks, else English.
    pub fn negotiate<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Locale {
        preferred
            .into_iter()
            .find_map(Locale::from_tag)
            .unwrap_or(Locale::En)
    }

    /// The sentence for `msg` (English while the language has not arrived: see
    /// [`Locale::is_ready`]).
    pub fn t(self, msg: Msg) -> &'static str {
        match self {
            Locale::En => en::en(msg),
            other => delivered::text(other, msg),
        }
    }

    /// Whether [`Locale::t`] speaks this language now: English always, the others once
    /// delivered ([`deliver`]) in the browser bundle, always elsewhere.
    pub fn is_ready(self) -> bool {
        self == Locale::En || delivered::is_ready(self)
    }

    /// Every sentence, in [`Msg::ALL`]'s order: what `static/i18n/{tag}.json` holds.
    #[cfg(any(not(target_arch = "wasm32"), feature = "all-languages"))]
    pub fn catalogue(self) -> Vec<&'static str> {
        Msg::ALL
            .iter()
            .map(|&m| delivered::compiled(self, m))
            .collect()
    }

    /// The sentence for `msg` with each `{name}` replaced by its value.
    pub fn fill(self, msg: Msg, values: &[(&str, &str)]) -> String {
        let mut text = self.t(msg).to_string();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

impl Locale {
    /// "Connecting WhatsApp to {partner} for {customer}", as far as the two are known
    /// (`PARTNER_NAME`, the session's `customer_name`); `None` when neither is.
    pub fn connecting(self, partner: Option<&str>, customer: Option<&str>) -> Option<String> {
        let values = [
            ("partner", partner.unwrap_or("")),
            ("customer", customer.unwrap_or("")),
        ];
        let msg = match (partner, customer) {
            (Some(_), Some(_)) => Msg::ConnectingToFor,
            (Some(_), None) => Msg::ConnectingTo,
            (None, Some(_)) => Msg::ConnectingFor,
            (None, None) => return None,
        };
        Some(self.fill(msg, &values))
    }
}

/// Hands a language's sentences (as in `static/i18n/{tag}.json`) to [`Locale::t`]. False
/// when they are not one per [`Msg`], so a stale file can never shift sentences around
/// (the widget then stays in the language it shows).
pub fn deliver(locale: Locale, sentences: Vec<String>) -> bool {
    sentences.len() == Msg::ALL.len() && delivered::install(locale, sentences)
}

/// Every language compiled in.
#[cfg(any(not(target_arch = "wasm32"), feature = "all-languages"))]
mod delivered {
    use super::*;

    pub fn text(locale: Locale, msg: Msg) -> &'static str {
        compiled(locale, msg)
    }

    pub fn compiled(locale: Locale, msg: Msg) -> &'static str {
        match locale {
            Locale::En => en::en(msg),
            Locale::ZhHans => zh_hans::zh_hans(msg),
            Locale::ZhHant => zh_hant::zh_hant(msg),
            Locale::Vi => vi::vi(msg),
        }
    }

    pub fn is_ready(_: Locale) -> bool {
        true
    }

    pub fn install(_: Locale, _: Vec<String>) -> bool {
        true
    }
}

/// English compiled in; the others as delivered (kept for the page's life: a few KB each).
#[cfg(all(target_arch = "wasm32", not(feature = "all-languages")))]
mod delivered {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static DELIVERED: RefCell<Vec<(Locale, &'static [String])>> = const { RefCell::new(Vec::new()) };
    }

    fn table(locale: Locale) -> Option<&'static [String]> {
        DELIVERED.with(|d| {
            d.borrow()
                .iter()
                .find(|(l, _)| *l == locale)
                .map(|(_, t)| *t)
        })
    }

    pub fn text(locale: Locale, msg: Msg) -> &'static str {
        match table(locale) {
            Some(sentences) => sentences[msg as usize].as_str(),
            None => en::en(msg),
        }
    }

    pub fn is_ready(locale: Locale) -> bool {
        table(locale).is_some()
    }

    pub fn install(locale: Locale, sentences: Vec<String>) -> bool {
        if table(locale).is_none() {
            let sentences: &'static [String] = Box::leak(sentences.into_boxed_slice());
            DELIVERED.with(|d| d.borrow_mut().push((locale, sentences)));
        }
        true
    }
}

/// The one place the protocol's spelling meets the widget's languages.
impl From<wire::Locale> for Locale {
    fn from(l: wire::Locale) -> Locale {
        match l {
            wire::Locale::En => Locale::En,
            wire::Locale::ZhHans => Locale::ZhHans,
            wire::Locale::ZhHant => Locale::ZhHant,
            wire::Locale::Vi => Locale::Vi,
        }
    }
}

impl From<Locale> for wire::Locale {
    fn from(l: Locale) -> wire::Locale {
        match l {
            Locale::En => wire::Locale::En,
            Locale::ZhHans => wire::Locale::ZhHans,
            Locale::ZhHant => wire::Locale::ZhHant,
            Locale::Vi => wire::Locale::Vi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<&str> {
        let mut out: Vec<&str> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn every_language_has_every_key_with_the_same_placeholders() {
        for &msg in Msg::ALL {
            let english = placeholders(Locale::En.t(msg));
            for locale in Locale::ALL {
                let text = locale.t(msg);
                assert!(!text.trim().is_empty(), "{locale:?} {msg:?} is empty");
                assert_eq!(placeholders(text), english, "{locale:?} {msg:?}");
            }
        }
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn the_delivered_languages_are_the_catalogue() {
        for locale in [Locale::ZhHans, Locale::ZhHant, Locale::Vi] {
            let path = format!(
                "{}/static/i18n/{}.json",
                env!("CARGO_MANIFEST_DIR"),
                locale.tag()
            );
            let want = serde_json::to_string_pretty(&locale.catalogue()).unwrap() + "\n";
            if std::env::var_os("UPDATE_I18N").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{path} is not the catalogue: UPDATE_I18N=1 cargo test -p wa-signup i18n"
            );
            let back: Vec<String> = serde_json::from_str(&have).unwrap();
            assert!(deliver(locale, back));
        }
        assert!(!deliver(Locale::Vi, vec!["too short".to_owned()]));
    }

    #[test]
    fn other_languages_are_translated_not_copied() {
        let mut same = 0;
        for &msg in Msg::ALL {
            for locale in [Locale::ZhHans, Locale::ZhHant, Locale::Vi] {
                if locale.t(msg) == Locale::En.t(msg) {
                    same += 1;
                }
            }
        }
        assert_eq!(same, 0, "sentences left in English");
    }

    #[test]
    fn tags_negotiate_to_the_right_script() {
        let cases = [
            ("zh-TW", Locale::ZhHant),
            ("zh-HK", Locale::ZhHant),
            ("zh-Hant-HK", Locale::ZhHant),
            ("zh_CN", Locale::ZhHans),
            ("zh", Locale::ZhHans),
            ("zh-Hans-TW", Locale::ZhHans),
            ("vi-VN", Locale::Vi),
            ("en-GB", Locale::En),
        ];
        for (tag, want) in cases {
            assert_eq!(Locale::from_tag(tag), Some(want), "{tag}");
        }
        assert_eq!(Locale::from_tag("fr-FR"), None);
        assert_eq!(Locale::negotiate(["fr", "de", "vi"]), Locale::Vi);
        assert_eq!(Locale::negotiate(["fr"]), Locale::En);
        assert_eq!(Locale::negotiate([]), Locale::En);
    }

    #[test]
    fn connecting_names_whom_it_knows() {
        let en = Locale::En;
        assert_eq!(
            en.connecting(Some("Acme"), Some("Kim's Cakes")).as_deref(),
            Some("Connecting WhatsApp to Acme for Kim's Cakes")
        );
        assert_eq!(
            en.connecting(Some("Acme"), None).as_deref(),
            Some("Connecting WhatsApp to Acme")
        );
        assert_eq!(
            en.connecting(None, Some("Kim")).as_deref(),
            Some("Connecting WhatsApp for Kim")
        );
        assert_eq!(en.connecting(None, None), None);
        for locale in Locale::ALL {
            let text = locale.connecting(Some("Acme"), Some("Kim")).unwrap();
            assert!(
                text.contains("Acme") && text.contains("Kim") && !text.contains('{'),
                "{text}"
            );
        }
    }

    #[test]
    fn fill_replaces_named_placeholders() {
        let text = Locale::En.fill(Msg::CancelledAt, &[("step", "add a phone number")]);
        assert_eq!(
            text,
            "You closed the Facebook window at the step “add a phone number”."
        );
    }

    #[test]
    fn the_protocol_spelling_maps_both_ways() {
        for locale in Locale::ALL {
            let wire = wire::Locale::from(locale);
            assert_eq!(Locale::from(wire), locale);
            assert_eq!(locale.tag(), wire.as_str());
            assert_eq!(Locale::from_tag(wire.as_str()), Some(locale));
        }
        assert_eq!(wire::Locale::ALL.len(), Locale::ALL.len());
    }

    #[test]
    fn the_page_s_choice_beats_the_session_s_which_beats_the_browser_s() {
        let browser = ["vi-VN", "en"];
        let session = Some(wire::Locale::ZhHant);
        assert_eq!(
            Locale::initial(Some("zh-CN"), session, browser),
            Locale::ZhHans
        );
        assert_eq!(Locale::initial(None, session, browser), Locale::ZhHant);
        // A tag the widget does not speak is no choice: the session's language applies.
        assert_eq!(
            Locale::initial(Some("fr"), session, browser),
            Locale::ZhHant
        );
        assert_eq!(Locale::initial(None, None, browser), Locale::Vi);
        assert_eq!(Locale::initial(Some("fr"), None, ["de"]), Locale::En);
    }
}
