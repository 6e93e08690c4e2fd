//! The onboarding store: onboardings, their steps, register attempts, webhook events,
//! sessions and the partner events' outbox.
//!
//! sqlx's `Any` driver with runtime queries in portable SQL (`$n` placeholders, ANSI types,
//! RFC 3339 text timestamps), so SQLite (the default) and PostgreSQL share one set of SQL
//! and of migrations. Each write is written once against `tx.rs`'s [`tx::Tx`] and run on
//! SQLite's writer thread (`writer.rs`, rusqlite, a database file) or in a sqlx transaction
//! (PostgreSQL; an in-memory SQLite database).
//!
//! - this file: [`Store`], opening the database and applying the migrations;
//! - `tx.rs`: the one write path: statements with their values, the two executors;
//! - `queries.rs`: the reads, the insert of a new onboarding;
//! - `webhooks.rs`: webhook events, seen and applied in one transaction, in order;
//! - `writes.rs`: [`Writes`], the batch of writes committed between two upstream calls;
//!   `batch.rs`: its transaction; `budget.rs`: the register and deregister budgets' counts,
//!   atomic per number; `changes.rs`: changes no runner owns;
//! - `leases.rs`: which instance runs an onboarding (row leases);
//! - `partner.rs`: the partner's view of an onboarding; `sessions.rs`: sessions;
//!   `events.rs`: the outbox of partner events (written in the transaction of the change
//!   that causes them);
//! - `rows.rs`: the stored types and how rows decode ([`Record`]: the API's view plus
//!   YCloud's raw objects);
//! - `console.rs`: the partner console's sign-ins, links opened, redeliveries and the
//!   funnel's counts;
//! - `health.rs`: connected numbers due for a health read, claiming one, storing a read
//!   with its `number.health_changed` events;
//! - `credentials.rs`: what the Meta provider keeps (sealed token and PIN, region);
//! - `tokens.rs`: the browser's client tokens (hashes), the customer's PIN attempts, and
//!   the health check's write;
//! - `cache.rs`: the in-memory copies of `GET /api/onboardings/{id}`'s answers, client
//!   tokens' grants and sessions (SQLite only);
//! - `writer.rs`: SQLite's writer thread (a database file): writes as jobs committed in
//!   groups, with rusqlite;
//! - `test_support.rs`: what only tests ask (feature `test-support`).

use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::clock::Clock;

mod batch;
mod budget;
mod cache;
mod changes;
mod console;
mod credentials;
mod events;
mod health;
mod leases;
mod oauth;
mod partner;
mod queries;
mod rows;
mod sessions;
mod signups;
#[cfg(any(test, feature = "test-support"))]
mod test_support;
mod tokens;
mod tx;
mod webhooks;
mod writer;
mod writes;

pub use crate::clock::{format_time, parse_time};
pub use batch::Ended;
pub use budget::{Budget, CallKind, CountedCall};
pub use changes::{reauthorizable, Reauthorization};
pub use console::{ConsoleSignIn, FunnelCounts};
pub use credentials::{MetaCredentials, PinOrigin, SealedColumn};
pub use events::{Attempt, DueEvent, EventFilter, Posted};
pub use leases::Unleased;
pub use oauth::{Consumed, Pending, PickedUp};
pub use partner::OnboardingQuery;
pub use queries::{Customer, Insert};
pub use rows::{Record, Step, StepRecord, StepStatus, Steps, Update};
pub use sessions::SessionRecord;
pub use signups::{partner_event_of, SignupFunnel, SignupRecord};
pub use tokens::ClientGrant;
pub use webhooks::{EventObject, EventOutcome, IncomingEvent, Verdict};
pub use writes::Writes;

/// A store failure. Shown to nobody: logged, and answered as a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite's writer thread's connection refused or failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// SQLite's writer thread stopped, or could not run or commit a job.
    #[error("writer: {0}")]
    Writer(String),
    /// Migrations could not be applied.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database file's directory could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database file could not be created.
    #[error("cannot create the database file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The lease on the onboarding is no longer this instance's (it expired and another
    /// instance took the onboarding over): nothing was written.
    #[error("onboarding {id}: another instance holds its lease now")]
    LeaseLost {
        /// Which onboarding.
        id: String,
    },
    /// Another process has this SQLite file open as its store: SQLite has one writer, and
    /// two proxies on one file would each run the same onboardings.
    #[error("{path} is in use by another process (one proxy per SQLite file; several instances need PostgreSQL)")]
    InUse {
        /// The database file.
        path: String,
    },
    /// A stored row does not parse (edited by hand, or a bug).
    #[error("corrupt row {id}: {what}")]
    Corrupt {
        /// Which onboarding.
        id: String,
        /// What did not parse.
        what: String,
    },
}

