//! One way to run a statement on either backend. A statement is written once, in the SQL
//! both SQLite and PostgreSQL accept (`$1` placeholders, `RETURNING`, `ON CONFLICT`,
//! `CAST(SUM(…) AS BIGINT)`); its arguments are collected as [`Arg`]s — the few kinds the
//! schemas use — and bound to the backend's own argument type only when it runs, so the
//! calling code is one function, not one per database. Rows decode with `sqlx::FromRow`,
//! which derives for both backends at once, and — for the statements SQLite runs on the
//! calling thread (server/db/lite.rs) — with `LiteRow`, derived beside it.

use std::marker::PhantomData;
use std::sync::Arc;

use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use sqlx::{
    Arguments, PgConnection, PgPool, Postgres, SqlSafeStr, SqlStr, Sqlite, SqliteConnection,
    SqlitePool,
};

use super::group::Writer;
use super::lite;
use super::{Db, Tx};
use crate::server::clock::Stamp;

/// An argument, in the kinds the schemas hold. `None` binds a typed NULL (PostgreSQL
/// wants to know what the NULL stands for).
#[derive(Debug, Clone)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Flag(Option<bool>),
    Instant(Option<Stamp>),
    Bytes(Option<Vec<u8>>),
    /// A calendar day: `YYYY-MM-DD` text on SQLite, `date` on PostgreSQL.
    Day(Option<time::Date>),
}

/// A value that can be bound by reference.
pub trait ToArg {
    const NULL: Arg;
    fn to_arg(&self) -> Arg;
}

/// What `.bind(…)` takes: the values of [`ToArg`], owned or borrowed, and options of them.
pub trait IntoArg {
    const NULL: Arg;
    fn into_arg(self) -> Arg;
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            const NULL: Arg = Arg::Int(None);
            fn to_arg(&self) -> Arg {
                Arg::Int(Some(i64::from(*self)))
            }
        }
        impl IntoArg for $t {
            const NULL: Arg = Arg::Int(None);
            fn into_arg(self) -> Arg {
                self.to_arg()
            }
        }
    )*};
}
int_args!(i64, i32, u16, u32);

impl ToArg for bool {
    const NULL: Arg = Arg::Flag(None);
    fn to_arg(&self) -> Arg {
        Arg::Flag(Some(*self))
    }
}
impl IntoArg for bool {
    const NULL: Arg = Arg::Flag(None);
    fn into_arg(self) -> Arg {
        Arg::Flag(Some(self))
    }
}

impl ToArg for str {
    const NULL: Arg = Arg::Text(None);
    fn to_arg(&self) -> Arg {
        Arg::Text(Some(self.to_owned()))
    }
}
impl ToArg for String {
    const NULL: Arg = Arg::Text(None);
    fn to_arg(&self) -> Arg {
        Arg::Text(Some(self.clone()))
    }
}
impl IntoArg for String {
    const NULL: Arg = Arg::Text(None);
    fn into_arg(self) -> Arg {
        Arg::Text(Some(self))
    }
}

impl ToArg for Stamp {
    const NULL: Arg = Arg::Instant(None);
    fn to_arg(&self) -> Arg {
        Arg::Instant(Some(*self))
    }
}
impl IntoArg for Stamp {
    const NULL: Arg = Arg::Instant(None);
    fn into_arg(self) -> Arg {
        Arg::Instant(Some(self))
    }
}

