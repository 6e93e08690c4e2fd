//! SQLite's writer: one thread owning the database's one write connection (`rusqlite`),
//! committing several requests' writes together (group commit).
//!
//! Through sqlx every statement was a hand-off to its connection's worker thread and back
//! (a POST made about thirty, each a futex wake-up on both sides); here a request hands its
//! whole transaction over once, as a closure ([`Writer::run`]). The thread takes every job
//! waiting in its queue, runs them in one transaction, each in a savepoint of its own (a job
//! that fails or undoes itself rolls back only its own writes), commits once, and only then
//! answers each job: an answer always means committed. With WAL and `synchronous = NORMAL`
//! the commit writes the changed pages to the WAL once for the whole group.
//!
//! The webhooks' application, the one write that still goes through sqlx's pool (its rules
//! are the caller's borrowed closure, which a job cannot hold), first takes
//! [`Writer::exclusive`], which the thread also holds for each group, so the file keeps one
//! writer at a time: nobody sleeps in SQLite's busy handler, and sqlx's deferred
//! transactions never meet a write lock taken under them.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::Arc;

use rusqlite::{Connection, ToSql};
use tokio::sync::{oneshot, Mutex, MutexGuard};

use super::StoreError;

/// Jobs committed together at most: bounds how long the first one waits for the commit.
const GROUP_MAX: usize = 64;

/// What a job asks of its savepoint.
pub(super) enum Done<T> {
    /// Keep its writes (committed with the group).
    Keep(T),
    /// Roll its writes back and answer `T` (a refused write: the lease lost, the budget spent).
    Undo(T),
}

/// Called once the group's commit has ended: with its error, if it failed.
type Answer = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;
/// A job: runs inside its savepoint; answers whether to keep its writes, and how to answer.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Answer) + Send>;

enum Message {
    Job(Job),
    /// Finish the queued jobs, close the connection, then answer.
    Stop(oneshot::Sender<()>),
}

/// The writer thread's handle. Cheap to clone; the thread ends (closing the connection)
/// when [`Writer::stop`] is called or the last handle is dropped.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Message>,
    /// Held by the thread for each group, and by sqlx writes for their statement or
    /// transaction.
    gate: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl Writer {
    /// Opens the database file at `path` (created by then, migrations applied) with the
    /// store's settings and starts the thread.
    ///
    /// # Errors
    /// When the file cannot be opened or configured, or the thread cannot start.
    pub(super) fn open(path: &str) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        // As the sqlx connections are set up (store/mod.rs): WAL, commits synced at
        // checkpoints only, a busy wait instead of an error, foreign keys enforced.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The writer touches the indexes' pages at random (UUID keys): with SQLite's default
        // 2 MiB cache most of them were read again from the file (a copy from the kernel's
        // page cache each). This connection's cache stays valid (it is the one writer), so a
        // larger one keeps the hot part of the indexes in memory.
        conn.pragma_update(None, "cache_size", -16 * 1024)?;
        // Statements are prepared once per connection and reused (the hot ones are few).
        conn.set_prepared_statement_cache_capacity(64);
        let (queue, jobs) = mpsc::channel();
        let gate = Arc::new(Mutex::new(()));
        let thread_gate = Arc::clone(&gate);
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || serve(conn, &jobs, &thread_gate))
            .map_err(|e| StoreError::Writer(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { queue, gate })
    }

    /// Runs `work` in the next group's transaction and answers its result once that
    /// transaction is committed (an error, or [`Done::Undo`], rolls back `work`'s writes only).
    ///
    /// # Errors
    /// `work`'s error, the commit's, or a stopped writer.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<Done<T>, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            let (keep, result) = match work(conn) {
                Ok(Done::Keep(t)) => (true, Ok(t)),
                Ok(Done::Undo(t)) => (false, Ok(t)),
                Err(e) => (false, Err(e)),
            };
            let answer: Answer = Box::new(move |commit_error| {
                let result = match commit_error {
                    Some(e) if keep => Err(StoreError::Writer(format!("commit failed: {e}"))),
                    _ => result,
                };
                // The waiter may be gone (its request dropped): the writes stand anyway.
                let _ = reply.send(result);
            });
            (keep, answer)
        });
        self.queue
            .send(Message::Job(job))
            .map_err(|_| StoreError::Writer("the writer is stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Writer("the writer could not run the job".to_owned()))?
    }

    /// Waits until no group is being written, and keeps the writer from starting one until
    /// the guard is dropped: for the writes made through sqlx's pool.
    pub(super) async fn exclusive(&self) -> MutexGuard<'_, ()> {
        self.gate.lock().await
    }

    /// Lets the queued jobs finish, then closes the connection.
    pub(super) async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.queue.send(Message::Stop(done)).is_ok() {
            let _ = stopped.await;
        }
    }
}

/// The thread: groups of jobs, each group one transaction.
fn serve(conn: Connection, queue: &mpsc::Receiver<Message>, gate: &Mutex<()>) {
    let mut stop = None;
    while stop.is_none() {
        let Ok(first) = queue.recv() else { break };
        let mut jobs = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Job(job) => jobs.push(job),
                Message::Stop(done) => {
                    stop = Some(done);
                    break;
                }
            }
            next = match jobs.len() < GROUP_MAX {
                true => queue.try_recv().ok(),
                false => None,
            };
        }
        if !jobs.is_empty() {
            let _held = gate.blocking_lock();
            group(&conn, jobs);
        }
    }
    drop(conn);
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

/// One transaction for `jobs`, then their answers.
fn group(conn: &Connection, jobs: Vec<Job>) {
    let mut answers = Vec::with_capacity(jobs.len());
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Nothing ran: each job is answered with the error (its closure never runs).
        tracing::error!(error = %e, "the writer cannot begin a transaction");
        for job in jobs {
            drop(job);
        }
        return;
    }
    for job in jobs {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "the writer cannot open a savepoint");
            drop(job);
            continue;
        }
        // A panicking job drops its answer (its waiter sees an error); its writes go.
        let (keep, answer) = match std::panic::catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(done) => (done.0, Some(done.1)),
            Err(_) => (false, None),
        };
        let end = match keep {
            true => conn.execute_batch("RELEASE job"),
            false => conn.execute_batch("ROLLBACK TO job; RELEASE job"),
        };
        match (end, answer) {
            (Ok(()), Some(answer)) => answers.push(answer),
            (Err(e), Some(answer)) => {
                tracing::error!(error = %e, "the writer cannot close a savepoint");
                answer(Some(&e));
            }
            (_, None) => {}
        }
    }
    let committed = conn.execute_batch("COMMIT");
    if committed.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let error = committed.err();
    for answer in answers {
        answer(error.as_ref());
    }
}

/// Binds `params` to `$1`, `$2`, … of `stmt`, by name (the store's SQL is written for both
/// drivers with `$n` placeholders; a name may repeat, or come out of order).
fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[&dyn ToSql]) -> Result<(), StoreError> {
    for (i, param) in params.iter().enumerate() {
        if let Some(index) = stmt.parameter_index(&format!("${}", i + 1))? {
            stmt.raw_bind_parameter(index, param)?;
        }
    }
    Ok(())
}

/// Runs one statement (prepared once per connection); answers the rows it changed.
pub(super) fn exec(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, params)?;
    Ok(stmt.raw_execute()?)
}

/// Runs one query; `each` decodes its rows.
pub(super) fn query<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(each(row)?);
    }
    Ok(out)
}
