//! One write path: a write is written once, against [`Tx`] (statements with their bound
//! values, and queries decoded through [`Columns`]), and run by one of two executors:
//! SQLite's writer thread (a database file) or a sqlx transaction (PostgreSQL, and an
//! in-memory SQLite database, which lives in sqlx's one connection).
//!
//! On the writer thread the write's future never waits (every statement runs in the thread
//! itself), so it is polled once ([`ready`]); through sqlx it is awaited as usual.

use std::borrow::Cow;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use rusqlite::types::ToSqlOutput;
use sqlx::AnyConnection;

use super::rows::Columns;
use super::writer::{self, Done};
use super::{Store, StoreError};

/// A value bound to a statement's `$n`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Param {
    /// Text, or NULL.
    Text(Option<String>),
    /// A 32-bit integer (PostgreSQL's `INTEGER` columns).
    Int(i32),
    /// A 64-bit integer (`BIGINT`, counts and limits).
    BigInt(i64),
    /// A 32-bit integer, or NULL.
    MaybeInt(Option<i32>),
}

impl From<&str> for Param {
    fn from(s: &str) -> Self {
        Param::Text(Some(s.to_owned()))
    }
}

impl From<String> for Param {
    fn from(s: String) -> Self {
        Param::Text(Some(s))
    }
}

impl From<&String> for Param {
    fn from(s: &String) -> Self {
        Param::Text(Some(s.clone()))
    }
}

impl From<Option<String>> for Param {
    fn from(s: Option<String>) -> Self {
        Param::Text(s)
    }
}

impl From<Option<&str>> for Param {
    fn from(s: Option<&str>) -> Self {
        Param::Text(s.map(str::to_owned))
    }
}

impl From<&Option<String>> for Param {
    fn from(s: &Option<String>) -> Self {
        Param::Text(s.clone())
    }
}

impl From<i32> for Param {
    fn from(n: i32) -> Self {
        Param::Int(n)
    }
}

impl From<Option<i32>> for Param {
    fn from(n: Option<i32>) -> Self {
        Param::MaybeInt(n)
    }
}

impl From<i64> for Param {
    fn from(n: i64) -> Self {
        Param::BigInt(n)
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Param::Text(t) => t.to_sql(),
            Param::Int(n) => n.to_sql(),
            Param::BigInt(n) => n.to_sql(),
            Param::MaybeInt(n) => n.to_sql(),
        }
    }
}

/// One statement in the store's portable SQL (`$n` placeholders) with its values.
#[derive(Debug, Clone)]
pub(super) struct Stmt {
    sql: Cow<'static, str>,
    params: Vec<Param>,
}

impl Stmt {
    /// `sql` with nothing bound yet.
    pub(super) fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    /// Binds the next `$n`.
    #[must_use]
    pub(super) fn bind(mut self, value: impl Into<Param>) -> Self {
        self.params.push(value.into());
        self
    }

    /// `sql` with `params` bound to `$1`, `$2`, … in order.
    pub(super) fn with(sql: impl Into<Cow<'static, str>>, params: Vec<Param>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }

    fn sqlx(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.sql);
        for p in &self.params {
            q = match p {
                Param::Text(t) => q.bind(t.as_deref()),
                Param::Int(n) => q.bind(*n),
                Param::BigInt(n) => q.bind(*n),
                Param::MaybeInt(n) => q.bind(*n),
            };
        }
        q
    }

    fn sqlite(&self) -> Vec<&dyn rusqlite::ToSql> {
        self.params
            .iter()
            .map(|p| p as &dyn rusqlite::ToSql)
            .collect()
    }
}

/// A transaction on either driver: what a write is written against.
pub(super) trait Tx {
    /// Runs `stmt`; answers the rows it changed.
    async fn exec(&mut self, stmt: &Stmt) -> Result<u64, StoreError>;

    /// Runs `stmt`; `each` decodes its rows.
    async fn query<T>(
        &mut self,
        stmt: &Stmt,
        each: impl FnMut(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError>;

    /// The first row `stmt` answers, if any.
    async fn query_first<T>(
        &mut self,
        stmt: &Stmt,
        each: impl FnMut(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.query(stmt, each).await?.into_iter().next())
    }
}

/// A sqlx connection, inside a transaction (or a pool's connection, for reads).
pub(super) struct Sqlx<'c>(pub(super) &'c mut AnyConnection);

impl Tx for Sqlx<'_> {
    async fn exec(&mut self, stmt: &Stmt) -> Result<u64, StoreError> {
        Ok(stmt.sqlx().execute(&mut *self.0).await?.rows_affected())
    }

