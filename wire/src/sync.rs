//! A coexistence onboarding's contacts and chat history sync, as the proxy follows it from
//! Meta's webhooks (`sync` on the onboarding; `onboarding.sync_progress` to the partner).
//! Only where the sync stands is kept: never a contact or a message.

use serde::{Deserialize, Serialize};

names! {
    /// Where one part of the sync stands.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum SyncState {
        /// Asked of Meta (within 24 hours of the onboarding); nothing arrived yet.
        Requested = "requested",
        /// Meta is sending it (history: `progress` below 100).
        InProgress = "in_progress",
        /// All of it arrived.
        Done = "done",
        /// The customer chose not to share their chat history (Meta's 2593109): not a failure.
        Declined = "declined",
        /// It was not asked (more than 24 hours after the onboarding) or Meta refused it; see
        /// `reason`.
        Failed = "failed",
    }
}

/// One part of the sync: the contacts or the chat history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPart {
    /// Where it stands.
    pub state: SyncState,
    /// History: Meta's overall progress, 0–100 (100: done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// History: the phase Meta is sending (0: the last day, 1: days 1–90, 2: days 90–180).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<u8>,
    /// Meta's `request_id` for the sync request, when Meta gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Why it was not asked, or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SyncPart {
    /// A part in `state`, with nothing else known.
    pub fn new(state: SyncState) -> Self {
        Self {
            state,
            progress: None,
            phase: None,
            request_id: None,
            reason: None,
        }
    }

    /// Whether nothing more will come of it.
    pub fn is_final(&self) -> bool {
        matches!(
            self.state,
            SyncState::Done | SyncState::Declined | SyncState::Failed
        )
    }
}

/// The sync of a coexistence onboarding's WhatsApp Business app data (Meta's provider).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoexistenceSync {
    /// The app's contacts (`smb_app_state_sync`).
    pub contacts: SyncPart,
    /// The app's chat history, up to 180 days (`history`).
    pub history: SyncPart,
}

impl CoexistenceSync {
    /// Whether the customer's app still has something to send: the widget asks them to keep
    /// it open meanwhile.
    pub fn is_running(&self) -> bool {
        !(self.contacts.is_final() && self.history.is_final())
    }
}

impl crate::Onboarding {
    /// Whether it is connected and its coexistence sync still runs: its event stream and the
    /// widget keep following it meanwhile.
    pub fn is_syncing(&self) -> bool {
        self.state == crate::OnboardingState::Connected
            && self.sync.as_ref().is_some_and(CoexistenceSync::is_running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_is_the_contracts() {
        let sync = CoexistenceSync {
            contacts: SyncPart::new(SyncState::Done),
            history: SyncPart {
                progress: Some(40),
                phase: Some(1),
                ..SyncPart::new(SyncState::InProgress)
            },
        };
        assert_eq!(
            serde_json::to_value(&sync).unwrap(),
            serde_json::json!({"contacts": {"state": "done"},
                               "history": {"state": "in_progress", "progress": 40, "phase": 1}})
        );
        assert!(sync.is_running());
        let declined: CoexistenceSync =
            serde_json::from_str(r#"{"contacts":{"state":"done"},"history":{"state":"declined"}}"#)
                .unwrap();
        assert!(!declined.is_running());
    }
}
