//! Pairs the `FB.login` callback with the popup's session-info messages.
//!
//! The two arrive in either order, and either may be missing. The correlator is a plain
//! state machine: time is passed in with every call (a [`Duration`] since any fixed start,
//! e.g. `performance.now()`), so it runs the same natively and in wasm32, where
//! `std::time::Instant` does not exist, and tests never sleep.
//! The browser keeps one timer for [`Correlator::deadline`] and calls [`Correlator::poll`]
//! when it fires.
//!
//! Rules, in order of arrival:
//! - Login code first: wait [`Timeouts::finish_after_code`] for a finish, then
//!   [`Outcome::TimedOut`].
//! - Finish first: wait [`Timeouts::code_after_finish`] for the code, then
//!   [`Outcome::Ready`] without it (YCloud does not need the code; only ownership
//!   verification does).
//! - Login without a code (cancelled, not authorized): Meta's `CANCEL` message, which names
//!   the step, may still be on its way, so wait [`Timeouts::grace`] for it. A finish in
//!   that window still wins (the WABA exists); otherwise the login result decides.
//! - A cancel or a reported error before the login callback ends the flow at once: it
//!   already holds the richest information there is.
//! - Once a finish has arrived, later cancels and errors are ignored: the WABA exists.
//! - Input that arrives after a deadline passed, but before `poll` noticed, still counts:
//!   late information beats a timeout (background tabs fire timers late).
//! - After the outcome, everything is ignored.

use std::time::Duration;

use wire::AuthCode;

use super::events::{CancelStep, Finish, ReportedError, SessionInfo};

/// What `FB.login` reported to its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginResult {
    /// `status: 'connected'` with `authResponse.code`.
    Code(AuthCode),
    /// The popup was closed without authorizing (`status: 'unknown'` or no response).
    Cancelled,
    /// `status: 'not_authorized'`, or `connected` without a usable code.
    NotAuthorized,
}

impl LoginResult {
    /// Reads `response.status` and `response.authResponse.code` of the object `FB.login`
    /// passes to its callback (the browser layer takes it apart).
    ///
    /// Anything unrecognizable reads as [`LoginResult::Cancelled`]: the SDK only calls back
    /// once the popup is gone, so "no usable answer" means the customer left.
    pub fn from_parts(status: Option<&str>, code: Option<&str>) -> Self {
        match status {
            Some("connected") => code
                .and_then(|code| AuthCode::parse(code).ok())
                .map_or(LoginResult::NotAuthorized, LoginResult::Code),
            Some("not_authorized") => LoginResult::NotAuthorized,
            _ => LoginResult::Cancelled,
        }
    }
}

/// How long to wait for the missing half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// After the login callback brought a code, how long to wait for a finish message.
    pub finish_after_code: Duration,
    /// After a finish message, how long to wait for the login code.
    pub code_after_finish: Duration,
    /// After a login callback without a code, how long to wait for a finish or for the
    /// `CANCEL` message that names the step.
    pub grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            finish_after_code: Duration::from_secs(60),
            code_after_finish: Duration::from_secs(10),
            grace: Duration::from_secs(2),
        }
    }
}

/// How the popup ended: produced once per flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Submit to the proxy. `code` is `None` when the callback brought none in time.
    Ready {
        /// The finish message.
        finish: Finish,
        /// The `FB.login` code, for ownership verification.
        code: Option<AuthCode>,
    },
    /// The customer closed the popup.
    Cancelled {
        /// Where, when Meta said so.
        step: Option<CancelStep>,
    },
    /// The flow ended without a WABA for a reason worth showing.
    Failed {
        /// Why.
        reason: Failure,
    },
    /// Login succeeded but no finish message came (often: the page's domain is missing
    /// from the app's *Allowed domains*, so Meta sends nothing).
    TimedOut,
}