/// The database behind the proxy.
///
/// The store's in-memory copies, kept only where this process is the database's one writer.
#[derive(Debug, Default)]
struct Caches {
    /// See [`Store::get_json`].
    json: cache::Kept<String>,
    /// See [`Store::client_grant`]: what a client token's row and its session's say, which
    /// only a revocation changes.
    grants: cache::Kept<tokens::GrantFacts>,
    /// See [`Store::session_by_token`]: sessions by their token's hash.
    sessions: cache::Kept<SessionRecord>,
}

/// With SQLite, writes go through one writer at a time (the writer thread, or the one
/// connection of `write` while it holds the thread off) and reads through a pool of others
/// (`read`): SQLite has one writer at a time, and several connections competing for it
/// sleep in its busy handler (milliseconds each) instead of queueing; with WAL, readers
/// never wait for the writer. With PostgreSQL `read` and `write` are the same pool.
#[derive(Debug, Clone)]
pub struct Store {
    /// Where the times the store writes come from.
    clock: Clock,
    /// Answers of [`Store::get_json`] and [`Store::client_grant`] (SQLite only, where this
    /// process is the one writer).
    cache: Option<Arc<Caches>>,
    read: AnyPool,
    write: AnyPool,
    /// SQLite's writer thread, with a database file: the hot writes go through it, and the
    /// others hold it off while they write through `write`.
    writer: Option<writer::Writer>,
    /// Whether new partner events are to be delivered (a webhook URL is configured) or only
    /// listed.
    deliver_events: bool,
    /// Wakes the outbox's deliverer when a commit wrote an event.
    outbox_wake: Arc<tokio::sync::Notify>,
    /// With a SQLite file: the exclusive lock on `{file}.lock` this process holds while the
    /// store is open (released by [`Store::close`] of its last store, or at exit).
    file_lock: Arc<std::sync::Mutex<Option<Arc<std::fs::File>>>>,
}

impl Store {
    /// Opens (and for SQLite, creates) the database and applies the migrations. Every time
    /// the store writes (`created_at`, steps, webhook events) is read from `clock`.
    ///
    /// # Errors
    /// When the directory cannot be created, the database cannot be opened, or a migration
    /// fails.
    pub async fn connect(database_url: &str, clock: Clock) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = database_url.starts_with("sqlite:");
        let url = if is_sqlite {
            prepare_sqlite(database_url)?
        } else {
            database_url.to_owned()
        };
        // An in-memory SQLite database is one per connection: keep it to one pool.
        let in_memory = is_sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let options = || {
            AnyPoolOptions::new().after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        // WAL lets readers go on while the writer writes; the busy timeout
                        // makes a connection wait for a lock instead of failing at once
                        // (rare with one writer: checkpoints, another process).
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        // With WAL, NORMAL syncs at checkpoints instead of at every commit:
                        // still safe from corruption and from a crash of the process; only a
                        // power loss may drop the last commits.
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
        };
        if !is_sqlite {
            let pool = options().max_connections(10).connect(&url).await?;
            sqlx::migrate!("./migrations").run(&pool).await?;
            // Other instances may share a PostgreSQL database: no cache.
            return Ok(Self {
                clock,
                cache: None,
                read: pool.clone(),
                write: pool,
                writer: None,
                deliver_events: false,
                outbox_wake: Arc::default(),
                file_lock: Arc::default(),
            });
        }
        let file_lock = match in_memory {
            true => None,
            false => Some(lock_file(sqlite_path(&url))?),
        };
        // One writer: writes queue in tokio for the one connection instead of competing for
        // SQLite's lock.
        let write = options()
            .max_connections(1)
            .min_connections(1)
            .connect(&url)
            .await?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let (read, writer) = if in_memory {
            (write.clone(), None)
        } else {
            let read = options().max_connections(4).connect(&url).await?;
            (read, Some(writer::Writer::open(sqlite_path(&url))?))
        };
        Ok(Self {
            clock,
            cache: Some(Arc::default()),
            read,
            write,
            writer,
            deliver_events: false,
            outbox_wake: Arc::default(),
            file_lock: Arc::new(std::sync::Mutex::new(file_lock)),
        })
    }

    /// Events written from now on are to be delivered to the partner's webhook (`true`) or
    /// only listed (`false`, the default: no URL configured).
    #[must_use]
    pub fn delivering_events(mut self, on: bool) -> Self {
        self.deliver_events = on;
        self
    }

    /// Resolves when a commit has written a partner event since the last call.
    pub async fn outbox_woken(&self) {
        self.outbox_wake.notified().await;
    }

    fn wake_outbox(&self) {
        if self.deliver_events {
            self.outbox_wake.notify_one();
        }
    }

    /// Holds SQLite's writer thread off while a write goes through sqlx's pool (`None`
    /// without the thread), so the file keeps one writer at a time.
    async fn exclusive(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.writer {
            Some(writer) => Some(writer.exclusive().await),
            None => None,
        }
    }

    /// Closes the pools and SQLite's writer thread (tests restarting on the same file).
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.stop().await;
        }
        self.read.close().await;
        self.write.close().await;
        let mut lock = self
            .file_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        drop(lock.take());
    }
}