impl ToArg for shared::money::Kopecks {
    const NULL: Arg = Arg::Int(None);
    fn to_arg(&self) -> Arg {
        Arg::Int(Some(self.get()))
    }
}
impl IntoArg for shared::money::Kopecks {
    const NULL: Arg = Arg::Int(None);
    fn into_arg(self) -> Arg {
        self.to_arg()
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    const NULL: Arg = T::NULL;
    fn to_arg(&self) -> Arg {
        (**self).to_arg()
    }
}

impl ToArg for time::Date {
    const NULL: Arg = Arg::Day(None);
    fn to_arg(&self) -> Arg {
        Arg::Day(Some(*self))
    }
}
impl IntoArg for time::Date {
    const NULL: Arg = Arg::Day(None);
    fn into_arg(self) -> Arg {
        Arg::Day(Some(self))
    }
}

impl ToArg for Vec<u8> {
    const NULL: Arg = Arg::Bytes(None);
    fn to_arg(&self) -> Arg {
        Arg::Bytes(Some(self.clone()))
    }
}
impl IntoArg for Vec<u8> {
    const NULL: Arg = Arg::Bytes(None);
    fn into_arg(self) -> Arg {
        Arg::Bytes(Some(self))
    }
}

impl<T: ToArg> ToArg for Option<T> {
    const NULL: Arg = T::NULL;
    fn to_arg(&self) -> Arg {
        self.as_ref().map_or(T::NULL, ToArg::to_arg)
    }
}

impl<T: ToArg + ?Sized> IntoArg for &T {
    const NULL: Arg = T::NULL;
    fn into_arg(self) -> Arg {
        self.to_arg()
    }
}

impl<T: IntoArg> IntoArg for Option<T> {
    const NULL: Arg = T::NULL;
    fn into_arg(self) -> Arg {
        self.map_or(T::NULL, IntoArg::into_arg)
    }
}

/// Where a statement runs: a pool (a connection of its own) or an open transaction. A
/// SQLite pool's writes run on its writer, each a transaction of its own in a group.
pub enum Exec<'a> {
    SqlitePool(&'a SqlitePool, Option<&'a Arc<Writer>>),
    PgPool(&'a PgPool),
    SqliteConn(&'a mut SqliteConnection),
    /// The group writer's connection, in a transaction: statements on this thread.
    Lite(&'a mut rusqlite::Connection),
    PgConn(&'a mut PgConnection),
}

impl<'a> From<&'a Db> for Exec<'a> {
    fn from(db: &'a Db) -> Self {
        match db {
            Db::Sqlite(pool, writer) => Exec::SqlitePool(pool, writer.as_ref()),
            Db::Postgres(pool) => Exec::PgPool(pool),
        }
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        match tx {
            Tx::Sqlite(tx) => Exec::SqliteConn(tx),
            Tx::Group(tx) => Exec::Lite(tx.conn()),
            Tx::Postgres(tx) => Exec::PgConn(tx),
        }
    }
}

/// A row type both backends can decode.
pub trait Row:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + lite::LiteRow
    + Send
    + Unpin
{
}
impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + lite::LiteRow
        + Send
        + Unpin
{
}

/// Whether `sql` only reads (a SELECT): it may run beside the writer. Anything else —
/// a write, or a WITH that may end in one — goes to the writer.
fn is_read(sql: &SqlStr) -> bool {
    sql.as_str()
        .trim_start()
        .get(..6)
        .is_some_and(|head| head.eq_ignore_ascii_case("SELECT"))
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// The arguments in the backend's own types.
fn arguments<DB: sqlx::Database>(args: Vec<Arg>) -> Result<DB::Arguments, sqlx::Error>
where
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<bool>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<Stamp>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<time::Date>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut out = DB::Arguments::default();
    for arg in args {
        match arg {
            Arg::Int(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::Flag(v) => out.add(v),
            Arg::Instant(v) => out.add(v),
            Arg::Bytes(v) => out.add(v),
            Arg::Day(v) => out.add(v),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

fn sqlite_args(args: Vec<Arg>) -> Result<SqliteArguments, sqlx::Error> {
    arguments::<Sqlite>(args)
}

fn pg_args(args: Vec<Arg>) -> Result<PgArguments, sqlx::Error> {
    arguments::<Postgres>(args)
}

/// A statement whose rows (if any) are not read. Start with [`query`].
#[must_use = "a statement does nothing until it is executed"]
pub struct Query {
    sql: SqlStr,
    args: Vec<Arg>,
}

/// A statement written once for both backends.
pub fn query(sql: impl SqlSafeStr) -> Query {
    Query {
        sql: sql.into_sql_str(),
        args: Vec::new(),
    }
}

/// A statement whose rows decode as `T` (a `FromRow` struct or a tuple).
pub fn query_as<T: Row>(sql: impl SqlSafeStr) -> QueryAs<T> {
    QueryAs {
        sql: sql.into_sql_str(),
        args: Vec::new(),
        lookup: false,
        row: PhantomData,
    }
}

impl Query {
    pub fn bind(mut self, value: impl IntoArg) -> Self {
        self.args.push(value.into_arg());
        self
    }

    pub async fn execute<'a>(self, on: impl Into<Exec<'a>>) -> Result<Done, sqlx::Error> {
        let rows = match on.into() {
            Exec::SqlitePool(_, Some(writer)) => {
                let mut tx = writer.begin().await?;
                let rows = lite::execute(tx.conn(), self.sql.as_str(), &self.args)?;
                tx.commit().await?;
                rows
            }
            Exec::Lite(conn) => lite::execute(conn, self.sql.as_str(), &self.args)?,
            Exec::SqlitePool(pool, None) => {
                sqlx::query_with::<Sqlite, _>(self.sql, sqlite_args(self.args)?)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
            Exec::SqliteConn(conn) => {
                sqlx::query_with::<Sqlite, _>(self.sql, sqlite_args(self.args)?)
                    .execute(conn)
                    .await?
                    .rows_affected()
            }
            Exec::PgPool(pool) => sqlx::query_with::<Postgres, _>(self.sql, pg_args(self.args)?)
                .execute(pool)
                .await?
                .rows_affected(),
            Exec::PgConn(conn) => sqlx::query_with::<Postgres, _>(self.sql, pg_args(self.args)?)
                .execute(conn)
                .await?
                .rows_affected(),
        };
        Ok(Done { rows })
    }
}

/// See [`query_as`].
#[must_use = "a statement does nothing until it is fetched"]
pub struct QueryAs<T> {
    sql: SqlStr,
    args: Vec<Arg>,
    /// A short indexed read of the payment path: on SQLite, run on this thread.
    lookup: bool,
    row: PhantomData<fn() -> T>,
}

macro_rules! fetch {
    ($self:ident, $on:ident, $method:ident, $lite:expr) => {
        match $on.into() {
            // A statement that writes (INSERT … RETURNING, UPDATE … RETURNING) goes to the
            // writer as a transaction of its own; a SELECT to a reading connection — one
            // beside the writer on this thread if it is a lookup, sqlx's pool otherwise —
            // and, before it returns, waits until what it saw is durable
            // (server/db/durable.rs: a commit is visible before the syncer's fsync).
            Exec::SqlitePool(_, Some(writer)) if !is_read(&$self.sql) => {
                let mut tx = writer.begin().await?;
                let rows = $lite(tx.conn(), $self.sql.as_str(), &$self.args)?;
                tx.commit().await?;
                Ok(rows)
            }
            Exec::SqlitePool(_, Some(writer)) if $self.lookup => {
                let read = writer
                    .readers()
                    .with(|conn| $lite(conn, $self.sql.as_str(), &$self.args));
                writer.settle().await?;
                read
            }
            Exec::Lite(conn) => $lite(conn, $self.sql.as_str(), &$self.args),
            Exec::SqlitePool(pool, writer) => {
                let read = sqlx::query_as_with::<Sqlite, T, _>($self.sql, sqlite_args($self.args)?)
                    .$method(pool)
                    .await;
                if let Some(writer) = writer {
                    writer.settle().await?;
                }
                read
            }
            Exec::SqliteConn(conn) => {
                sqlx::query_as_with::<Sqlite, T, _>($self.sql, sqlite_args($self.args)?)
                    .$method(conn)
                    .await
            }
            Exec::PgPool(pool) => {
                sqlx::query_as_with::<Postgres, T, _>($self.sql, pg_args($self.args)?)
                    .$method(pool)
                    .await
            }
            Exec::PgConn(conn) => {
                sqlx::query_as_with::<Postgres, T, _>($self.sql, pg_args($self.args)?)
                    .$method(conn)
                    .await
            }
        }
    };
}

/// The first row or `RowNotFound`, as sqlx's `fetch_one`.
fn lite_fetch_one<T: lite::LiteRow>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<T, sqlx::Error> {
    lite::fetch_optional(conn, sql, args)?.ok_or(sqlx::Error::RowNotFound)
}

impl<T: Row> QueryAs<T> {
    pub fn bind(mut self, value: impl IntoArg) -> Self {
        self.args.push(value.into_arg());
        self
    }

    /// Marks a read as a lookup: an indexed read of a few rows on the payment path. On
    /// SQLite it runs on the calling thread, on a read-only connection beside the writer,
    /// instead of a round trip to sqlx's connection thread (server/db/lite.rs). Never for
    /// a scan: that would hold up this thread's other requests for as long as it runs.
    pub fn lookup(mut self) -> Self {
        self.lookup = true;
        self
    }

    pub async fn fetch_one<'a>(self, on: impl Into<Exec<'a>>) -> Result<T, sqlx::Error> {
        fetch!(self, on, fetch_one, lite_fetch_one::<T>)
    }

    pub async fn fetch_optional<'a>(
        self,
        on: impl Into<Exec<'a>>,
    ) -> Result<Option<T>, sqlx::Error> {
        fetch!(self, on, fetch_optional, lite::fetch_optional::<T>)
    }

    /// The rows one at a time, for results too large to hold (a year's report).
    pub fn fetch(self, db: &Db) -> futures::stream::BoxStream<'_, Result<T, sqlx::Error>>
    where
        T: 'static,
    {
        use futures::StreamExt;
        match db {
            Db::Sqlite(pool, _) => match sqlite_args(self.args) {
                Ok(args) => sqlx::query_as_with::<Sqlite, T, _>(self.sql, args).fetch(pool),
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            },
            Db::Postgres(pool) => match pg_args(self.args) {
                Ok(args) => sqlx::query_as_with::<Postgres, T, _>(self.sql, args).fetch(pool),
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            },
        }
    }

    pub async fn fetch_all<'a>(self, on: impl Into<Exec<'a>>) -> Result<Vec<T>, sqlx::Error> {
        fetch!(self, on, fetch_all, lite::fetch_all::<T>)
    }
}