/// Why a flow failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The customer reported an error in the popup.
    Reported(ReportedError),
    /// Login was not authorized and no finish came.
    NotAuthorized,
    /// A finish message arrived without a valid WABA id (the raw event name is given).
    InvalidFinish(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Nothing yet: the popup is open, for as long as the customer needs.
    Waiting,
    /// The callback brought a code at `since`; a finish is due.
    HaveCode { code: AuthCode, since: Duration },
    /// A finish arrived at `since`; the code is due.
    HaveFinish { finish: Finish, since: Duration },
    /// The callback brought no code at `since`; a cancel step or a finish may follow.
    LoginEnded {
        not_authorized: bool,
        since: Duration,
    },
    /// The outcome has been given out.
    Done,
}

/// The state machine. See the module docs for its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correlator {
    timeouts: Timeouts,
    state: State,
}

impl Default for Correlator {
    fn default() -> Self {
        Self::new(Timeouts::default())
    }
}

impl Correlator {
    /// A correlator for one `FB.login` call.
    pub fn new(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            state: State::Waiting,
        }
    }

    /// Feeds the `FB.login` callback's result, received at `now`.
    ///
    /// Returns the outcome if this decides it (only once per correlator).
    pub fn on_login(&mut self, result: LoginResult, now: Duration) -> Option<Outcome> {
        match (&self.state, result) {
            (State::Waiting, LoginResult::Code(code)) => {
                self.state = State::HaveCode { code, since: now };
                None
            }
            (State::Waiting, LoginResult::Cancelled) => {
                self.state = State::LoginEnded {
                    not_authorized: false,
                    since: now,
                };
                None
            }
            (State::Waiting, LoginResult::NotAuthorized) => {
                self.state = State::LoginEnded {
                    not_authorized: true,
                    since: now,
                };
                None
            }
            (State::HaveFinish { finish, .. }, result) => {
                let code = match result {
                    LoginResult::Code(code) => Some(code),
                    LoginResult::Cancelled | LoginResult::NotAuthorized => None,
                };
                let finish = finish.clone();
                self.finish(Outcome::Ready { finish, code })
            }
            // The SDK calls back once; a second call changes nothing.
            (State::HaveCode { .. } | State::LoginEnded { .. } | State::Done, _) => None,
        }
    }

    /// Feeds a session-info message, received at `now`.
    ///
    /// Returns the outcome if this decides it (only once per correlator).
    pub fn on_session_info(&mut self, info: SessionInfo, now: Duration) -> Option<Outcome> {
        match (&self.state, info) {
            (State::Done | State::HaveFinish { .. }, _) | (_, SessionInfo::Unknown { .. }) => None,
            (State::Waiting, SessionInfo::Finish(finish)) => {
                self.state = State::HaveFinish { finish, since: now };
                None
            }
            (State::HaveCode { code, .. }, SessionInfo::Finish(finish)) => {
                let code = Some(code.clone());
                self.finish(Outcome::Ready { finish, code })
            }
            (State::LoginEnded { .. }, SessionInfo::Finish(finish)) => {
                self.finish(Outcome::Ready { finish, code: None })
            }
            (_, SessionInfo::Cancel(cancel)) => {
                self.finish(Outcome::Cancelled { step: cancel.step })
            }
            (_, SessionInfo::Error(error)) => self.finish(Outcome::Failed {
                reason: Failure::Reported(error),
            }),
            (_, SessionInfo::InvalidFinish { event }) => self.finish(Outcome::Failed {
                reason: Failure::InvalidFinish(event),
            }),
        }
    }

    /// Checks the clock: returns the outcome if a deadline has passed by `now`.
    pub fn poll(&mut self, now: Duration) -> Option<Outcome> {
        let deadline = self.deadline()?;
        if now < deadline {
            return None;
        }
        let outcome = match &self.state {
            State::HaveCode { .. } => Outcome::TimedOut,
            State::HaveFinish { finish, .. } => Outcome::Ready {
                finish: finish.clone(),
                code: None,
            },
            State::LoginEnded {
                not_authorized: false,
                ..
            } => Outcome::Cancelled { step: None },
            State::LoginEnded {
                not_authorized: true,
                ..
            } => Outcome::Failed {
                reason: Failure::NotAuthorized,
            },
            State::Waiting | State::Done => return None,
        };
        self.finish(outcome)
    }

    /// Whether nothing has been heard yet: no login callback and no session-info message.
    /// A popup that posted a message was open, whatever `FB.login` answers next.
    pub fn heard_nothing(&self) -> bool {
        self.state == State::Waiting
    }

    /// When [`Correlator::poll`] should next be called; `None` while nothing is due (the
    /// popup is still open, or the outcome was given).
    pub fn deadline(&self) -> Option<Duration> {
        let t = &self.timeouts;
        match &self.state {
            State::HaveCode { since, .. } => Some(since.saturating_add(t.finish_after_code)),
            State::HaveFinish { since, .. } => Some(since.saturating_add(t.code_after_finish)),
            State::LoginEnded { since, .. } => Some(since.saturating_add(t.grace)),
            State::Waiting | State::Done => None,
        }
    }

    fn finish(&mut self, outcome: Outcome) -> Option<Outcome> {
        self.state = State::Done;
        Some(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::{parse_session_info, Cancel};
    use serde_json::json;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn finish() -> SessionInfo {
        parse_session_info(
            &json!({"type": "WA_EMBEDDED_SIGNUP",
            "event": "FINISH", "data": {"waba_id": "104996122399160",
            "phone_number_id": "106540352242922", "business_id": "2729063490586005"}})
            .to_string(),
        )
        .unwrap()
    }

    fn finish_value() -> Finish {
        match finish() {
            SessionInfo::Finish(f) => f,
            _ => unreachable!(),
        }
    }

    fn code() -> AuthCode {
        AuthCode::parse("AQBcode").unwrap()
    }

    #[test]
    fn only_a_correlator_that_heard_nothing_says_so() {
        let mut c = Correlator::default();
        assert!(c.heard_nothing());
        assert_eq!(c.on_session_info(finish(), ms(10)), None);
        assert!(!c.heard_nothing(), "a message came: the popup was open");
        let mut c = Correlator::default();
        assert_eq!(c.on_login(LoginResult::Cancelled, ms(10)), None);
        assert!(!c.heard_nothing());
    }

    fn cancel(step: &str) -> SessionInfo {
        SessionInfo::Cancel(Cancel {
            step: Some(CancelStep::parse(step)),
        })
    }

    fn reported() -> SessionInfo {
        SessionInfo::Error(ReportedError {
            message: Some("Phone number already registered".into()),
            code: Some("2388091".into()),
            session_id: Some("s1".into()),
            timestamp: None,
        })
    }

    /// One step of a scripted flow.
    enum Step {
        Login(LoginResult),
        Info(SessionInfo),
        Poll,
    }

    /// `(time_ms, step)` pairs fed in order.
    type Script = Vec<(u64, Step)>;

    /// `(time_ms, outcome)` pairs, as [`run`] returns them.
    type Outcomes = Vec<(u64, Outcome)>;

    /// Runs `(time_ms, step)` pairs; returns every outcome with the time it came.
    fn run(steps: Script) -> Outcomes {
        let mut c = Correlator::default();
        let mut outcomes = Vec::new();
        for (t, step) in steps {
            let out = match step {
                Step::Login(r) => c.on_login(r, ms(t)),
                Step::Info(i) => c.on_session_info(i, ms(t)),
                Step::Poll => c.poll(ms(t)),
            };
            outcomes.extend(out.map(|o| (t, o)));
        }
        outcomes
    }

    fn ready(code: Option<AuthCode>) -> Outcome {
        Outcome::Ready {
            finish: finish_value(),
            code,
        }
    }

    #[test]
    fn scripted_flows_give_one_outcome_each() {
        use Step::*;
        let cases: Vec<(&str, Script, Outcomes)> = vec![
            (
                "code then finish",
                vec![(0, Login(LoginResult::Code(code()))), (500, Info(finish()))],
                vec![(500, ready(Some(code())))],
            ),
            (
                "finish then code",
                vec![(0, Info(finish())), (300, Login(LoginResult::Code(code())))],
                vec![(300, ready(Some(code())))],
            ),
            (
                "finish, no code in 10 s",
                vec![
                    (0, Info(finish())),
                    (9_999, Poll),
                    (10_000, Poll),
                    (10_500, Login(LoginResult::Code(code()))),
                ],
                vec![(10_000, ready(None))],
            ),
            (
                "finish then cancelled login: ready without code at once",
                vec![(0, Info(finish())), (100, Login(LoginResult::Cancelled))],
                vec![(100, ready(None))],
            ),
            (
                "finish then not authorized",
                vec![
                    (0, Info(finish())),
                    (100, Login(LoginResult::NotAuthorized)),
                ],
                vec![(100, ready(None))],
            ),
            (
                "code, no finish in 60 s",
                vec![
                    (1_000, Login(LoginResult::Code(code()))),
                    (60_999, Poll),
                    (61_000, Poll),
                    (61_001, Info(finish())),
                ],
                vec![(61_000, Outcome::TimedOut)],
            ),
            (
                "late finish before the timer fired still counts",
                vec![
                    (0, Login(LoginResult::Code(code()))),
                    (90_000, Info(finish())),
                    (90_001, Poll),
                ],
                vec![(90_000, ready(Some(code())))],
            ),
            (
                "cancel message first",
                vec![
                    (0, Info(cancel("PHONE_NUMBER_SETUP"))),
                    (50, Login(LoginResult::Cancelled)),
                    (5_000, Poll),
                ],
                vec![(
                    0,
                    Outcome::Cancelled {
                        step: Some(CancelStep::PhoneNumberSetup),
                    },
                )],
            ),
            (
                "cancelled login, then the step within the grace",
                vec![
                    (0, Login(LoginResult::Cancelled)),
                    (1_999, Poll),
                    (1_999, Info(cancel("PERMISSIONS"))),
                ],
                vec![(
                    1_999,
                    Outcome::Cancelled {
                        step: Some(CancelStep::Permissions),
                    },
                )],
            ),
            (
                "cancelled login, no message",
                vec![
                    (0, Login(LoginResult::Cancelled)),
                    (2_000, Poll),
                    (2_100, Info(cancel("PERMISSIONS"))),
                ],
                vec![(2_000, Outcome::Cancelled { step: None })],
            ),
            (
                "cancelled login, then a finish within the grace",
                vec![(0, Login(LoginResult::Cancelled)), (800, Info(finish()))],
                vec![(800, ready(None))],
            ),
            (
                "not authorized, nothing else",
                vec![(0, Login(LoginResult::NotAuthorized)), (2_000, Poll)],
                vec![(
                    2_000,
                    Outcome::Failed {
                        reason: Failure::NotAuthorized,
                    },
                )],
            ),
            (
                "not authorized, then a cancel step",
                vec![
                    (0, Login(LoginResult::NotAuthorized)),
                    (10, Info(cancel("NEW_STEP"))),
                ],
                vec![(
                    10,
                    Outcome::Cancelled {
                        step: Some(CancelStep::Other("NEW_STEP".into())),
                    },
                )],
            ),
            (
                "reported error first",
                vec![(0, Info(reported())), (10, Login(LoginResult::Cancelled))],
                vec![(
                    0,
                    Outcome::Failed {
                        reason: Failure::Reported(match reported() {
                            SessionInfo::Error(e) => e,
                            _ => unreachable!(),
                        }),
                    },
                )],
            ),
            (
                "code, then a reported error",
                vec![
                    (0, Login(LoginResult::Code(code()))),
                    (10, Info(reported())),
                ],
                vec![(
                    10,
                    Outcome::Failed {
                        reason: Failure::Reported(match reported() {
                            SessionInfo::Error(e) => e,
                            _ => unreachable!(),
                        }),
                    },
                )],
            ),
            (
                "invalid finish",
                vec![
                    (
                        0,
                        Info(SessionInfo::InvalidFinish {
                            event: "FINISH".into(),
                        }),
                    ),
                    (10, Login(LoginResult::Code(code()))),
                ],
                vec![(
                    0,
                    Outcome::Failed {
                        reason: Failure::InvalidFinish("FINISH".into()),
                    },
                )],
            ),
            (
                "finish wins over a later cancel or error",
                vec![
                    (0, Info(finish())),
                    (5, Info(cancel("PERMISSIONS"))),
                    (6, Info(reported())),
                    (7, Login(LoginResult::Code(code()))),
                ],
                vec![(7, ready(Some(code())))],
            ),
            (
                "unknown events change nothing",
                vec![
                    (0, Info(SessionInfo::Unknown { event: "X".into() })),
                    (1, Login(LoginResult::Code(code()))),
                    (2, Info(SessionInfo::Unknown { event: "Y".into() })),
                    (3, Info(finish())),
                ],
                vec![(3, ready(Some(code())))],
            ),
            (
                "a second login callback changes nothing",
                vec![
                    (0, Login(LoginResult::Code(code()))),
                    (1, Login(LoginResult::Cancelled)),
                    (2, Poll),
                    (3, Info(finish())),
                ],
                vec![(3, ready(Some(code())))],
            ),
            (
                "nothing is due while the popup is open",
                vec![(0, Poll), (3_600_000, Poll)],
                vec![],
            ),
            (
                "after the outcome everything is ignored",
                vec![
                    (0, Login(LoginResult::Code(code()))),
                    (1, Info(finish())),
                    (2, Info(finish())),
                    (3, Info(cancel("PERMISSIONS"))),
                    (4, Login(LoginResult::NotAuthorized)),
                    (100_000, Poll),
                ],
                vec![(1, ready(Some(code())))],
            ),
        ];
        for (name, steps, want) in cases {
            assert_eq!(run(steps), want, "{name}");
        }
    }

    #[test]
    fn deadlines_follow_the_state() {
        let mut c = Correlator::default();
        assert_eq!(c.deadline(), None);
        c.on_login(LoginResult::Code(code()), ms(1_000));
        assert_eq!(c.deadline(), Some(ms(61_000)));
        c.on_session_info(finish(), ms(2_000));
        assert_eq!(c.deadline(), None);
        // Done: later input changes nothing.
        assert_eq!(c.on_login(LoginResult::Cancelled, ms(3_000)), None);
        assert_eq!(c.poll(ms(100_000)), None);

        let mut c = Correlator::default();
        c.on_session_info(finish(), ms(5));
        assert_eq!(c.deadline(), Some(ms(10_005)));

        let mut c = Correlator::default();
        c.on_login(LoginResult::Cancelled, ms(5));
        assert_eq!(c.deadline(), Some(ms(2_005)));
        // Not done: the grace period still ends in an outcome.
        assert_eq!(c.poll(ms(2_005)), Some(Outcome::Cancelled { step: None }));
    }

    #[test]
    fn timeouts_are_configurable() {
        let mut c = Correlator::new(Timeouts {
            finish_after_code: ms(100),
            code_after_finish: ms(20),
            grace: ms(0),
        });
        c.on_login(LoginResult::Code(code()), ms(0));
        assert_eq!(c.poll(ms(99)), None);
        assert_eq!(c.poll(ms(100)), Some(Outcome::TimedOut));

        let mut c = Correlator::new(Timeouts {
            grace: ms(0),
            ..Timeouts::default()
        });
        c.on_login(LoginResult::Cancelled, ms(7));
        assert_eq!(c.poll(ms(7)), Some(Outcome::Cancelled { step: None }));
    }

    #[test]
    fn huge_times_do_not_overflow() {
        let mut c = Correlator::default();
        c.on_login(LoginResult::Code(code()), Duration::MAX);
        assert_eq!(c.deadline(), Some(Duration::MAX));
        assert_eq!(c.poll(Duration::MAX), Some(Outcome::TimedOut));
    }

    #[test]
    fn login_responses_are_read() {
        let cases = [
            (
                Some("connected"),
                Some("AQBcode"),
                LoginResult::Code(code()),
            ),
            (
                Some("connected"),
                Some("bad code"),
                LoginResult::NotAuthorized,
            ),
            (Some("connected"), Some(""), LoginResult::NotAuthorized),
            (Some("connected"), None, LoginResult::NotAuthorized),
            (Some("not_authorized"), None, LoginResult::NotAuthorized),
            (Some("unknown"), None, LoginResult::Cancelled),
            (None, Some("AQBcode"), LoginResult::Cancelled),
            (Some("CONNECTED"), Some("AQBcode"), LoginResult::Cancelled),
        ];
        for (status, code, want) in cases {
            assert_eq!(
                LoginResult::from_parts(status, code),
                want,
                "{status:?} {code:?}"
            );
        }
    }
}