/// Makes sure a SQLite database can be created: its directory exists, and `mode=rwc` is set
/// unless the URL chose a mode. When SQLite may create the file, it is created here first,
/// readable and writable by the owner only (it holds the customers' onboardings); SQLite gives
/// its `-wal` and `-shm` files the database file's permissions.
fn prepare_sqlite(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let chosen_mode = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("mode="))
        .map(str::to_owned);
    if chosen_mode.as_deref().is_none_or(|m| m == "rwc") {
        create_private_file(path)?;
    }
    if chosen_mode.is_some() {
        Ok(url.to_owned())
    } else if query.is_empty() {
        Ok(format!("{url}?mode=rwc"))
    } else {
        Ok(format!("{url}&mode=rwc"))
    }
}

/// The file of a SQLite URL (as `prepare_sqlite` leaves it): what follows the scheme,
/// without the query.
fn sqlite_path(url: &str) -> &str {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split_once('?').map_or(rest, |(path, _)| path)
}

/// Takes the exclusive lock of SQLite file `path` (on `{path}.lock`, so SQLite's own locks
/// on the file are left alone), or says which file another process holds. Stores of one
/// process share its lock (tests open a second store on a running proxy's file); the
/// operating system releases it when the process ends, however it ends.
fn lock_file(path: &str) -> Result<Arc<std::fs::File>, StoreError> {
    static HELD: std::sync::Mutex<Vec<(std::path::PathBuf, std::sync::Weak<std::fs::File>)>> =
        std::sync::Mutex::new(Vec::new());
    let lock_path = format!("{path}.lock");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&lock_path)
        .map_err(|source| StoreError::File {
            path: lock_path.clone(),
            source,
        })?;
    let key = std::fs::canonicalize(&lock_path).map_err(|source| StoreError::File {
        path: lock_path.clone(),
        source,
    })?;
    let mut held = HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    held.retain(|(_, lock)| lock.strong_count() > 0);
    if let Some(lock) = held
        .iter()
        .find(|(p, _)| *p == key)
        .and_then(|(_, l)| l.upgrade())
    {
        return Ok(lock);
    }
    match file.try_lock() {
        Ok(()) => {
            let file = Arc::new(file);
            held.push((key, Arc::downgrade(&file)));
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: path.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::File {
            path: lock_path,
            source,
        }),
    }
}

/// Creates `path` with mode 0600 unless it exists (an existing file keeps its permissions).
fn create_private_file(path: &str) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::File {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = std::env::temp_dir().join(format!("store-test-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/x.db", dir.display());
        assert_eq!(prepare_sqlite(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.is_dir());
        assert_eq!(
            prepare_sqlite("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("store-test-{}", uuid::Uuid::new_v4()));
        let file = dir.join("x.db");
        let store = Store::connect(&format!("sqlite://{}", file.display()), Clock::system())
            .await
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        let wal = dir.join("x.db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600, "SQLite copies the database's mode");
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
