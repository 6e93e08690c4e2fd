//! The fake YCloud: one behaviour table, answered in-process in sandbox mode (no
//! `YCLOUD_API_KEY`) and over HTTP by the `fake-ycloud` binary ([`http`]), which the
//! end-to-end suite and the benchmarks run as their YCloud. There is no other fake of
//! YCloud's API in the repository; the proxy's black-box tests script wiremock per test.
//!
//! # Behaviour table
//!
//! Paths are relative to the API base (`YCLOUD_BASE_URL`, `…/v2`), the calls of
//! [`YCloudClient`](crate::providers::ycloud::YCloudClient). Successes are `200` with YCloud's
//! `WhatsappBusinessAccount` or `WhatsappPhoneNumber` object; errors are YCloud's
//! `{"error": {"status", "code", "message", "requestId", …}}`, and over HTTP every answer
//! carries a `YCloud-Request-ID` header (the body's `requestId`).
//!
//! | call | answer |
//! |---|---|
//! | `POST /whatsapp/businessAccounts/{waba}/tp/bind` | the WABA, `paymentMethodAttached: true` |
//! | `POST /whatsapp/businessAccounts/{waba}/smb/bind` | the coexistence number (id `9{waba}`), `PENDING` |
//! | `POST /whatsapp/phoneNumbers/{waba}/{id}/register` | the number, `PENDING` |
//! | `GET /whatsapp/businessAccounts/{waba}` | the WABA, as `tp/bind` answers it |
//! | `GET /whatsapp/phoneNumbers/{waba}/{e164}` | the number, `CONNECTED` once `connect_after` has passed since its first `register`/`smb/bind`, `PENDING` before |
//! | `GET /whatsapp/phoneNumbers?filter.wabaId=` | `{"items": [...]}`: the numbers registered or smb-bound so far, as the retrieve call answers them (over HTTP, of every WABA: the query is not read) |
//! | anything else | `404 NOT_FOUND` |
//!
//! Numbers are `+1555` and the id's last 7 digits (`id 106540352242922` → `+15552242922`).
//! Registering again does not restart the clock. `connect_after` is 3 s in sandbox mode
//! (`sandbox_connect_after`), `--connect-after-ms` for the binary, 0 with `--zero-latency`
//! (every number `CONNECTED` at once). A `+1555…` number the fake does not know (the proxy
//! restarted while it was pending) reads `CONNECTED`; any other unknown number is
//! `404 NOT_FOUND`.
//!
//! WABA ids whose last digits are special, so the unhappy paths can be tried by hand:
//!
//! | WABA id ends in | answer | the onboarding |
//! |---|---|---|
//! | `402` | `tp/bind` and `GET` WABA: `paymentMethodAttached: false` | `action_required`, `payment_method_missing` |
//! | `429` | `register`: `400 WHATSAPP_API_ERROR` carrying Meta's error `133016` | `failed`, `register_limit` with `retry_after` |
//! | `500` | `tp/bind` and `smb/bind`: `500 INTERNAL_ERROR` | `failed`, `upstream_unavailable`, retryable |
//!
//! Two switches, off in sandbox mode, set over HTTP by tests ([`Switches`],
//! `POST /__control`): `paymentMissing` answers every WABA with
//! `paymentMethodAttached: false`, as `…402` does; `holdPending` keeps every number `PENDING`
//! until it is cleared. Over HTTP only: a wrong or missing `X-API-Key` (when the binary was
//! given `--api-key`; a missing one always) is `401 UNAUTHORIZED`, and `GET /__calls` lists
//! the calls received.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use wire::{PhoneNumberId, WabaId};

use crate::providers::ycloud::{ErrorResponse, Object, PhoneNumber, UpstreamError, Waba};

pub mod http;

