//! The redirect flow's rows (`oauth_states`): issued states, consumed once; the candidates
//! waiting for the customer's choice; the result waiting for the page.
//!
//! Every "once" is one conditional `UPDATE` whose affected-row count decides, so two
//! instances (or two tabs) racing on one state or handle cannot both win.

use sqlx::Row;
use time::OffsetDateTime;
use wire::Mode;

use super::rows::{format_time, parse_time};
use super::tx::{Stmt, Tx, Write};
use super::writer::Done;
use super::{Store, StoreError};

/// What consuming a state found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// It was issued here and never used: this call used it.
    Fresh,
    /// It was used before (or never issued by this database).
    Spent,
}

/// The verified candidates a customer chooses among, as stored.
#[derive(Debug, Clone)]
pub struct Pending {
    /// JSON of the candidates.
    pub candidates: String,
    /// The sealed business token (Meta provider), if kept.
    pub business_token: Option<String>,
    /// The SHA-256 of the code the flow exchanged.
    pub code_sha256: Option<String>,
}

/// A finished flow's result, as its page picks it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickedUp {
    /// The onboarding the flow created.
    pub onboarding_id: String,
    /// The session the flow started with (none: anonymous).
    pub session_id: Option<String>,
}

impl Store {
    /// Records an issued state (by its SHA-256) so it can be consumed once.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_oauth_state(
        &self,
        state_sha256: &str,
        session_id: Option<&str>,
        mode: Mode,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        self.exec(Stmt::new(
            "INSERT INTO oauth_states (state_sha256, session_id, mode, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_sha256)
        .bind(session_id)
        .bind(mode.as_str())
        .bind(now)
        .bind(format_time(expires_at))
        )
        .await?;
        Ok(())
    }

    /// Uses a state: the first call for an issued state gets [`Consumed::Fresh`], every
    /// other call (another tab, another instance, a replay) [`Consumed::Spent`].
    ///
    /// # Errors
    /// Database failures.
    pub async fn consume_oauth_state(&self, state_sha256: &str) -> Result<Consumed, StoreError> {
        let now = format_time(self.clock.now());
        let n = self
            .exec(
                Stmt::new(
                    "UPDATE oauth_states SET consumed_at = $1 \
             WHERE state_sha256 = $2 AND consumed_at IS NULL",
                )
                .bind(now)
                .bind(state_sha256),
            )
            .await?;
        Ok(match n {
            1 => Consumed::Fresh,
            _ => Consumed::Spent,
        })
    }

    /// Keeps a consumed state's verified candidates until the customer chooses.
    ///
    /// # Errors
    /// Database failures.
    pub async fn await_oauth_choice(
        &self,
        state_sha256: &str,
        pending: &Pending,
    ) -> Result<(), StoreError> {
        self.exec(
            Stmt::new(
                "UPDATE oauth_states SET candidates = $1, business_token = $2, code_sha256 = $3 \
             WHERE state_sha256 = $4",
            )
            .bind(&pending.candidates)
            .bind(pending.business_token.as_deref())
            .bind(pending.code_sha256.as_deref())
            .bind(state_sha256),
        )
        .await?;
        Ok(())
    }

    /// Takes the candidates of a state waiting for a choice, once: the sealed token is
    /// wiped in the same statement. `None`: nothing waits (chosen already, or never asked).
    ///
    /// # Errors
    /// Database failures.
    pub async fn take_oauth_choice(
        &self,
        state_sha256: &str,
    ) -> Result<Option<Pending>, StoreError> {
        self.transact(TakeChoice {
            state_sha256: state_sha256.to_owned(),
            now: format_time(self.clock.now()),
        })
        .await
    }

