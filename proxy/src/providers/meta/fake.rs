//! The sandbox's Meta (`SANDBOX=true WHATSAPP_PROVIDER=meta`): answers the Cloud API calls
//! in-process, in the shapes of Meta's documentation, read through the same error mapping as
//! the real answers.
//!
//! | call | answer |
//! |---|---|
//! | `POST /{waba}/subscribed_apps` | `{"success": true}` |
//! | `POST /{phone}/register` | `{"success": true}`; the number turns `CONNECTED` `connect_after` later |
//! | `POST /{phone}/deregister` | `{"success": true}` |
//! | `POST /{phone}/smb_app_data` | `{"messaging_product":"whatsapp","request_id"}` the first time of each `sync_type`, then Meta's `(#4)` |
//! | `GET /{phone}` | the number (`+1555` and the id's last 7 digits), `PENDING` until connected |
//!
//! WABA ids whose last digits are special, to try the unhappy paths by hand:
//!
//! | WABA id ends in | register answers | the onboarding |
//! |---|---|---|
//! | `005` | `133005` unless the PIN is `246810` (the number's existing PIN) | `action_required`, `pin_required`; send `246810` |
//! | `016` | `133016` | `failed`, `register_limit` |
//! | `1005` | `{"code":1005,…,"details":"Unknown error: biz_link_on_prem_reg_blocked"}` | `failed`, `on_premises_retired` |

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wire::{PhoneNumberId, WabaId};

use super::{MetaError, SyncType};

/// The existing PIN of the sandbox's `…005` numbers.
pub const SANDBOX_EXISTING_PIN: &str = "246810";

#[derive(Debug, Default)]
struct Number {
    registered_at: Option<Instant>,
    synced: Vec<&'static str>,
}

/// Meta's Cloud API, faked for the sandbox.
#[derive(Debug)]
pub struct FakeMeta {
    connect_after: Duration,
    numbers: Mutex<HashMap<String, Number>>,
}

fn graph_error(status: u16, code: i64, message: &str) -> MetaError {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code,
                                "fbtrace_id": "sandbox"}});
    MetaError::from_answer(status, body.to_string().as_bytes())
}

