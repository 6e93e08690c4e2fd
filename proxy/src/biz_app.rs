//! Which path a sign-up takes, decided from what Meta reports rather than from the button,
//! and the one rule on registering: a number on the WhatsApp Business app is never
//! registered (register would take it off the customer's app).
//!
//! With Embedded Signup v4 the products, coexistence among them, come from the login
//! configuration, so a customer can finish on another path than the button they pressed:
//! - the finish event says which (`FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING`: coexistence;
//!   `FINISH`: standard; the other finishes say nothing about it) — [`reported_mode`];
//! - the number itself, read with the customer's token, settles it: `is_on_biz_app: true` is
//!   a Business app number, whatever the event said — [`decide`], [`may_register`];
//! - a coexistence finish may name no number: the one the WABA has on the Business app is
//!   it, and when that is not exactly one, a person chooses — [`resolve_coexistence_number`];
//! - after a coexistence onboarding, Meta reports the number on both the app and Cloud API
//!   (`is_on_biz_app: true`, `platform_type: "CLOUD_API"`) — [`coexistence_confirmed`].
//!
//! Everything here is a pure function of parsed values; the Graph reads are in
//! `graph.rs` (the sign-up's edge) and `meta/` (the Meta provider's runs).

use serde::Deserialize;
use wire::{EventName, Mode, NumberCandidate, PhoneNumberId};

/// The finish event of a coexistence (WhatsApp Business app) sign-up.
pub const COEXISTENCE_FINISH: &str = "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING";
/// The finish event of a Cloud API number.
pub const STANDARD_FINISH: &str = "FINISH";
/// `platform_type` of a number served by Cloud API.
pub const CLOUD_API: &str = "CLOUD_API";

/// What Meta says of one phone number (`GET /{phone_number_id}?fields=…`, or one entry of
/// `GET /{waba_id}/phone_numbers`). Every field is optional: Meta leaves out what it does
/// not know, and an absent `is_on_biz_app` decides nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NumberFacts {
    /// The number's id.
    #[serde(default)]
    pub id: Option<String>,
    /// As people write it.
    #[serde(default)]
    pub display_phone_number: Option<String>,
    /// True: the number is on the WhatsApp Business app.
    #[serde(default)]
    pub is_on_biz_app: Option<bool>,
    /// `CLOUD_API`, `ON_PREMISE` or `NOT_APPLICABLE`.
    #[serde(default)]
    pub platform_type: Option<String>,
    /// e.g. `VERIFIED`, `NOT_VERIFIED`.
    #[serde(default)]
    pub code_verification_status: Option<String>,
    /// e.g. `APPROVED`, `PENDING_REVIEW`.
    #[serde(default)]
    pub name_status: Option<String>,
}

/// The fields of a number the sign-up reads before deciding its path.
pub const FACT_FIELDS: &str = "is_on_biz_app,platform_type,code_verification_status,name_status";
/// The same for each of a WABA's numbers, with what tells them apart.
pub const LIST_FIELDS: &str =
    "id,display_phone_number,is_on_biz_app,platform_type,code_verification_status,name_status";

/// The mode the finish event reports; `launched` (the button's) when the event says nothing
/// about it (`FINISH_ONLY_WABA`, the other finishes, none).
pub fn reported_mode(launched: Mode, event: Option<&EventName>) -> Mode {
    match event.map(EventName::as_str) {
        Some(COEXISTENCE_FINISH) => Mode::Coexistence,
        Some(STANDARD_FINISH) => Mode::Standard,
        _ => launched,
    }
}

/// The mode the onboarding runs: the reported one, unless Meta says the number is on the
/// WhatsApp Business app, which makes it coexistence (never registered).
pub fn decide(reported: Mode, facts: Option<&NumberFacts>) -> Mode {
    match facts.and_then(|f| f.is_on_biz_app) {
        Some(true) => Mode::Coexistence,
        _ => reported,
    }
}

/// Whether a number may be sent to `register` (either provider): never one on the WhatsApp
/// Business app.
pub fn may_register(facts: Option<&NumberFacts>) -> bool {
    facts.and_then(|f| f.is_on_biz_app) != Some(true)
}

/// Which number a coexistence finish without `phone_number_id` was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Exactly one of the WABA's numbers is on the Business app.
    One(PhoneNumberId),
    /// None or several are: these are the WABA's numbers (the Business app ones first).
    Ambiguous(Vec<NumberCandidate>),
}

/// The number on the WhatsApp Business app among a WABA's `numbers`.
pub fn resolve_coexistence_number(numbers: &[NumberFacts]) -> Resolved {
    let candidates: Vec<NumberCandidate> = numbers
        .iter()
        .filter_map(|n| {
            Some(NumberCandidate {
                id: PhoneNumberId::parse(n.id.as_deref()?).ok()?,
                display_phone_number: n.display_phone_number.clone(),
                is_on_biz_app: n.is_on_biz_app,
            })
        })
        .collect();
    let on_app: Vec<&NumberCandidate> = candidates
        .iter()
        .filter(|c| c.is_on_biz_app == Some(true))
        .collect();
    match on_app.as_slice() {
        [one] => Resolved::One(one.id.clone()),
        _ => {
            let mut all = candidates.clone();
            all.sort_by_key(|c| c.is_on_biz_app != Some(true));
            Resolved::Ambiguous(all)
        }
    }
}