    /// Leaves the flow's onboarding for the page, behind a single-use handle valid until
    /// `until`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn set_oauth_result(
        &self,
        state_sha256: &str,
        onboarding_id: &str,
        result_sha256: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.exec(Stmt::new(
            "UPDATE oauth_states SET onboarding_id = $1, result_sha256 = $2, result_until = $3 \
             WHERE state_sha256 = $4",
        )
        .bind(onboarding_id)
        .bind(result_sha256)
        .bind(format_time(until))
        .bind(state_sha256)
        )
        .await?;
        Ok(())
    }

    /// The onboarding (and the flow's session) behind a result handle, once and before it
    /// expires.
    ///
    /// # Errors
    /// Database failures.
    pub async fn take_oauth_result(
        &self,
        result_sha256: &str,
    ) -> Result<Option<PickedUp>, StoreError> {
        self.transact(TakeResult {
            result_sha256: result_sha256.to_owned(),
            now: self.clock.now(),
        })
        .await
    }

    /// The `account_update` `PARTNER_ADDED` changes Meta sent since `since`: `(waba_id,
    /// owner_business_id)`, newest last. The redirect flow's candidates, never taken on
    /// their own word: the caller checks the customer's token reaches each.
    ///
    /// # Errors
    /// Database failures.
    pub async fn partner_added_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT body FROM webhook_events WHERE type = 'meta.account_update' \
             AND received_at >= $1 ORDER BY received_at LIMIT 200",
        )
        .bind(format_time(since))
        .fetch_all(&self.read)
        .await?;
        let mut found = Vec::new();
        for row in rows {
            let body: String = row.try_get("body")?;
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
                continue;
            };
            let changes = json["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["changes"].as_array().into_iter().flatten());
            for change in changes {
                let value = &change["value"];
                if value["event"].as_str() != Some("PARTNER_ADDED") {
                    continue;
                }
                let info = &value["waba_info"];
                if let Some(waba) = info["waba_id"].as_str() {
                    let owner = info["owner_business_id"].as_str().map(str::to_owned);
                    found.push((waba.to_owned(), owner));
                }
            }
        }
        Ok(found)
    }
}

/// [`Store::take_oauth_choice`]'s write.
struct TakeChoice {
    state_sha256: String,
    now: String,
}

impl Write for TakeChoice {
    type Out = Option<Pending>;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Option<Pending>>, StoreError> {
        let find = Stmt::new(
            "SELECT candidates, business_token, code_sha256 FROM oauth_states \
             WHERE state_sha256 = $1 AND candidates IS NOT NULL AND chosen_at IS NULL",
        )
        .bind(&self.state_sha256);
        let found = tx
            .query_first(&find, |row| {
                Ok(Pending {
                    candidates: row.string("candidates")?,
                    business_token: row.text("business_token")?,
                    code_sha256: row.text("code_sha256")?,
                })
            })
            .await?;
        let Some(pending) = found else {
            return Ok(Done::Undo(None));
        };
        let take = Stmt::new(
            "UPDATE oauth_states SET chosen_at = $1, business_token = NULL \
             WHERE state_sha256 = $2 AND chosen_at IS NULL",
        )
        .bind(&self.now)
        .bind(&self.state_sha256);
        Ok(match tx.exec(&take).await? {
            1 => Done::Keep(Some(pending)),
            _ => Done::Undo(None),
        })
    }
}

/// [`Store::take_oauth_result`]'s write.
struct TakeResult {
    result_sha256: String,
    now: OffsetDateTime,
}

impl Write for TakeResult {
    type Out = Option<PickedUp>;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Option<PickedUp>>, StoreError> {
        let find = Stmt::new(
            "SELECT onboarding_id, session_id, result_until FROM oauth_states \
             WHERE result_sha256 = $1 AND picked_up_at IS NULL",
        )
        .bind(&self.result_sha256);
        let found = tx
            .query_first(&find, |row| {
                let id = row.text("onboarding_id")?;
                let session_id = row.text("session_id")?;
                let until = row.text("result_until")?;
                let until = until.as_deref().and_then(parse_time);
                Ok(id.zip(until).map(|(id, until)| (id, session_id, until)))
            })
            .await?
            .flatten();
        let Some((onboarding_id, session_id, _)) = found.filter(|(_, _, until)| *until > self.now)
        else {
            return Ok(Done::Undo(None));
        };
        let pick = Stmt::new(
            "UPDATE oauth_states SET picked_up_at = $1 \
             WHERE result_sha256 = $2 AND picked_up_at IS NULL",
        )
        .bind(format_time(self.now))
        .bind(&self.result_sha256);
        Ok(match tx.exec(&pick).await? {
            1 => Done::Keep(Some(PickedUp {
                onboarding_id,
                session_id,
            })),
            _ => Done::Undo(None),
        })
    }
}