impl FakeMeta {
    /// A fake whose registered numbers connect after `connect_after`.
    pub fn new(connect_after: Duration) -> Self {
        Self {
            connect_after,
            numbers: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Number>> {
        self.numbers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `subscribed_apps`.
    ///
    /// # Errors
    /// None today; the signature is the client's.
    pub fn subscribe_app(&self, _waba: &WabaId) -> Result<Value, MetaError> {
        Ok(json!({"success": true}))
    }

    /// `register`.
    ///
    /// # Errors
    /// The special WABA ids' errors (module documentation).
    pub fn register(
        &self,
        waba: &WabaId,
        phone: &PhoneNumberId,
        pin: &str,
    ) -> Result<Value, MetaError> {
        let w = waba.as_str();
        if w.ends_with("1005") {
            let body = json!({"code": 1005, "title": "Access denied",
                              "details": "Unknown error: biz_link_on_prem_reg_blocked"});
            return Err(MetaError::from_answer(403, body.to_string().as_bytes()));
        }
        if w.ends_with("016") {
            return Err(graph_error(
                400,
                133016,
                "Registration or Deregistration failed because there were too many attempts \
                 for this phone number in a short period of time",
            ));
        }
        if w.ends_with("005") && pin != SANDBOX_EXISTING_PIN {
            return Err(graph_error(
                400,
                133005,
                "Two step verification PIN Mismatch",
            ));
        }
        let mut numbers = self.lock();
        let n = numbers.entry(phone.as_str().to_owned()).or_default();
        n.registered_at.get_or_insert_with(Instant::now);
        Ok(json!({"success": true}))
    }

    /// `deregister`.
    ///
    /// # Errors
    /// None today.
    pub fn deregister(&self, phone: &PhoneNumberId) -> Result<Value, MetaError> {
        if let Some(n) = self.lock().get_mut(phone.as_str()) {
            n.registered_at = None;
        }
        Ok(json!({"success": true}))
    }

    /// `smb_app_data`.
    ///
    /// # Errors
    /// `(#4)` for a second request of the same kind, as Meta answers it.
    pub fn sync(&self, phone: &PhoneNumberId, sync: SyncType) -> Result<Value, MetaError> {
        let mut numbers = self.lock();
        let n = numbers.entry(phone.as_str().to_owned()).or_default();
        if n.synced.contains(&sync.as_str()) {
            return Err(graph_error(
                400,
                4,
                "(#4) Application request limit reached",
            ));
        }
        n.synced.push(sync.as_str());
        // A coexistence number is in use on the app already: connected from the start.
        n.registered_at
            .get_or_insert_with(|| Instant::now() - self.connect_after);
        Ok(json!({"messaging_product": "whatsapp",
                  "request_id": format!("sandbox-{}", uuid::Uuid::new_v4().simple())}))
    }

    /// The number.
    ///
    /// # Errors
    /// None today.
    pub fn number(&self, phone: &PhoneNumberId) -> Result<Value, MetaError> {
        let id = phone.as_str();
        let tail = &id[id.len().saturating_sub(7)..];
        let numbers = self.lock();
        let n = numbers.get(id);
        let status = match n.and_then(|n| n.registered_at) {
            Some(at) if at.elapsed() >= self.connect_after => "CONNECTED",
            _ => "PENDING",
        };
        // A synced number is a coexistence one: on the app and on Cloud API.
        let on_app = n.is_some_and(|n| !n.synced.is_empty());
        let platform = match n.and_then(|n| n.registered_at) {
            Some(_) => "CLOUD_API",
            None => "NOT_APPLICABLE",
        };
        Ok(
            json!({"id": id, "display_phone_number": format!("+1 555-{tail}"),
                  "verified_name": "Sandbox business", "quality_rating": "GREEN",
                  "code_verification_status": "VERIFIED", "name_status": "APPROVED",
                  "status": status, "is_on_biz_app": on_app, "platform_type": platform}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(waba: &str) -> (WabaId, PhoneNumberId) {
        (
            WabaId::parse(waba).unwrap(),
            PhoneNumberId::parse("106540352242922").unwrap(),
        )
    }

    #[test]
    fn registered_numbers_connect_and_special_wabas_fail() {
        let fake = FakeMeta::new(Duration::ZERO);
        let (waba, phone) = ids("104996122399160");
        assert_eq!(fake.number(&phone).unwrap()["status"], "PENDING");
        fake.register(&waba, &phone, "042917").unwrap();
        assert_eq!(fake.number(&phone).unwrap()["status"], "CONNECTED");
        let (pin_waba, _) = ids("100000000000005");
        assert_eq!(
            fake.register(&pin_waba, &phone, "042917")
                .unwrap_err()
                .code(),
            Some(133005)
        );
        assert!(fake
            .register(&pin_waba, &phone, SANDBOX_EXISTING_PIN)
            .is_ok());
        let (limit, _) = ids("100000000000016");
        assert_eq!(
            fake.register(&limit, &phone, "042917").unwrap_err().code(),
            Some(133016)
        );
        let (onprem, _) = ids("100000000001005");
        assert!(matches!(
            fake.register(&onprem, &phone, "042917").unwrap_err(),
            MetaError::Graph {
                on_prem_blocked: true,
                ..
            }
        ));
    }

    #[test]
    fn each_sync_is_accepted_once() {
        let fake = FakeMeta::new(Duration::ZERO);
        let (_, phone) = ids("1");
        assert!(fake.sync(&phone, SyncType::Contacts).is_ok());
        assert!(fake.sync(&phone, SyncType::History).is_ok());
        assert_eq!(
            fake.sync(&phone, SyncType::History).unwrap_err().code(),
            Some(4)
        );
    }
}