/// One answer of the fake, as YCloud sends it over HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body: an object, or YCloud's error body.
    pub body: Value,
    /// `YCloud-Request-ID`.
    pub request_id: String,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            request_id: fake_request_id(),
        }
    }

    /// YCloud's error body, with a fresh request id; `meta` is Meta's relayed error
    /// (`whatsappApiError`), when the call went through to Meta.
    pub fn error(status: u16, code: &str, message: &str, meta: Option<Value>) -> Self {
        let request_id = fake_request_id();
        let mut error = json!({
            "status": status,
            "code": code,
            "message": message,
            "requestId": request_id,
        });
        if let Some(meta) = meta {
            error["whatsappApiError"] = meta;
        }
        Self {
            status,
            body: json!({ "error": error }),
            request_id,
        }
    }

    fn not_found() -> Self {
        Self::error(
            404,
            "NOT_FOUND",
            "The requested resource does not exist.",
            None,
        )
    }

    /// What the HTTP client would make of this answer.
    fn into_object<T: DeserializeOwned>(self) -> Result<Object<T>, UpstreamError> {
        if (200..300).contains(&self.status) {
            let typed = T::deserialize(&self.body).map_err(|e| UpstreamError::BadBody {
                status: self.status,
                request_id: Some(self.request_id.clone()),
                cause: e.to_string(),
            })?;
            return Ok(Object {
                typed,
                raw: self.body,
            });
        }
        let detail = serde_json::from_value::<ErrorResponse>(self.body)
            .ok()
            .map(|r| Box::new(r.error));
        Err(UpstreamError::Status {
            status: self.status,
            detail,
            request_id: Some(self.request_id),
            retry_after: None,
        })
    }
}

/// The switches tests set over HTTP (`POST /__control`); both off unless set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Switches {
    /// Every WABA answers `paymentMethodAttached: false`.
    pub payment_missing: bool,
    /// Every number reads `PENDING`.
    pub hold_pending: bool,
}

#[derive(Debug, Clone)]
struct FakeNumber {
    id: String,
    waba_id: String,
    pending_since: Instant,
}

/// The fake YCloud (see the module documentation for what it answers).
#[derive(Debug)]
pub struct FakeYCloud {
    connect_after: Duration,
    /// By E.164 number, as YCloud's retrieve call addresses them.
    numbers: Mutex<HashMap<String, FakeNumber>>,
    payment_missing: AtomicBool,
    hold_pending: AtomicBool,
}

impl FakeYCloud {
    /// A fake whose numbers turn `CONNECTED` `connect_after` after register/smb-bind.
    pub fn new(connect_after: Duration) -> Self {
        Self {
            connect_after,
            numbers: Mutex::new(HashMap::new()),
            payment_missing: AtomicBool::new(false),
            hold_pending: AtomicBool::new(false),
        }
    }

    /// The switches as they are.
    pub fn switches(&self) -> Switches {
        Switches {
            payment_missing: self.payment_missing.load(Ordering::Relaxed),
            hold_pending: self.hold_pending.load(Ordering::Relaxed),
        }
    }

    /// Sets both switches.
    pub fn set_switches(&self, s: Switches) {
        self.payment_missing
            .store(s.payment_missing, Ordering::Relaxed);
        self.hold_pending.store(s.hold_pending, Ordering::Relaxed);
    }

    /// The answer to `method` on `segments`, the decoded path segments after the API base
    /// (`["whatsapp", "businessAccounts", "123", "tp", "bind"]`): the behaviour table's rows.
    pub fn answer(&self, method: &str, segments: &[&str]) -> Answer {
        let waba = |s: &str| WabaId::parse(s).ok();
        match (method, segments) {
            ("POST", ["whatsapp", "businessAccounts", w, "tp", "bind"]) => {
                waba(w).map_or_else(Answer::not_found, |w| self.tp_bind_answer(&w))
            }
            ("POST", ["whatsapp", "businessAccounts", w, "smb", "bind"]) => {
                waba(w).map_or_else(Answer::not_found, |w| self.smb_bind_answer(&w))
            }
            ("POST", ["whatsapp", "phoneNumbers", w, p, "register"]) => {
                match (waba(w), PhoneNumberId::parse(*p).ok()) {
                    (Some(w), Some(p)) => self.register_answer(&w, &p),
                    _ => Answer::not_found(),
                }
            }
            ("GET", ["whatsapp", "businessAccounts", w]) => {
                waba(w).map_or_else(Answer::not_found, |w| self.waba_answer(&w))
            }
            ("GET", ["whatsapp", "phoneNumbers"]) => self.list_answer(None),
            ("GET", ["whatsapp", "phoneNumbers", w, e164]) => {
                waba(w).map_or_else(Answer::not_found, |w| self.number_answer(&w, e164))
            }
            _ => Answer::not_found(),
        }
    }

