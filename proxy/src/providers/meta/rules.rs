//! What a Meta webhook change changes on an onboarding, like `ycloud/rules.rs` for YCloud's:
//! pure functions of the change and the onboarding, tested below without HTTP or a database.
//! [`Pipeline::apply_meta_notification`] stores each change with its answers, through the
//! same transaction as YCloud's events.
//!
//! | field | value | the onboarding |
//! |---|---|---|
//! | `account_update` | `event: PARTNER_REMOVED` (with `disconnection_info`) | `disconnected`, `partner_removed` |
//! | `account_update` | `event: ACCOUNT_OFFBOARDED` / `ACCOUNT_RECONNECTED` | `disconnected`, `account_offboarded` / back to `connected` |
//! | `account_update` | `event: ACCOUNT_RESTRICTION` / `ACCOUNT_VIOLATION` | `action_required`, `waba_restricted` / `waba_violation` |
//! | `account_update` | `event: PARTNER_APP_UNINSTALLED` | `action_required`, `partner_app_uninstalled` |
//! | `account_update` | `event: DISABLED_UPDATE`, `ban_info.waba_ban_state: SCHEDULE_FOR_DISABLE` | `action_required`, `waba_ban_scheduled` |
//! | `account_update` | `event: DISABLED_UPDATE`, `DISABLE` (or no state) | `failed`, `waba_banned` |
//! | `account_update` | `event: ACCOUNT_DELETED` | `disconnected`, `waba_deleted` |
//! | `business_capability_update` | merged into the stored WABA | |
//! | `account_review_update` | `decision: REJECTED` | `action_required`, `waba_rejected` |
//! | a number's field (`phone_number_quality_update`, `phone_number_name_update`, …) | merged into the stored number; a `status` of `CONNECTED` connects a `pending` one (or lifts a block), `BANNED`/`BLOCKED` needs action | |
//! | `history`, `smb_app_state_sync` (coexistence) | the onboarding's `sync` (`sync.rs`), stored without their contents | |
//!
//! The WABA is `value.waba_info.waba_id` when given (the `PARTNER_*` events, whose entry id
//! is the partner's business), else the entry's id. A number's change is about an onboarding
//! of that WABA whose number has the change's `phone_number_id`, or its display number.

use serde_json::{json, Value};
use time::OffsetDateTime;
use wire::{ErrorCode, EventType, Mode, OnboardingState};

use crate::pipeline::{Applied, Pipeline};
use crate::providers::meta::sync;
use crate::providers::meta::webhook::{Change, Notification};
use crate::rules::{
    disconnected, enforcement, may_change, merged, person_error, str_field, webhook_status_change,
};
use crate::store::{EventObject, EventOutcome, IncomingEvent, Record, StoreError, Update, Verdict};

/// The fields of Meta's webhooks the kit acts on; changes of any other are neither applied
/// nor stored.
pub(crate) const ACTED_ON: &[&str] = &[
    "account_update",
    "account_review_update",
    "business_capability_update",
    "phone_number_name_update",
    "phone_number_quality_update",
    // Coexistence sync progress: stored as numbers only (`sync::stored_value`).
    "history",
    "smb_app_state_sync",
];

/// How far before an onboarding's creation a change may be dated and still be about it:
/// Meta's clock and the proxy's differ by a little.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(1);

/// Whether a change dated `at` (its entry's `time`) is older than onboarding `o`.
fn dated_before(at: Option<OffsetDateTime>, o: &Record) -> bool {
    let created = crate::clock::parse_time(&o.created_at);
    matches!((at, created), (Some(at), Some(created)) if at < created - CLOCK_SKEW)
}

/// The WABA a change is about.
pub(crate) fn waba_of<'a>(entry_id: &'a str, change: &'a Change) -> &'a str {
    change
        .value
        .get("waba_info")
        .and_then(|w| str_field(w, "waba_id"))
        .unwrap_or(entry_id)
}

