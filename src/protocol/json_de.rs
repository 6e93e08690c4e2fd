//! serde's reading of a [`Json`] value: how the browser bundle reads the proxy's answers
//! (from what the browser's `JSON.parse` made), with no JSON parser of its own and no error
//! messages.
//!
//! A [`Mismatch`] says only that the value was not the type asked for: every caller only
//! asks whether it was. serde's messages format the unexpected value (floats included:
//! float formatting alone was ~9 KB of the bundle), so none is ever built here. Numbers are
//! read from their digits: integers as integers; any other number is a mismatch (no type
//! the app reads holds a float, and an unknown member is skipped unread), which also keeps
//! float parsing out of the bundle. So a type serde reads by buffering (`flatten`,
//! `untagged`) cannot hold one anywhere: the app reads no such type this way.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::events::Json;

/// `value` read as `T`; `None` when it is not one.
pub fn from_json<T: DeserializeOwned>(value: &Json) -> Option<T> {
    T::deserialize(value).ok()
}

/// The value was not the type asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch;

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not the expected JSON value")
    }
}

impl std::error::Error for Mismatch {}

// Each of serde's errors is built without its message (the defaults would format one).
impl de::Error for Mismatch {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Mismatch
    }
    fn invalid_type(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Mismatch
    }
    fn invalid_value(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Mismatch
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Mismatch
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Mismatch
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Mismatch
    }
    fn missing_field(_: &'static str) -> Self {
        Mismatch
    }
    fn duplicate_field(_: &'static str) -> Self {
        Mismatch
    }
}

/// An integer, as the visitor takes it; anything else is a mismatch.
fn number<'de, V: Visitor<'de>>(text: &str, visitor: V) -> Result<V::Value, Mismatch> {
    if let Ok(n) = text.parse::<i64>() {
        visitor.visit_i64(n)
    } else if let Ok(n) = text.parse::<u64>() {
        visitor.visit_u64(n)
    } else {
        Err(Mismatch)
    }
}