    async fn query<T>(
        &mut self,
        stmt: &Stmt,
        mut each: impl FnMut(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = stmt.sqlx().fetch_all(&mut *self.0).await?;
        rows.iter().map(|row| each(row)).collect()
    }
}

/// SQLite's writer thread's connection, inside a job's savepoint.
pub(super) struct Sqlite<'c>(pub(super) &'c rusqlite::Connection);

impl Tx for Sqlite<'_> {
    async fn exec(&mut self, stmt: &Stmt) -> Result<u64, StoreError> {
        let changed = writer::exec(self.0, &stmt.sql, &stmt.sqlite())?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    async fn query<T>(
        &mut self,
        stmt: &Stmt,
        mut each: impl FnMut(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        writer::query(self.0, &stmt.sql, &stmt.sqlite(), |row| each(row))
    }
}

/// A write: its statements and the decisions between them, in one transaction. `Undo`
/// rolls its writes back (a refused write: a lost lease, a spent budget).
pub(super) trait Write: Send + 'static {
    /// What it answers.
    type Out: Send + 'static;

    /// Runs it on `tx`.
    async fn run(self, tx: &mut impl Tx) -> Result<Done<Self::Out>, StoreError>;
}

/// Statements run in order in one transaction; answers the rows each changed.
pub(super) struct Statements(pub(super) Vec<Stmt>);

impl Write for Statements {
    type Out = Vec<u64>;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Vec<u64>>, StoreError> {
        let mut changed = Vec::with_capacity(self.0.len());
        for stmt in &self.0 {
            changed.push(tx.exec(stmt).await?);
        }
        Ok(Done::Keep(changed))
    }
}

/// One statement answering rows, decoded by `decode`.
struct Returning<T> {
    stmt: Stmt,
    decode: fn(&dyn Columns) -> Result<T, StoreError>,
}

impl<T: Send + 'static> Write for Returning<T> {
    type Out = Vec<T>;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Vec<T>>, StoreError> {
        Ok(Done::Keep(tx.query(&self.stmt, self.decode).await?))
    }
}

/// The output of a future that never waits (a write on the writer thread's connection).
fn ready<T>(future: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::Writer(
            "a write waited for something other than its connection".to_owned(),
        )),
    }
}

impl Store {
    /// Runs `work` in one transaction: on SQLite's writer thread (with a database file,
    /// committed with its group), or through sqlx.
    ///
    /// # Errors
    /// `work`'s, the commit's, or a stopped writer.
    pub(super) async fn transact<W: Write>(&self, work: W) -> Result<W::Out, StoreError> {
        if let Some(writer) = &self.writer {
            return writer
                .run(move |conn| ready(work.run(&mut Sqlite(conn))))
                .await;
        }
        let mut tx = self.write.begin().await?;
        match work.run(&mut Sqlx(&mut tx)).await? {
            Done::Keep(out) => {
                tx.commit().await?;
                Ok(out)
            }
            Done::Undo(out) => {
                tx.rollback().await?;
                Ok(out)
            }
        }
    }

    /// Runs one statement that answers rows (`UPDATE … RETURNING`), a transaction of its
    /// own; `decode` reads each.
    ///
    /// # Errors
    /// Database failures, a row that does not decode, or a stopped writer.
    pub(super) async fn returning<T: Send + 'static>(
        &self,
        stmt: Stmt,
        decode: fn(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        if self.writer.is_some() {
            return self.transact(Returning { stmt, decode }).await;
        }
        let rows = stmt.sqlx().fetch_all(&self.write).await?;
        rows.iter().map(|row| decode(row)).collect()
    }

    /// Runs one statement (a transaction of its own); answers the rows it changed.
    ///
    /// # Errors
    /// Database failures, or a stopped writer.
    pub(super) async fn exec(&self, stmt: Stmt) -> Result<u64, StoreError> {
        if self.writer.is_some() {
            let changed = self.transact(Statements(vec![stmt])).await?;
            return Ok(changed.first().copied().unwrap_or(0));
        }
        Ok(stmt.sqlx().execute(&self.write).await?.rows_affected())
    }
}
