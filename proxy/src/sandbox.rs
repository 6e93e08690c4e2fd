//! Sandbox mode: an in-process fake of the YCloud calls, used when no `YCLOUD_API_KEY` is
//! configured, so the whole flow can be clicked through offline.
//!
//! Answers are shaped like YCloud's (`WhatsappBusinessAccount`, `WhatsappPhoneNumber`):
//! - `tp/bind` → a WABA with `paymentMethodAttached: true`;
//! - `register` and `smb/bind` → a number with status `PENDING`, which reads back as
//!   `CONNECTED` once `sandbox_connect_after` (3 s) has passed;
//! - retrieving a WABA or a number answers what was bound or registered.
//!
//! A few WABA ids make the fake fail, so the unhappy paths can be tried by hand:
//! - ending in `402`: `tp/bind` answers `paymentMethodAttached: false` (→ `action_required`);
//! - ending in `429`: `register` answers Meta's error 133016 (register limit);
//! - ending in `500`: every bind answers HTTP 500 (→ `failed`, retryable).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use wire::{PhoneNumberId, WabaId};

use crate::ycloud::{ErrorDetail, Object, PhoneNumber, UpstreamError, Waba, WhatsappApiError};

/// Static assets served in sandbox mode (written alongside the browser app).
pub mod assets {
    /// `GET /sandbox/sdk.js`: a stand-in for Meta's JS SDK.
    pub const SDK_JS: &str = include_str!("../assets/sandbox-sdk.js");
    /// `GET /sandbox/popup.html`: a stand-in for Meta's Embedded Signup popup.
    pub const POPUP_HTML: &str = include_str!("../assets/sandbox-popup.html");
}

#[derive(Debug, Clone)]
struct FakeNumber {
    id: String,
    waba_id: String,
    pending_since: Instant,
}

/// The fake YCloud.
#[derive(Debug)]
pub struct FakeYCloud {
    connect_after: Duration,
    /// By E.164 number, as YCloud's retrieve call addresses them.
    numbers: Mutex<HashMap<String, FakeNumber>>,
}

impl FakeYCloud {
    /// A fake whose numbers turn `CONNECTED` `connect_after` after register/smb-bind.
    pub fn new(connect_after: Duration) -> Self {
        Self {
            connect_after,
            numbers: Mutex::new(HashMap::new()),
        }
    }

    /// Fake `tp/bind`.
    ///
    /// # Errors
    /// For the magic WABA ids in the module documentation.
    pub fn tp_bind(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        if waba.as_str().ends_with("500") {
            return Err(server_error());
        }
        object(waba_json(waba, !waba.as_str().ends_with("402")))
    }

    /// Fake `retrieve_waba`.
    ///
    /// # Errors
    /// Never, today; the signature matches the real client.
    pub fn retrieve_waba(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        object(waba_json(waba, !waba.as_str().ends_with("402")))
    }

    /// Fake `smb/bind`: invents the coexistence number and answers it `PENDING`.
    ///
    /// # Errors
    /// For the magic WABA ids in the module documentation.
    pub fn smb_bind(&self, waba: &WabaId) -> Result<Object<PhoneNumber>, UpstreamError> {
        if waba.as_str().ends_with("500") {
            return Err(server_error());
        }
        let id: String = format!("9{}", waba.as_str())
            .chars()
            .take(wire::MAX_ID_DIGITS)
            .collect();
        Ok(self.pend(waba.as_str(), &id))
    }

    /// Fake `register`: answers the number `PENDING`.
    ///
    /// # Errors
    /// For the magic WABA ids in the module documentation.
    pub fn register(
        &self,
        waba: &WabaId,
        phone_number_id: &PhoneNumberId,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        if waba.as_str().ends_with("429") {
            return Err(fake_error(
                400,
                "WHATSAPP_API_ERROR",
                "Too many register requests for this number.",
                Some(WhatsappApiError {
                    code: Some(json!(133016)),
                    message: Some("Account register deregister rate limit exceeded".into()),
                    ..WhatsappApiError::default()
                }),
            ));
        }
        Ok(self.pend(waba.as_str(), phone_number_id.as_str()))
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
            return Err(fake_error(
                404,
                "NOT_FOUND",
                "The requested resource does not exist.",
                None,
            ));
        };
        object(phone_json(&n.id, &n.waba_id, e164, self.status(&n)))
    }

    fn pend(&self, waba: &str, id: &str) -> Object<PhoneNumber> {
        let e164 = fake_e164(id);
        let mut numbers = self.lock();
        // Registering again does not restart the clock: like YCloud, the number stays as is.
        let entry = numbers.entry(e164.clone()).or_insert_with(|| FakeNumber {
            id: id.to_owned(),
            waba_id: waba.to_owned(),
            pending_since: Instant::now(),
        });
        let raw = phone_json(id, waba, &e164, self.status(entry));
        drop(numbers);
        // The JSON above is built here and always matches the DTO.
        object(raw).unwrap_or_else(|_| Object {
            typed: PhoneNumber::default(),
            raw: json!({}),
        })
    }

    /// A number's status: `CONNECTED` once `connect_after` has passed since it was pended.
    fn status(&self, number: &FakeNumber) -> &'static str {
        if number.pending_since.elapsed() >= self.connect_after {
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

fn object<T: DeserializeOwned>(raw: Value) -> Result<Object<T>, UpstreamError> {
    let typed = T::deserialize(&raw).map_err(|e| UpstreamError::BadBody {
        status: 200,
        request_id: None,
        cause: e.to_string(),
    })?;
    Ok(Object { typed, raw })
}

fn server_error() -> UpstreamError {
    fake_error(
        500,
        "INTERNAL_ERROR",
        "Sandbox: simulated server error.",
        None,
    )
}

/// An error answer shaped like YCloud's: the status, its error body (with Meta's error when
/// the call went through to Meta), and a request id.
fn fake_error(
    status: u16,
    code: &str,
    message: &str,
    meta: Option<WhatsappApiError>,
) -> UpstreamError {
    UpstreamError::Status {
        status,
        detail: Some(Box::new(ErrorDetail {
            status: Some(status.into()),
            code: Some(code.into()),
            message: Some(message.into()),
            request_id: Some(fake_request_id()),
            whatsapp_api_error: meta,
            ..ErrorDetail::default()
        })),
        request_id: Some(fake_request_id()),
        retry_after: None,
    }
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
        assert!(fake.tp_bind(&WabaId::parse("1500").unwrap()).is_err());
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
}