    /// Fake `tp/bind`.
    ///
    /// # Errors
    /// For the special WABA ids in the module documentation.
    pub fn tp_bind(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        self.tp_bind_answer(waba).into_object()
    }

    /// Fake `retrieve_waba`.
    ///
    /// # Errors
    /// Never, today; the signature matches the real client.
    pub fn retrieve_waba(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        self.waba_answer(waba).into_object()
    }

    /// Fake `smb/bind`: invents the coexistence number and answers it `PENDING`.
    ///
    /// # Errors
    /// For the special WABA ids in the module documentation.
    pub fn smb_bind(&self, waba: &WabaId) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.smb_bind_answer(waba).into_object()
    }

    /// Fake `register`: answers the number `PENDING`.
    ///
    /// # Errors
    /// For the special WABA ids in the module documentation.
    pub fn register(
        &self,
        waba: &WabaId,
        phone_number_id: &PhoneNumberId,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.register_answer(waba, phone_number_id).into_object()
    }

    /// Fake `retrieve_phone_number`: `CONNECTED` once the delay has passed.
    ///
    /// # Errors
    /// 404 for a number the fake never registered (and not of its `+1555` kind).
    pub fn retrieve_phone_number(
        &self,
        waba: &WabaId,
        e164: &str,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.number_answer(waba, e164).into_object()
    }

    /// Fake `list_phone_numbers`: the WABA's numbers.
    ///
    /// # Errors
    /// Never, today; the signature matches the real client.
    pub fn list_phone_numbers(
        &self,
        waba: &WabaId,
    ) -> Result<Object<crate::providers::ycloud::PhoneNumberPage>, UpstreamError> {
        self.list_answer(Some(waba)).into_object()
    }

    fn list_answer(&self, waba: Option<&WabaId>) -> Answer {
        let numbers: Vec<(String, FakeNumber)> = self
            .lock()
            .iter()
            .filter(|(_, n)| waba.is_none_or(|w| n.waba_id == w.as_str()))
            .map(|(e164, n)| (e164.clone(), n.clone()))
            .collect();
        let items: Vec<Value> = numbers
            .iter()
            .map(|(e164, n)| phone_json(&n.id, &n.waba_id, e164, self.status(n.pending_since)))
            .collect();
        Answer::ok(json!({ "items": items }))
    }

    fn tp_bind_answer(&self, waba: &WabaId) -> Answer {
        if waba.as_str().ends_with("500") {
            return server_error();
        }
        self.waba_answer(waba)
    }

    fn waba_answer(&self, waba: &WabaId) -> Answer {
        let attached = !(waba.as_str().ends_with("402") || self.switches().payment_missing);
        Answer::ok(waba_json(waba, attached))
    }

    fn smb_bind_answer(&self, waba: &WabaId) -> Answer {
        if waba.as_str().ends_with("500") {
            return server_error();
        }
        let id: String = format!("9{}", waba.as_str())
            .chars()
            .take(wire::MAX_ID_DIGITS)
            .collect();
        self.pend(waba.as_str(), &id)
    }

    fn register_answer(&self, waba: &WabaId, phone_number_id: &PhoneNumberId) -> Answer {
        if waba.as_str().ends_with("429") {
            return Answer::error(
                400,
                "WHATSAPP_API_ERROR",
                "Too many register requests for this number.",
                Some(json!({
                    "code": 133016,
                    "message": "Account register deregister rate limit exceeded",
                })),
            );
        }
        self.pend(waba.as_str(), phone_number_id.as_str())
    }

    fn number_answer(&self, waba: &WabaId, e164: &str) -> Answer {
        let number = self
            .lock()
            .get(e164)
            .filter(|n| n.waba_id == waba.as_str())
            .cloned();
        // One of the fake's own numbers it has forgotten (the proxy restarted while it was
        // pending): it has had all the time it needs to connect.
        let number = number.or_else(|| {
            let tail = e164.strip_prefix("+1555").filter(|t| t.len() == 7)?;
            Some(FakeNumber {
                id: tail.trim_start_matches('0').to_owned(),
                waba_id: waba.as_str().to_owned(),
                pending_since: Instant::now().checked_sub(self.connect_after)?,
            })
        });
        let Some(n) = number else {
            return Answer::not_found();
        };
        Answer::ok(phone_json(
            &n.id,
            &n.waba_id,
            e164,
            self.status(n.pending_since),
        ))
    }

    fn pend(&self, waba: &str, id: &str) -> Answer {
        let e164 = fake_e164(id);
        let mut numbers = self.lock();
        // Registering again does not restart the clock: like YCloud, the number stays as is.
        let since = numbers
            .entry(e164.clone())
            .or_insert_with(|| FakeNumber {
                id: id.to_owned(),
                waba_id: waba.to_owned(),
                pending_since: Instant::now(),
            })
            .pending_since;
        drop(numbers);
        Answer::ok(phone_json(id, waba, &e164, self.status(since)))
    }

    /// A number's status: `CONNECTED` once `connect_after` has passed since it was pended
    /// (never while `hold_pending` is set).
    fn status(&self, pending_since: Instant) -> &'static str {
        if !self.hold_pending.load(Ordering::Relaxed)
            && pending_since.elapsed() >= self.connect_after
        {
            "CONNECTED"
        } else {
            "PENDING"
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, FakeNumber>> {
        // A poisoned map still holds valid entries: keep serving them.
        self.numbers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn server_error() -> Answer {
    Answer::error(
        500,
        "INTERNAL_ERROR",
        "Sandbox: simulated server error.",
        None,
    )
}

fn fake_request_id() -> String {
    format!(
        "req_sandbox_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A stable, obviously fake US number for an id: `+1555` and the id's last 7 digits.
fn fake_e164(id: &str) -> String {
    let digits: String = id.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(7)..];
    format!("+1555{tail:0>7}")
}

fn waba_json(waba: &WabaId, payment_attached: bool) -> Value {
    json!({
        "id": waba.as_str(),
        "name": "Sandbox WhatsApp Business Account",
        "accountReviewStatus": "APPROVED",
        "paymentMethodAttached": payment_attached,
        "currency": "USD",
        "timezoneId": "1",
        "businessId": "400000000000004",
        "businessName": "Sandbox Business",
        "messageTemplateNamespace": "sandbox_namespace",
    })
}

fn phone_json(id: &str, waba: &str, e164: &str, status: &str) -> Value {
    let display = format!("+1 555-{}-{}", &e164[5..8], &e164[8..]);
    json!({
        "id": id,
        "phoneNumber": e164,
        "displayPhoneNumber": display,
        "wabaId": waba,
        "verifiedName": "Sandbox Shop",
        "qualityRating": "GREEN",
        "messagingLimit": "TIER_250",
        "codeVerificationStatus": "VERIFIED",
        "nameStatus": "APPROVED",
        "isOfficialBusinessAccount": false,
        "status": status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_connect_after_the_delay() {
        let fake = FakeYCloud::new(Duration::ZERO);
        let waba = WabaId::parse("123").unwrap();
        let phone = PhoneNumberId::parse("456").unwrap();
        let reg = fake.register(&waba, &phone).unwrap();
        let e164 = reg.typed.phone_number.clone().unwrap();
        assert_eq!(e164, "+15550000456");
        let got = fake.retrieve_phone_number(&waba, &e164).unwrap();
        assert!(got.typed.is_connected());
        assert!(fake.retrieve_phone_number(&waba, "+4420799999999").is_err());
        // Its own kind of number, forgotten across a restart: connected.
        let forgotten = fake.retrieve_phone_number(&waba, "+15559999999").unwrap();
        assert!(forgotten.typed.is_connected());
    }

    #[test]
    fn slow_numbers_stay_pending() {
        let fake = FakeYCloud::new(Duration::from_secs(60));
        let waba = WabaId::parse("123").unwrap();
        let n = fake.smb_bind(&waba).unwrap();
        assert_eq!(n.typed.status.as_deref(), Some("PENDING"));
        assert_eq!(n.raw["wabaId"], "123");
    }

    #[test]
    fn magic_ids_fail() {
        let fake = FakeYCloud::new(Duration::ZERO);
        let w402 = WabaId::parse("1402").unwrap();
        assert_eq!(
            fake.tp_bind(&w402).unwrap().typed.payment_method_attached,
            Some(false)
        );
        let e = fake.tp_bind(&WabaId::parse("1500").unwrap()).unwrap_err();
        assert!(
            matches!(e, UpstreamError::Status { status: 500, .. }),
            "{e:?}"
        );
        assert!(e
            .request_id()
            .is_some_and(|r| r.starts_with("req_sandbox_")));
        assert!(fake.smb_bind(&WabaId::parse("1500").unwrap()).is_err());
        let p = PhoneNumberId::parse("1").unwrap();
        let e = fake
            .register(&WabaId::parse("1429").unwrap(), &p)
            .unwrap_err();
        let now = crate::clock::Clock::system().now();
        assert_eq!(
            e.to_onboarding_error("register", now).code,
            "register_limit"
        );
    }

    #[test]
    fn switches_hold_numbers_and_drop_the_payment_method() {
        let fake = FakeYCloud::new(Duration::ZERO);
        let waba = WabaId::parse("123").unwrap();
        let phone = PhoneNumberId::parse("456").unwrap();
        fake.set_switches(Switches {
            payment_missing: true,
            hold_pending: true,
        });
        let w = fake.tp_bind(&waba).unwrap();
        assert_eq!(w.typed.payment_method_attached, Some(false));
        let n = fake.register(&waba, &phone).unwrap();
        assert_eq!(n.typed.status.as_deref(), Some("PENDING"));
        fake.set_switches(Switches::default());
        assert_eq!(
            fake.retrieve_waba(&waba)
                .unwrap()
                .typed
                .payment_method_attached,
            Some(true)
        );
        assert!(fake
            .retrieve_phone_number(&waba, "+15550000456")
            .unwrap()
            .typed
            .is_connected());
    }

    #[test]
    fn routes_are_the_clients_paths() {
        let fake = FakeYCloud::new(Duration::ZERO);
        let a = fake.answer(
            "POST",
            &["whatsapp", "businessAccounts", "123", "tp", "bind"],
        );
        assert_eq!((a.status, &a.body["id"]), (200, &json!("123")));
        let a = fake.answer(
            "POST",
            &["whatsapp", "phoneNumbers", "123", "456", "register"],
        );
        assert_eq!(a.body["phoneNumber"], "+15550000456");
        let a = fake.answer("GET", &["whatsapp", "phoneNumbers", "123", "+15550000456"]);
        assert_eq!(a.body["status"], "CONNECTED");
        let a = fake.answer("GET", &["whatsapp", "businessAccounts", "123"]);
        assert_eq!(a.body["paymentMethodAttached"], true);
        for (method, path) in [
            (
                "GET",
                &["whatsapp", "businessAccounts", "123", "tp", "bind"][..],
            ),
            (
                "POST",
                &["whatsapp", "businessAccounts", "12a", "tp", "bind"][..],
            ),
            (
                "POST",
                &["whatsapp", "phoneNumbers", "123", "x", "register"][..],
            ),
            ("GET", &["nothing"][..]),
        ] {
            let a = fake.answer(method, path);
            assert_eq!(a.status, 404, "{method} {path:?}");
            assert_eq!(a.body["error"]["code"], "NOT_FOUND");
            assert_eq!(a.body["error"]["requestId"], a.request_id.as_str());
        }
    }
}