/// The number a change names: `phone_number_id`, or its `metadata`'s (the sync's fields).
fn number_id_of(change: &Change) -> Option<&str> {
    str_field(&change.value, "phone_number_id").or_else(|| {
        change
            .value
            .get("metadata")
            .and_then(|m| str_field(m, "phone_number_id"))
    })
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether a number's change is about `o`'s number.
fn about_number(o: &Record, value: &Value) -> bool {
    if let Some(id) = str_field(value, "phone_number_id") {
        return o.phone_number_id.as_ref().is_some_and(|p| p.as_str() == id);
    }
    let Some(display) = str_field(value, "display_phone_number").map(digits) else {
        return false;
    };
    let stored = o
        .phone_number
        .as_ref()
        .and_then(|n| {
            str_field(n, "display_phone_number").or_else(|| str_field(n, "displayPhoneNumber"))
        })
        .map(digits);
    !display.is_empty() && stored.as_deref() == Some(display.as_str())
}

/// Which object of an onboarding a change is about (changes are ordered per object).
fn object_of(change: &Change) -> EventObject {
    match change.field.as_str() {
        "account_update" | "account_review_update" | "business_capability_update" => {
            EventObject::Waba
        }
        _ => EventObject::PhoneNumber,
    }
}

/// What `change` (in an entry about `waba`) changes on `o`; `None` when nothing.
pub(crate) fn meta_change(o: &Record, waba: &str, change: &Change) -> Option<Update> {
    if o.waba_id.as_str() != waba {
        return None;
    }
    let v = &change.value;
    let action = |code, message: &str| {
        Some((
            OnboardingState::ActionRequired,
            person_error(code, message.to_owned()),
        ))
    };
    let failed = |code, message: &str| {
        Some((
            OnboardingState::Failed,
            person_error(code, message.to_owned()),
        ))
    };
    let outcome = match change.field.as_str() {
        "account_update" => match str_field(v, "event") {
            Some("PARTNER_REMOVED") => {
                let info = v.get("disconnection_info");
                let reason = info.and_then(|i| {
                    str_field(i, "reason")
                        .or_else(|| str_field(i, "disconnection_reason"))
                        .map(str::to_owned)
                        .or_else(|| i.is_object().then(|| i.to_string()))
                });
                Some(disconnected(ErrorCode::PartnerRemoved, reason.as_deref()))
            }
            Some("ACCOUNT_OFFBOARDED") => Some(disconnected(ErrorCode::AccountOffboarded, None)),
            Some("ACCOUNT_RECONNECTED") if o.state == OnboardingState::Disconnected => {
                return Some(Update {
                    state: Some(OnboardingState::Connected),
                    error: Some(None),
                    ..Update::default()
                })
            }
            Some("ACCOUNT_RESTRICTION") => Some(enforcement(
                ErrorCode::WabaRestricted,
                v.get("restriction_info")
                    .and_then(|r| r.get(0).or(Some(r)))
                    .and_then(|r| str_field(r, "restriction_type")),
            )),
            Some("ACCOUNT_VIOLATION") => Some(enforcement(
                ErrorCode::WabaViolation,
                v.get("violation_info")
                    .and_then(|i| str_field(i, "violation_type")),
            )),
            Some("PARTNER_APP_UNINSTALLED") => action(
                ErrorCode::PartnerAppUninstalled,
                "The customer removed the partner's app from this WhatsApp Business Account; \
                 they must sign up again to reconnect it.",
            ),
            Some("DISABLED_UPDATE") => {
                match v
                    .get("ban_info")
                    .and_then(|b| str_field(b, "waba_ban_state"))
                {
                    Some("SCHEDULE_FOR_DISABLE") => action(
                        ErrorCode::WabaBanScheduled,
                        "Meta scheduled this WhatsApp Business Account to be disabled for a \
                         policy violation; appeal in WhatsApp Manager before the ban date.",
                    ),
                    Some("REINSTATE") => None,
                    _ => failed(
                        ErrorCode::WabaBanned,
                        "Meta disabled this WhatsApp Business Account for a policy violation; see \
                         WhatsApp Manager to appeal.",
                    ),
                }
            }
            Some("ACCOUNT_DELETED") => Some(disconnected(ErrorCode::WabaDeleted, None)),
            _ => None,
        },
        "account_review_update" => match str_field(v, "decision") {
            Some("REJECTED") => action(
                ErrorCode::WabaRejected,
                "Meta rejected the review of this WhatsApp Business Account; see WhatsApp \
                 Manager for the reason.",
            ),
            _ => None,
        },
        // Kept with the WABA (its messaging limits and the like); no state changes.
        "business_capability_update" if v.is_object() => {
            let mut fresh = serde_json::Map::new();
            fresh.insert(change.field.clone(), v.clone());
            let waba = merged(o.waba.as_ref(), &Value::Object(fresh));
            return (o.waba.as_ref() != Some(&waba)).then(|| Update {
                waba: Some(waba),
                ..Update::default()
            });
        }
        f if sync::FIELDS.contains(&f) => return sync_change(o, change),
        _ => return number_change(o, change),
    };
    let (state, error) = outcome?;
    Some(Update {
        state: Some(state),
        error: Some(Some(error)),
        ..Update::default()
    })
}

/// A coexistence sync's progress about `o`'s number: its `sync`, and the partner's event
/// when a phase starts or a part ends.
fn sync_change(o: &Record, change: &Change) -> Option<Update> {
    if o.mode != Mode::Coexistence {
        return None;
    }
    let signal = sync::read(&change.field, &change.value)?;
    let number = json!({"phone_number_id": signal.phone_number_id,
                        "display_phone_number": signal.display_phone_number});
    let number = Value::Object(
        number
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    if !about_number(o, &number) {
        return None;
    }
    let (sync, tell) = sync::advance(o.sync.as_ref(), &signal)?;
    Some(Update {
        sync: Some(sync),
        emits: tell.then_some(EventType::SyncProgress),
        ..Update::default()
    })
}

/// A change about a number: merged into the stored number, with a status's consequence.
fn number_change(o: &Record, change: &Change) -> Option<Update> {
    let v = &change.value;
    if !v.is_object() || !about_number(o, v) {
        return None;
    }
    let mut fresh = serde_json::Map::new();
    fresh.insert(change.field.clone(), v.clone());
    if let Some(status) = str_field(v, "status") {
        fresh.insert("status".to_owned(), Value::from(status));
    }
    let number = merged(o.phone_number.as_ref(), &Value::Object(fresh));
    let (state, error) = webhook_status_change(o.state, o.error.as_ref(), str_field(v, "status"));
    if state.is_none() && o.phone_number.as_ref() == Some(&number) {
        return None;
    }
    Some(Update {
        state,
        phone_number: Some(number),
        error,
        ..Update::default()
    })
}

impl Pipeline {
    /// A deferred Meta change (stored as a notification of one entry with one change),
    /// applied to onboarding `id` alone.
    pub(crate) async fn apply_deferred_meta(
        &self,
        id: &str,
        event_id: &str,
        kind: &str,
        body: &str,
    ) -> Result<EventOutcome, StoreError> {
        let Ok(n) = Notification::parse(body.as_bytes()) else {
            return Ok(EventOutcome::Duplicate);
        };
        let Some((entry, change)) = n
            .entry
            .first()
            .and_then(|e| e.changes.first().map(|c| (e, c)))
        else {
            return Ok(EventOutcome::Duplicate);
        };
        let waba = waba_of(&entry.id, change);
        let incoming = IncomingEvent {
            id: event_id,
            kind,
            body,
            object: object_of(change),
            // The sync's chunks come in any order (as in `apply_meta_notification`).
            created: entry
                .time
                .filter(|_| !sync::FIELDS.contains(&change.field.as_str()))
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
            waba_id: Some(waba),
            phone_number_id: number_id_of(change),
        };
        self.inner
            .store
            .apply_deferred_event(&incoming, id, |o| match meta_change(o, waba, change) {
                None => Verdict::NotAbout,
                Some(_) if !may_change(o.state) => Verdict::Busy,
                Some(update) => Verdict::About(Some(update)),
            })
            .await
    }

    /// Applies a verified Meta notification whose id is `id` (its body's digest): each
    /// change is an event of its own (`{id}.{entry}.{change}`), stored and applied as
    /// YCloud's are ([`Store::apply_webhook_event`](crate::store::Store::apply_webhook_event)):
    /// in one transaction with what it changes on the onboardings no runner owns and the
    /// partner events that emits, in the order of the entries' `time` per WABA and number. A
    /// failure leaves the changes not applied yet unrecorded, so Meta's repeat of the
    /// notification applies them (and not again those applied). Then tells the event
    /// streams of the onboardings changed.
    ///
    /// # Errors
    /// Store failures.
    pub async fn apply_meta_notification(
        &self,
        n: &Notification,
        id: &str,
    ) -> Result<Applied, StoreError> {
        let mut changed_ids = Vec::new();
        let (mut fresh, mut seen) = (false, false);
        let mut marked = 0;
        for (e, entry) in n.entry.iter().enumerate() {
            let created = entry
                .time
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
            for (c, change) in entry.changes.iter().enumerate() {
                seen = true;
                let waba = waba_of(&entry.id, change);
                // A customer's message: only that it arrived is kept, never the change.
                if change.field == "messages" {
                    let arrived = change
                        .value
                        .get("messages")
                        .and_then(Value::as_array)
                        .is_some_and(|m| !m.is_empty());
                    let metadata = change.value.get("metadata");
                    let phone = metadata.and_then(|m| str_field(m, "phone_number_id"));
                    let display = metadata.and_then(|m| str_field(m, "display_phone_number"));
                    if arrived {
                        if let Applied::Changed(n) =
                            self.first_inbound(Some(waba), phone, display).await?
                        {
                            fresh = true;
                            marked += n;
                        }
                    }
                    continue;
                }
                // Only what the kit acts on is stored: other fields (message echoes,
                // templates...) may carry customers' messages, and change nothing here.
                if !ACTED_ON.contains(&change.field.as_str()) {
                    tracing::debug!(field = %change.field, "Meta change of a field not acted on; not stored");
                    continue;
                }
                // The coexistence history and contacts: only their progress numbers go on,
                // and their chunks come in any order (no ordering by time).
                let syncing = sync::read(&change.field, &change.value);
                let sanitized;
                let (change, ordered_by) = match &syncing {
                    Some(signal) => {
                        sanitized = Change {
                            field: change.field.clone(),
                            value: sync::stored_value(signal),
                        };
                        (&sanitized, None)
                    }
                    None => (change, created),
                };
                let event_id = format!("{id}.{e}.{c}");
                let kind: String = format!("meta.{}", change.field).chars().take(128).collect();
                // The change as a notification of its own: what is stored.
                let body = json!({"object": n.object, "entry": [{"id": entry.id,
                    "time": entry.time, "changes": [{"field": change.field,
                    "value": change.value}]}]})
                .to_string();
                let object = object_of(change);
                let incoming = IncomingEvent {
                    id: &event_id,
                    kind: &kind,
                    body: &body,
                    object,
                    created: ordered_by,
                    waba_id: Some(waba),
                    phone_number_id: number_id_of(change),
                };
                let outcome = self
                    .inner
                    .store
                    .apply_webhook_event(&incoming, |o| match meta_change(o, waba, change) {
                        None => Verdict::NotAbout,
                        // A change from before the onboarding existed is about an earlier
                        // sign-up of this WABA (or a replay): it never touches a newer one.
                        Some(_) if dated_before(created, o) => {
                            tracing::info!(id = %o.id, event = %event_id, "Meta change dated before this onboarding; not applied");
                            Verdict::NotAbout
                        }
                        Some(_) if !may_change(o.state) => {
                            tracing::info!(id = %o.id, state = %o.state, event = %event_id, "onboarding is running; Meta webhook applied after the run");
                            Verdict::Busy
                        }
                        Some(update) => Verdict::About(Some(update)),
                    })
                    .await?;
                let EventOutcome::Applied { changed, stale } = outcome else {
                    continue;
                };
                fresh = true;
                for o in &stale {
                    tracing::info!(id = o, event = %event_id, "a newer Meta change about this object was applied already; this one changes nothing");
                }
                let approved = change.field == "phone_number_name_update"
                    && str_field(&change.value, "decision") == Some("APPROVED");
                for (o, from, to) in changed {
                    tracing::info!(id = o, field = %change.field, from = %from, to = ?to.map(OnboardingState::as_str), "Meta webhook applied");
                    if approved {
                        self.resume_after_display_name(&o);
                    }
                    changed_ids.push(o);
                }
            }
        }
        let n = changed_ids.len() + marked;
        if !changed_ids.is_empty() {
            let pipeline = self.clone();
            tokio::spawn(async move {
                for id in changed_ids {
                    pipeline.notify(&id).await;
                }
            });
        }
        Ok(match (seen, fresh) {
            (false, _) => Applied::Ignored,
            (true, false) => Applied::Duplicate,
            (true, true) => Applied::Changed(n),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wire::{Mode, PhoneNumberId, WabaId};

    use super::*;

    const WABA: &str = "104996122399160";
    const NUMBER: &str = "106540352242922";

    fn onboarding(state: OnboardingState) -> Record {
        let phone_number = json!({"id": NUMBER, "display_phone_number": "+1 631-555-1111",
                                  "status": "PENDING"});
        Record {
            onboarding: wire::Onboarding {
                id: "7c0e1f7a-3a53-4a4e-9d55-0f4b8d0c1a11".to_owned(),
                mode: Mode::Standard,
                launched_mode: None,
                waba_id: WabaId::parse(WABA).unwrap(),
                phone_number_id: Some(PhoneNumberId::parse(NUMBER).unwrap()),
                business_id: None,
                customer_ref: None,
                state,
                steps: Vec::new(),
                waba: None,
                phone_number: Some(crate::objects::PhoneNumber::summary_of(&phone_number)),
                error: None,
                previous_onboarding_id: None,
                inbound_verified_at: None,
                sync: None,
                created_at: "t".to_owned(),
                updated_at: "t".to_owned(),
            },
            waba: None,
            phone_number: Some(phone_number),
            session_id: None,
            customer_ref_verified: false,
        }
    }

    fn change(field: &str, value: Value) -> Change {
        serde_json::from_value(json!({"field": field, "value": value})).unwrap()
    }

    fn outcome(
        o: &Record,
        entry: &str,
        c: &Change,
    ) -> Option<(Option<OnboardingState>, Option<String>)> {
        let waba = waba_of(entry, c);
        let u = meta_change(o, waba, c)?;
        Some((u.state, u.error.flatten().map(|e| e.code.to_string())))
    }

    #[test]
    fn account_updates_say_what_the_person_must_do() {
        let o = onboarding(OnboardingState::Connected);
        let partner = "2949482758682047";
        let removed = change(
            "account_update",
            json!({"event": "PARTNER_REMOVED", "waba_info": {"waba_id": WABA,
                   "owner_business_id": "1"}}),
        );
        assert_eq!(
            outcome(&o, partner, &removed),
            Some((
                Some(OnboardingState::Disconnected),
                Some("partner_removed".into())
            ))
        );
        // Meta's disconnection info says why (e.g. a coexistence phone inactive for days).
        let inactive = change(
            "account_update",
            json!({"event": "PARTNER_REMOVED", "waba_info": {"waba_id": WABA},
                   "disconnection_info": {"reason": "PRIMARY_DEVICE_INACTIVITY"}}),
        );
        let u = meta_change(&o, WABA, &inactive).unwrap();
        let message = u.error.flatten().unwrap().message;
        assert!(message.contains("PRIMARY_DEVICE_INACTIVITY"), "{message}");
        let offboarded = onboarding(OnboardingState::Disconnected);
        assert_eq!(
            outcome(
                &offboarded,
                WABA,
                &change("account_update", json!({"event": "ACCOUNT_RECONNECTED"}))
            ),
            Some((Some(OnboardingState::Connected), None))
        );
        let capability = change(
            "business_capability_update",
            json!({"max_daily_conversation_per_phone": 1000}),
        );
        let u = meta_change(&o, WABA, &capability).unwrap();
        assert_eq!(u.state, None);
        assert_eq!(
            u.waba.unwrap()["business_capability_update"]["max_daily_conversation_per_phone"],
            1000
        );
        let cases = [
            (
                json!({"event": "ACCOUNT_OFFBOARDED"}),
                OnboardingState::Disconnected,
                "account_offboarded",
            ),
            (
                json!({"event": "ACCOUNT_RESTRICTION",
                       "restriction_info": [{"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION"}]}),
                OnboardingState::ActionRequired,
                "waba_restricted",
            ),
            (
                json!({"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}}),
                OnboardingState::ActionRequired,
                "waba_violation",
            ),
            (
                json!({"event": "PARTNER_APP_UNINSTALLED"}),
                OnboardingState::ActionRequired,
                "partner_app_uninstalled",
            ),
            (
                json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE"}}),
                OnboardingState::ActionRequired,
                "waba_ban_scheduled",
            ),
            (
                json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE"}}),
                OnboardingState::Failed,
                "waba_banned",
            ),
            (
                json!({"event": "ACCOUNT_DELETED"}),
                OnboardingState::Disconnected,
                "waba_deleted",
            ),
        ];
        for (value, state, code) in cases {
            assert_eq!(
                outcome(&o, WABA, &change("account_update", value.clone())),
                Some((Some(state), Some(code.into()))),
                "{value}"
            );
        }
        let rejected = change("account_review_update", json!({"decision": "REJECTED"}));
        assert_eq!(
            outcome(&o, WABA, &rejected),
            Some((
                Some(OnboardingState::ActionRequired),
                Some("waba_rejected".into())
            ))
        );
        for nothing in [
            change(
                "account_update",
                json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE"}}),
            ),
            change("account_update", json!({"event": "PARTNER_ADDED"})),
            change("account_review_update", json!({"decision": "APPROVED"})),
        ] {
            assert_eq!(outcome(&o, WABA, &nothing), None);
        }
        // Another WABA's event is not about this onboarding.
        assert_eq!(
            outcome(
                &o,
                "999",
                &change("account_update", json!({"event": "ACCOUNT_DELETED"}))
            ),
            None
        );
    }

    #[test]
    fn number_changes_merge_and_statuses_settle() {
        let pending = onboarding(OnboardingState::Pending);
        let quality = change(
            "phone_number_quality_update",
            json!({"display_phone_number": "16315551111", "event": "FLAGGED",
                   "current_limit": "TIER_250"}),
        );
        let u = meta_change(&pending, WABA, &quality).unwrap();
        assert_eq!(u.state, None);
        let n = u.phone_number.unwrap();
        assert_eq!(n["phone_number_quality_update"]["event"], "FLAGGED");
        assert_eq!(n["status"], "PENDING");
        let connected = change(
            "phone_number_status",
            json!({"phone_number_id": NUMBER, "status": "CONNECTED"}),
        );
        assert_eq!(
            outcome(&pending, WABA, &connected),
            Some((Some(OnboardingState::Connected), None))
        );
        let banned = change(
            "phone_number_status",
            json!({"phone_number_id": NUMBER, "status": "BANNED"}),
        );
        assert_eq!(
            outcome(&onboarding(OnboardingState::Connected), WABA, &banned),
            Some((
                Some(OnboardingState::ActionRequired),
                Some("phone_number_blocked".into())
            ))
        );
        let other = change(
            "phone_number_quality_update",
            json!({"display_phone_number": "15550000000", "event": "FLAGGED"}),
        );
        assert_eq!(outcome(&pending, WABA, &other), None);
    }
}