impl<'de> de::Deserializer<'de> for &'de Json {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Json::Null => visitor.visit_unit(),
            Json::Bool(b) => visitor.visit_bool(*b),
            Json::Number(text) => number(text, visitor),
            Json::String(s) => visitor.visit_borrowed_str(s),
            Json::Array(items) => visitor.visit_seq(Items(items.iter())),
            Json::Object(members) => visitor.visit_map(Members {
                members: members.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Json::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants as their names (the only enums the app reads).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self {
            Json::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(Mismatch),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct Items<'de>(std::slice::Iter<'de, Json>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Mismatch;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Mismatch> {
        self.0.next().map(|v| seed.deserialize(v)).transpose()
    }
}

struct Members<'de> {
    members: std::slice::Iter<'de, (String, Json)>,
    value: Option<&'de Json>,
}

impl<'de> MapAccess<'de> for Members<'de> {
    type Error = Mismatch;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Mismatch> {
        let Some((key, value)) = self.members.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let key: de::value::BorrowedStrDeserializer<'de, Mismatch> =
            de::value::BorrowedStrDeserializer::new(key);
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Mismatch> {
        seed.deserialize(self.value.take().ok_or(Mismatch)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use wire::{CreatedOnboarding, ErrorBody, Onboarding, PublicConfig, SessionInfo};

    /// What serde_json makes of `v` as `T`, and what this module does: the same, or both none.
    fn same<T: DeserializeOwned + PartialEq + fmt::Debug>(v: Value) {
        let want = serde_json::from_value::<T>(v.clone()).ok();
        let have = from_json::<T>(&Json::from(v.clone()));
        assert_eq!(have, want, "{v}");
    }

    fn onboarding() -> Value {
        json!({
            "id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "mode": "coexistence",
            "launched_mode": "standard",
            "waba_id": "104996122399160",
            "phone_number_id": "106540352242922",
            "business_id": "2729063490586005",
            "customer_ref": "cust-42",
            "state": "action_required",
            "steps": [
                {"name": "smb_bind", "state": "done", "started_at": "2026-12-07T10:00:00Z",
                 "finished_at": "2026-12-07T10:00:01Z"},
                {"name": "register", "state": "failed", "started_at": "2026-12-07T10:00:02Z",
                 "error": {"code": "pin_required", "message": "m", "retryable": true}},
                {"name": "a_step_from_a_newer_proxy", "state": "started",
                 "started_at": "2026-12-07T10:00:03Z"}
            ],
            "waba": {"name": "Kim's Cakes", "payment_method_attached": false},
            "phone_number": {"display_phone_number": "+1 555-000-1234", "status": "PENDING"},
            "error": {"code": "a_code_from_a_newer_proxy", "message": "m", "retryable": false,
                      "upstream_request_id": "req-9", "retry_after": "2026-12-08T10:00:00Z",
                      "candidates": [{"id": "106540352242922", "is_on_biz_app": true}]},
            "inbound_verified_at": null,
            "sync": {"contacts": {"state": "done"},
                     "history": {"state": "in_progress", "progress": 40}},
            "created_at": "2026-12-07T10:00:00Z",
            "updated_at": "2026-12-07T10:00:03Z",
            "a_field_from_a_newer_proxy": {"nested": [1, 2.5, "x", null, true]}
        })
    }

    #[test]
    fn reads_the_proxy_s_answers_as_serde_json_does() {
        same::<Onboarding>(onboarding());
        // A created onboarding as the app reads it (`api::created`): the onboarding, then its
        // token, from the same object.
        let mut created = onboarding();
        created["client_token"] = json!("ct_0123456789abcdef0123456789abcdef");
        let want: CreatedOnboarding = serde_json::from_value(created.clone()).unwrap();
        let created = Json::from(created);
        assert_eq!(from_json::<Onboarding>(&created), Some(want.onboarding));
        #[derive(serde::Deserialize)]
        struct TokenOnly {
            client_token: wire::ClientToken,
        }
        let token = from_json::<TokenOnly>(&created).unwrap().client_token;
        assert_eq!(token.as_str(), want.client_token.as_str());
        same::<ErrorBody>(json!({"error": {"code": "session_invalid", "message": "m",
                                           "retryable": false}}));
        same::<PublicConfig>(json!({"app_id": "1", "config_id": "2", "solution_id": "3",
            "graph_version": "v26.0", "es_version": "v4-public-preview",
            "sdk_url": "/sandbox/sdk.js", "sandbox": true, "verification": false,
            "redirect_flow": true, "partner_name": null}));
        same::<SessionInfo>(json!({"modes": ["standard"], "locale": "zh-Hant",
            "expires_at": "2026-12-08T10:00:00Z", "customer_name": "Kim's Cakes"}));
        // With Meta's pre-filled data (a number in it) and a reauthorization.
        let prefill = json!({
            "business": {"name": "Acme Inc.", "email": "owner@acme.example",
                         "phone": {"code": 1, "number": "6505551234"},
                         "address": {"streetAddress1": "1 Acme Way", "country": "US"}},
            "phone": {"displayName": "Acme", "category": "ENTERTAIN"}
        });
        let session = json!({"modes": ["standard", "coexistence"],
            "expires_at": "2026-12-08T10:00:00Z", "return_url": "https://partner.example/back",
            "prefill": prefill,
            "reauthorize": {"onboarding_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                            "waba_id": "104996122399160"}});
        assert!(from_json::<SessionInfo>(&Json::from(session.clone())).is_some());
        same::<SessionInfo>(session.clone());
        let mut bad = session;
        bad["prefill"]["business"]["email"] = json!("not an email");
        same::<SessionInfo>(bad);
        same::<Vec<String>>(json!(["a", "b"]));
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        let mut o = onboarding();
        // A malformed id, a progress out of range, a float, a missing field, a wrong type.
        for (key, bad) in [
            ("waba_id", json!("12x")),
            ("waba_id", json!(104996122399160u64)),
            ("state", json!("no_such_state")),
            ("mode", json!(1)),
            ("steps", json!({})),
            (
                "sync",
                json!({"contacts": {"state": "done"},
                            "history": {"state": "done", "progress": 300}}),
            ),
            (
                "sync",
                json!({"contacts": {"state": "done"},
                            "history": {"state": "done", "progress": 40.5}}),
            ),
        ] {
            let mut v = o.clone();
            v[key] = bad;
            assert_eq!(from_json::<Onboarding>(&Json::from(v.clone())), None, "{v}");
            same::<Onboarding>(v);
        }
        o.as_object_mut().unwrap().remove("created_at");
        same::<Onboarding>(o);
        same::<Vec<String>>(json!(["a", 1]));
        same::<Vec<String>>(json!("a"));
        same::<Option<u8>>(json!(-1));
        same::<Option<u8>>(json!(255));
        same::<Option<u8>>(json!(null));
    }
}