/// After a coexistence onboarding: whether Meta reports the number on both the Business app
/// and Cloud API. `None` when Meta said nothing of either (nothing to conclude).
pub fn coexistence_confirmed(facts: &NumberFacts) -> Option<bool> {
    if facts.is_on_biz_app.is_none() && facts.platform_type.is_none() {
        return None;
    }
    Some(facts.is_on_biz_app == Some(true) && facts.platform_type.as_deref() == Some(CLOUD_API))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(s: &str) -> EventName {
        EventName::parse(s).unwrap()
    }

    fn facts(json: serde_json::Value) -> NumberFacts {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_finish_event_decides_the_mode_whichever_button_launched() {
        for launched in Mode::ALL {
            assert_eq!(
                reported_mode(launched, Some(&event(COEXISTENCE_FINISH))),
                Mode::Coexistence
            );
            assert_eq!(
                reported_mode(launched, Some(&event("FINISH"))),
                Mode::Standard
            );
            for silent in [
                "FINISH_ONLY_WABA",
                "FINISH_OBO_MIGRATION",
                "FINISH_GRANT_ONLY_API_ACCESS",
                "FINISH_SOMETHING_NEW",
            ] {
                assert_eq!(reported_mode(launched, Some(&event(silent))), launched);
            }
            assert_eq!(reported_mode(launched, None), launched);
        }
    }

    #[test]
    fn a_business_app_number_is_coexistence_and_never_registered() {
        let on_app =
            facts(serde_json::json!({"is_on_biz_app": true, "platform_type": "CLOUD_API"}));
        assert_eq!(decide(Mode::Standard, Some(&on_app)), Mode::Coexistence);
        assert!(!may_register(Some(&on_app)));
        let cloud = facts(serde_json::json!({"is_on_biz_app": false}));
        assert_eq!(decide(Mode::Standard, Some(&cloud)), Mode::Standard);
        assert_eq!(decide(Mode::Coexistence, Some(&cloud)), Mode::Coexistence);
        assert!(may_register(Some(&cloud)));
        // Meta silent, or not asked: the event's word stands.
        assert_eq!(
            decide(Mode::Standard, Some(&NumberFacts::default())),
            Mode::Standard
        );
        assert_eq!(decide(Mode::Standard, None), Mode::Standard);
        assert!(may_register(None));
    }

    #[test]
    fn the_business_app_number_of_a_waba_is_found_or_the_choice_left_to_a_person() {
        let list =
            |v: serde_json::Value| -> Vec<NumberFacts> { serde_json::from_value(v).unwrap() };
        let one = list(serde_json::json!([
            {"id": "111", "is_on_biz_app": false},
            {"id": "222", "is_on_biz_app": true, "display_phone_number": "+84 90 000 0000"}]));
        assert_eq!(
            resolve_coexistence_number(&one),
            Resolved::One(PhoneNumberId::parse("222").unwrap())
        );
        let two = list(serde_json::json!([
            {"id": "111", "is_on_biz_app": false},
            {"id": "222", "is_on_biz_app": true}, {"id": "333", "is_on_biz_app": true}]));
        let Resolved::Ambiguous(c) = resolve_coexistence_number(&two) else {
            panic!("two on the app is ambiguous")
        };
        let ids: Vec<&str> = c.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["222", "333", "111"]);
        let none = list(serde_json::json!([{"id": "111"}, {"id": "not-digits"}]));
        let Resolved::Ambiguous(c) = resolve_coexistence_number(&none) else {
            panic!("none on the app is ambiguous")
        };
        assert_eq!(c.len(), 1, "malformed ids are not offered");
        assert_eq!(
            resolve_coexistence_number(&[]),
            Resolved::Ambiguous(Vec::new())
        );
    }

    #[test]
    fn coexistence_is_confirmed_only_on_both_the_app_and_cloud_api() {
        let f = |v| facts(v);
        assert_eq!(
            coexistence_confirmed(&f(
                serde_json::json!({"is_on_biz_app": true, "platform_type": "CLOUD_API"})
            )),
            Some(true)
        );
        assert_eq!(
            coexistence_confirmed(&f(
                serde_json::json!({"is_on_biz_app": false, "platform_type": "CLOUD_API"})
            )),
            Some(false)
        );
        assert_eq!(
            coexistence_confirmed(&f(
                serde_json::json!({"is_on_biz_app": true, "platform_type": "NOT_APPLICABLE"})
            )),
            Some(false)
        );
        assert_eq!(
            coexistence_confirmed(&f(serde_json::json!({"status": "CONNECTED"}))),
            None
        );
    }
}
