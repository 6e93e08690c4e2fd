//! A coexistence number's contacts and chat history sync: the run's requests
//! ([`Pipeline::ask_for_sync`]), and the progress followed from Meta's `history` and
//! `smb_app_state_sync` webhooks (pure functions, tested below).
//!
//! Those webhooks carry the customer's contacts and messages; the kit keeps none of it. A
//! change is read into a [`Signal`] (numbers only) and stored as [`stored_value`], the same
//! numbers in Meta's shape, so a change kept for after a run reads back the same.
//!
//! | webhook | the onboarding's `sync` |
//! |---|---|
//! | `history`, `metadata: {phase, chunk_order, progress}` | history `in_progress` with the highest phase and progress seen; `progress: 100` → `done` |
//! | `history`, `errors: [{code: 2593109}]` | history `declined`: the customer chose not to share it |
//! | `history`, another error | history `failed` |
//! | `smb_app_state_sync` (the first after the request) | contacts `done`: Meta sends the app's contacts at once, later ones are the customer's edits |
//!
//! The partner hears `onboarding.sync_progress` when the history enters a phase not seen
//! before, and when a part ends: at most once per phase and at completion. Parts already
//! ended change no more.

use secrecy::SecretString;
use serde_json::{json, Value};
use wire::{
    CoexistenceSync, ErrorCode, OnboardingError, OnboardingState, PhoneNumberId, SyncPart,
    SyncState,
};

use crate::pipeline::{Flow, Pipeline};
use crate::providers::meta::{Direct, Op, SyncType, REQUEST_LIMIT};
use crate::store::{Record, Step, StepStatus, Steps, StoreError, Update, Writes};

/// The webhook fields of the sync.
pub(crate) const FIELDS: &[&str] = &[HISTORY, CONTACTS];
/// The chat history's field.
const HISTORY: &str = "history";
/// The contacts' field.
const CONTACTS: &str = "smb_app_state_sync";

/// Meta's error when the customer declined to share their chat history.
pub const HISTORY_DECLINED: i64 = 2_593_109;

/// How long after the onboarding Meta accepts the sync requests.
pub const SYNC_WINDOW: time::Duration = time::Duration::hours(24);

/// One item of a `history` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HistoryItem {
    /// A chunk of the history (its threads are not read).
    Chunk {
        phase: Option<u8>,
        chunk_order: Option<u32>,
        progress: Option<u8>,
    },
    /// Meta's error instead of history.
    Error { code: Option<i64> },
}

/// What a sync webhook change says, without its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signal {
    /// The number the change is about (`metadata.phone_number_id`).
    pub phone_number_id: Option<String>,
    /// The number as written (`metadata.display_phone_number`), the business's own.
    pub display_phone_number: Option<String>,
    /// What it says.
    pub kind: SignalKind,
}

/// The two kinds of sync change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignalKind {
    /// `smb_app_state_sync`: contacts arrived (how many is not kept).
    Contacts,
    /// `history`: its items.
    History(Vec<HistoryItem>),
}

