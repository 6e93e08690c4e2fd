//! `sync_progress`: a connected coexistence number's contacts and chat history being copied
//! from the customer's WhatsApp Business app, and, while they are, the request to keep the
//! app open.

use wire::{CoexistenceSync, Mode, Onboarding, OnboardingState, SyncState};

use super::tree::{el, Node};
use crate::i18n::{Locale, Msg};

/// The lines the section shows: a heading, the history, the contacts, then what to do or
/// how it ended.
pub fn lines(sync: &CoexistenceSync, locale: Locale) -> Vec<String> {
    let t = |m| locale.t(m).to_string();
    let history = match sync.history.state {
        SyncState::Declined => t(Msg::SyncDeclined),
        SyncState::Failed => t(Msg::SyncHistoryNotCopied),
        SyncState::Done => locale.fill(Msg::SyncHistoryProgress, &[("percent", "100")]),
        SyncState::Requested | SyncState::InProgress => {
            let percent = sync.history.progress.unwrap_or(0).min(100).to_string();
            locale.fill(Msg::SyncHistoryProgress, &[("percent", &percent)])
        }
    };
    let contacts = match sync.contacts.state {
        SyncState::Done => t(Msg::SyncContactsDone),
        SyncState::Requested | SyncState::InProgress => t(Msg::SyncContactsWaiting),
        SyncState::Declined | SyncState::Failed => t(Msg::SyncContactsNotCopied),
    };
    let last = match (sync.is_running(), sync.history.state, sync.contacts.state) {
        (true, ..) => t(Msg::SyncKeepOpen),
        (false, SyncState::Done, SyncState::Done) => t(Msg::SyncDone),
        // How it ended is said above.
        (false, ..) => String::new(),
    };
    [t(Msg::SyncTitle), history, contacts, last]
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect()
}

/// The sync an onboarding's screen shows: a connected coexistence number's, when followed.
pub fn shown(o: &Onboarding) -> Option<&CoexistenceSync> {
    (o.mode == Mode::Coexistence && o.state == OnboardingState::Connected)
        .then_some(o.sync.as_ref())
        .flatten()
}

/// The sync's section, `[data-testid="sync-progress"]`, with the history's progress bar.
pub(super) fn sync_progress(onboarding: &Onboarding, locale: Locale) -> Option<Node> {
    let sync = shown(onboarding)?;
    let mut lines = lines(sync, locale).into_iter();
    let title = lines.next().unwrap_or_default();
    let running = sync.is_running();
    let percent = match sync.history.state {
        SyncState::Done => 100,
        _ => sync.history.progress.unwrap_or(0).min(100),
    };
    let bar = matches!(
        sync.history.state,
        SyncState::Requested | SyncState::InProgress | SyncState::Done
    )
    .then(|| {
        el("progress", &[("class", "wa-sync-bar"), ("max", "100")])
            .attr("value", percent.to_string())
            .attr("aria-label", title.clone())
            .text(format!("{percent}%"))
    });
    Some(
        el(
            "section",
            &[("class", "wa-sync"), ("data-testid", "sync-progress")],
        )
        .attr("data-state", sync.history.state.as_str())
        .attr("data-running", if running { "true" } else { "false" })
        .attr("aria-label", title.clone())
        .kids(
            std::iter::once(el("p", &[("class", "wa-sync-title")]).text(title))
                .chain(bar)
                .chain(lines.map(|l| el("p", &[("class", "wa-sync-line")]).text(l))),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::SyncPart;

    fn sync(contacts: SyncState, history: SyncState, progress: Option<u8>) -> CoexistenceSync {
        CoexistenceSync {
            contacts: SyncPart::new(contacts),
            history: SyncPart {
                progress,
                ..SyncPart::new(history)
            },
        }
    }

    #[test]
    fn while_it_runs_the_customer_keeps_the_app_open() {
        for locale in Locale::ALL {
            let running = lines(
                &sync(SyncState::Done, SyncState::InProgress, Some(40)),
                locale,
            );
            assert!(running.iter().any(|l| l.contains("40%")), "{running:?}");
            assert_eq!(running.last().unwrap(), locale.t(Msg::SyncKeepOpen));
            let done = lines(&sync(SyncState::Done, SyncState::Done, Some(100)), locale);
            assert_eq!(done.last().unwrap(), locale.t(Msg::SyncDone));
            assert!(!done.iter().any(|l| l == locale.t(Msg::SyncKeepOpen)));
        }
    }

    #[test]
    fn declining_is_said_as_a_choice_and_ends_the_wait() {
        let declined = lines(
            &sync(SyncState::Done, SyncState::Declined, None),
            Locale::En,
        );
        assert!(declined.contains(&Locale::En.t(Msg::SyncDeclined).to_owned()));
        assert!(!declined.contains(&Locale::En.t(Msg::SyncKeepOpen).to_owned()));
        // Contacts still coming: the app stays open.
        let waiting = lines(
            &sync(SyncState::Requested, SyncState::Declined, None),
            Locale::En,
        );
        assert_eq!(waiting.last().unwrap(), Locale::En.t(Msg::SyncKeepOpen));
    }
}