/// A number Meta may send as a number or a numeric string.
fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a change of field `field` with `value`; `None` for fields other than the sync's.
pub(crate) fn read(field: &str, value: &Value) -> Option<Signal> {
    let metadata = value.get("metadata");
    let text = |k: &str| {
        metadata
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let kind = match field {
        CONTACTS => SignalKind::Contacts,
        HISTORY => {
            let items = value
                .get("history")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut read = Vec::new();
            for item in items {
                if let Some(errors) = item.get("errors").and_then(Value::as_array) {
                    read.extend(errors.iter().map(|e| HistoryItem::Error {
                        code: number(e.get("code")).and_then(|c| i64::try_from(c).ok()),
                    }));
                    continue;
                }
                let m = item.get("metadata");
                read.push(HistoryItem::Chunk {
                    phase: number(m.and_then(|m| m.get("phase")))
                        .and_then(|p| u8::try_from(p).ok()),
                    chunk_order: number(m.and_then(|m| m.get("chunk_order")))
                        .and_then(|c| u32::try_from(c).ok()),
                    progress: number(m.and_then(|m| m.get("progress"))).map(|p| p.min(100) as u8),
                });
            }
            // Meta has been seen to put the errors beside the history too.
            if let Some(errors) = value.get("errors").and_then(Value::as_array) {
                read.extend(errors.iter().map(|e| HistoryItem::Error {
                    code: number(e.get("code")).and_then(|c| i64::try_from(c).ok()),
                }));
            }
            SignalKind::History(read)
        }
        _ => return None,
    };
    Some(Signal {
        phone_number_id: text("phone_number_id"),
        display_phone_number: text("display_phone_number"),
        kind,
    })
}

/// What is stored of a change: the signal's numbers in Meta's shape ([`read`] reads it back
/// the same), never a thread, a message or a contact.
pub(crate) fn stored_value(signal: &Signal) -> Value {
    let mut metadata = serde_json::Map::new();
    if let Some(id) = &signal.phone_number_id {
        metadata.insert("phone_number_id".into(), Value::from(id.as_str()));
    }
    if let Some(display) = &signal.display_phone_number {
        metadata.insert("display_phone_number".into(), Value::from(display.as_str()));
    }
    let mut value = json!({"messaging_product": "whatsapp", "metadata": metadata});
    if let SignalKind::History(items) = &signal.kind {
        let items: Vec<Value> = items
            .iter()
            .map(|i| match i {
                HistoryItem::Chunk {
                    phase,
                    chunk_order,
                    progress,
                } => json!({"metadata": {"phase": phase, "chunk_order": chunk_order,
                                        "progress": progress}}),
                HistoryItem::Error { code } => json!({"errors": [{"code": code}]}),
            })
            .collect();
        value["history"] = Value::Array(items);
    }
    value
}

/// The sync before any webhook, once both were asked for.
pub(crate) fn requested() -> CoexistenceSync {
    CoexistenceSync {
        contacts: SyncPart::new(SyncState::Requested),
        history: SyncPart::new(SyncState::Requested),
    }
}

/// What `item` makes of the history `part`.
fn history_after(part: &SyncPart, item: &HistoryItem) -> SyncPart {
    if part.is_final() {
        return part.clone();
    }
    match item {
        HistoryItem::Error { code } if *code == Some(HISTORY_DECLINED) => SyncPart {
            reason: Some(
                "The customer chose not to share their chat history (Meta's 2593109)".to_owned(),
            ),
            ..SyncPart::new(SyncState::Declined)
        },
        HistoryItem::Error { code } => SyncPart {
            reason: Some(match code {
                Some(code) => format!("Meta stopped the history sync with error {code}"),
                None => "Meta stopped the history sync with an error".to_owned(),
            }),
            ..SyncPart::new(SyncState::Failed)
        },
        HistoryItem::Chunk {
            phase, progress, ..
        } => {
            let progress = part.progress.max(*progress);
            let phase = part.phase.max(*phase);
            let state = match progress {
                Some(100..) => SyncState::Done,
                _ => SyncState::InProgress,
            };
            SyncPart {
                state,
                progress,
                phase,
                ..part.clone()
            }
        }
    }
}

/// The sync after `signal`, and whether the partner hears of it; `None` when it changes
/// nothing. `current` is the onboarding's (none: asked for elsewhere, taken as requested).
pub(crate) fn advance(
    current: Option<&CoexistenceSync>,
    signal: &Signal,
) -> Option<(CoexistenceSync, bool)> {
    let before = current.cloned().unwrap_or_else(requested);
    let mut after = before.clone();
    match &signal.kind {
        SignalKind::Contacts => {
            if !after.contacts.is_final() {
                after.contacts.state = SyncState::Done;
            }
        }
        SignalKind::History(items) => {
            for item in items {
                after.history = history_after(&after.history, item);
            }
        }
    }
    if current == Some(&after) {
        return None;
    }
    let phase_entered = after.history.phase.is_some() && after.history.phase > before.history.phase;
    let ended = (after.history.is_final() && !before.history.is_final())
        || (after.contacts.is_final() && !before.contacts.is_final());
    let started = before.history.state == SyncState::Requested
        && after.history.state == SyncState::InProgress;
    Some((after, phase_entered || ended || started))
}

/// The part of the sync that `kind` asks for.
fn part_of(progress: &mut CoexistenceSync, kind: SyncType) -> &mut SyncPart {
    match kind {
        SyncType::Contacts => &mut progress.contacts,
        SyncType::History => &mut progress.history,
    }
}

impl Pipeline {
    /// The run's coexistence step: asks Meta for the contacts, then the history, once each,
    /// within [`SYNC_WINDOW`] of the onboarding (after it, the onboarding's `sync` says why
    /// not), keeping Meta's `request_id`s in `sync`. A request left in flight by a restart is
    /// not repeated (the onboarding stops `failed`, retryable), and Meta's `(#4)` to a
    /// repeated request counts as asked. `Some` when the run stops here.
    pub(super) async fn ask_for_sync(
        &self,
        direct: &Direct,
        onboarding: &Record,
        steps: &Steps,
        w: &mut Writes,
        token: &SecretString,
        phone: &PhoneNumberId,
    ) -> Result<Option<Flow>, StoreError> {
        let id = onboarding.id.as_str();
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let late = crate::clock::parse_time(&onboarding.created_at)
            .is_some_and(|created| now - created > SYNC_WINDOW);
        let mut progress = onboarding.sync.clone().unwrap_or_else(requested);
        for (step, sync) in [
            (Step::SyncContacts, SyncType::Contacts),
            (Step::SyncHistory, SyncType::History),
        ] {
            match steps.get(step) {
                Some(s) if s.status == StepStatus::Done => continue,
                Some(s) if s.status == StepStatus::Started => {
                    let error = OnboardingError {
                        code: ErrorCode::UpstreamTimeout,
                        message: format!(
                            "The proxy stopped while asking Meta for the {} sync, and \
                             Meta accepts each sync once, so it is not asked again \
                             automatically; retry to ask again (Meta's refusal of a \
                             repeated request counts as done).",
                            sync.as_str()
                        ),
                        retryable: true,
                        upstream_request_id: None,
                        retry_after: None,
                        candidates: Vec::new(),
                    };
                    let result = serde_json::to_value(&error).ok();
                    return Ok(Some(
                        self.stop(
                            id,
                            w,
                            OnboardingState::Failed,
                            error,
                            Some((step, result.as_ref())),
                        )
                        .await?,
                    ));
                }
                _ => {}
            }
            if late {
                tracing::info!(
                    id,
                    sync = sync.as_str(),
                    "more than 24 hours after the onboarding: the sync is not asked"
                );
                *part_of(&mut progress, sync) = SyncPart {
                    reason: Some(format!(
                        "Not asked: Meta accepts the {} sync only within 24 hours of \
                         the onboarding, and the onboarding reached it later.",
                        sync.as_str()
                    )),
                    ..SyncPart::new(SyncState::Failed)
                };
                w.update(Update {
                    sync: Some(progress.clone()),
                    ..Update::default()
                });
                continue;
            }
            w.start_step(step, OnboardingState::Binding);
            store.commit(id, w).await?;
            self.notify(id).await;
            self.lease_current(id)?;
            let answer = match direct.api.sync(token, phone, sync).await {
                Ok(answer) => answer,
                // A repeated request: Meta has this sync already.
                Err(e) if e.code() == Some(REQUEST_LIMIT) => {
                    tracing::info!(
                        id,
                        sync = sync.as_str(),
                        "Meta says the sync was requested before"
                    );
                    json!({"requested_before": true})
                }
                Err(e) => {
                    *part_of(&mut progress, sync) = SyncPart {
                        reason: Some(format!(
                            "Meta refused the {} sync request: {e}",
                            sync.as_str()
                        )),
                        ..SyncPart::new(SyncState::Failed)
                    };
                    w.update(Update {
                        sync: Some(progress.clone()),
                        ..Update::default()
                    });
                    return Ok(Some(self.fail_direct(id, w, step, Op::Sync, &e).await?));
                }
            };
            // Asked (again, after a refusal or a restart): requested, unless Meta's
            // webhooks already said more; Meta's request id kept for support.
            let part = part_of(&mut progress, sync);
            if part.state == SyncState::Failed {
                *part = SyncPart::new(SyncState::Requested);
            }
            if let Some(request_id) = answer.get("request_id").and_then(Value::as_str) {
                part.request_id = Some(request_id.to_owned());
            }
            w.finish_step(
                step,
                StepStatus::Done,
                Some(&answer),
                Update {
                    sync: Some(progress.clone()),
                    ..Update::default()
                },
            );
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUMBER: &str = "106540352242922";

    fn history(items: Value) -> Value {
        json!({"messaging_product": "whatsapp",
               "metadata": {"display_phone_number": "16315551111", "phone_number_id": NUMBER},
               "history": items})
    }

    fn chunk(phase: u8, order: u32, progress: u8) -> Value {
        history(
            json!([{"metadata": {"phase": phase, "chunk_order": order, "progress": progress},
            "threads": [{"id": "447700900123", "messages": [{"from": "447700900123",
                "id": "wamid.H", "timestamp": "1", "type": "text",
                "text": {"body": "a historic secret"}}]}]}]),
        )
    }

    /// Applies the changes in order: the sync after each, and whether each was told.
    fn run(changes: &[(&str, Value)]) -> (Option<CoexistenceSync>, Vec<bool>) {
        let mut sync = Some(requested());
        let mut told = Vec::new();
        for (field, value) in changes {
            let signal = read(field, value).expect("a sync field");
            match advance(sync.as_ref(), &signal) {
                Some((next, tell)) => {
                    sync = Some(next);
                    told.push(tell);
                }
                None => told.push(false),
            }
        }
        (sync, told)
    }

    #[test]
    fn history_chunks_are_read_as_numbers_only() {
        let signal = read(HISTORY, &chunk(1, 3, 55)).unwrap();
        assert_eq!(signal.phone_number_id.as_deref(), Some(NUMBER));
        assert_eq!(
            signal.kind,
            SignalKind::History(vec![HistoryItem::Chunk {
                phase: Some(1),
                chunk_order: Some(3),
                progress: Some(55)
            }])
        );
        // 360dialog's and others' samples write the numbers as strings.
        let strings = history(json!([{"metadata": {"phase": "2", "chunk_order": 1,
                                                    "progress": "100"}}]));
        assert_eq!(
            read(HISTORY, &strings).unwrap().kind,
            SignalKind::History(vec![HistoryItem::Chunk {
                phase: Some(2),
                chunk_order: Some(1),
                progress: Some(100)
            }])
        );
        let declined = history(json!([{"errors": [{"code": 2593109,
            "title": "History sync is turned off by the business from the WhatsApp Business App"}]}]));
        assert_eq!(
            read(HISTORY, &declined).unwrap().kind,
            SignalKind::History(vec![HistoryItem::Error {
                code: Some(HISTORY_DECLINED)
            }])
        );
        assert!(read("messages", &chunk(0, 1, 1)).is_none());
    }

    #[test]
    fn what_is_stored_reads_back_the_same_and_holds_no_contents() {
        let contacts = json!({"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "16315551111", "phone_number_id": NUMBER},
            "state_sync": [{"type": "contact", "action": "add",
                "contact": {"full_name": "Pablo Morales", "first_name": "Pablo",
                            "phone_number": "16505551234"},
                "metadata": {"timestamp": "1739321024"}}]});
        for (field, value) in [(HISTORY, chunk(0, 2, 30)), (CONTACTS, contacts)] {
            let signal = read(field, &value).unwrap();
            let stored = stored_value(&signal);
            assert_eq!(read(field, &stored).unwrap(), signal);
            let text = stored.to_string();
            for secret in [
                "a historic secret",
                "wamid.H",
                "447700900123",
                "Pablo",
                "16505551234",
            ] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    #[test]
    fn the_partner_hears_each_phase_once_and_the_end() {
        let (sync, told) = run(&[
            (HISTORY, chunk(0, 1, 5)),
            (HISTORY, chunk(0, 2, 20)),
            (HISTORY, chunk(1, 1, 40)),
            // Out of order: an earlier chunk changes nothing and is not told.
            (HISTORY, chunk(0, 3, 25)),
            (HISTORY, chunk(1, 2, 60)),
            (HISTORY, chunk(2, 1, 90)),
            (HISTORY, chunk(2, 2, 100)),
            // After the end nothing changes.
            (HISTORY, chunk(2, 3, 100)),
        ]);
        assert_eq!(told, [true, false, true, false, false, true, true, false]);
        let history = sync.unwrap().history;
        assert_eq!(history.state, SyncState::Done);
        assert_eq!((history.phase, history.progress), (Some(2), Some(100)));
    }

    #[test]
    fn declining_is_not_a_failure_and_contacts_end_at_their_first_webhook() {
        let declined = history(json!([{"errors": [{"code": 2593109}]}]));
        let (sync, told) = run(&[
            (CONTACTS, json!({"state_sync": []})),
            (CONTACTS, json!({"state_sync": []})),
            (HISTORY, declined.clone()),
            (HISTORY, declined),
            (HISTORY, chunk(0, 1, 5)),
        ]);
        assert_eq!(told, [true, false, true, false, false]);
        let sync = sync.unwrap();
        assert_eq!(sync.contacts.state, SyncState::Done);
        assert_eq!(sync.history.state, SyncState::Declined);
        assert!(!sync.is_running());
        let (sync, _) = run(&[(HISTORY, history(json!([{"errors": [{"code": 131000}]}])))]);
        let history = sync.unwrap().history;
        assert_eq!(history.state, SyncState::Failed);
        assert!(history.reason.unwrap().contains("131000"));
    }

    #[test]
    fn a_sync_that_was_never_asked_for_is_taken_as_requested() {
        let signal = read(HISTORY, &chunk(0, 1, 10)).unwrap();
        let (sync, told) = advance(None, &signal).unwrap();
        assert!(told);
        assert_eq!(sync.contacts.state, SyncState::Requested);
        assert_eq!(sync.history.state, SyncState::InProgress);
    }
}
