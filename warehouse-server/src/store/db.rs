//! One connection interface over both backends. Store code is written
//! once against [`Db`] (a transaction on SQLite or on PostgreSQL), with
//! SQL in the portable subset of [`super::dialect`]; [`Db`] renders each
//! text for its backend and converts values both ways:
//!
//! - parameters are anything rusqlite's [`ToSql`] takes; on PostgreSQL each
//!   one is encoded as the type the server inferred for its placeholder
//!   (an integer bound where text is expected is sent as its decimal text,
//!   as SQLite's type affinity would store it);
//! - row values are read with rusqlite's [`FromSql`]; PostgreSQL columns
//!   are first mapped to SQLite's storage classes (BIGINT/INTEGER/BOOLEAN →
//!   integer, DOUBLE PRECISION → real, TEXT → text, BYTEA → blob), so one
//!   row-mapping closure serves both;
//! - statements are prepared once per connection and cached.
//!
//! PostgreSQL calls block on the store's own runtime; [`Db`] is only
//! used off the async runtime (inside `spawn_blocking`), as SQLite is.

// Rows, statements and transactions borrow live connections: nothing to
// print.
#![allow(missing_debug_implementations)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;

pub(crate) use rusqlite::types::{FromSql, ToSql};
use rusqlite::types::{FromSqlError, ToSqlOutput, Value, ValueRef};
use tokio_postgres::types::{IsNull, ToSql as PgToSql, Type};

use super::dialect::{render, Dialect};
use crate::error::{AppError, Reason};
use crate::events::ChainKey;

/// A database failure, from either backend.
#[derive(Debug)]
pub enum DbError {
    /// A query that must return a row returned none.
    NoRows,
    Sqlite(rusqlite::Error),
    Postgres(tokio_postgres::Error),
    /// A value that does not fit its column or placeholder, or a query
    /// text that is not portable.
    Convert(String),
}

pub type DbResult<T> = Result<T, DbError>;

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::NoRows => f.write_str("query returned no rows"),
            DbError::Sqlite(e) => write!(f, "{e}"),
            DbError::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "{}: {}", db.code().code(), db.message()),
                None => match e.source() {
                    Some(cause) => write!(f, "{e}: {cause}"),
                    None => write!(f, "{e}"),
                },
            },
            DbError::Convert(m) => f.write_str(m),
        }
    }
}

impl StdError for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            e => DbError::Sqlite(e),
        }
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NoRows => AppError::from(rusqlite::Error::QueryReturnedNoRows),
            DbError::Sqlite(e) => AppError::from(e),
            DbError::Postgres(e) => postgres_error(e),
            DbError::Convert(m) => AppError::internal(format!("database value: {m}")),
        }
    }
}

/// PostgreSQL's constraint failures as the same reasons SQLite's give.
fn postgres_error(e: tokio_postgres::Error) -> AppError {
    use tokio_postgres::error::SqlState;
    let Some(db) = e.as_db_error() else {
        return AppError::internal(format!("database error: {}", DbError::Postgres(e)));
    };
    let detail = match db.detail() {
        Some(d) => format!("{}: {d}", db.message()),
        None => db.message().to_owned(),
    };
    // "Key (name)=(x) already exists." → field "name".
    let field = db
        .detail()
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split([')', ',']).next())
        .map(str::to_owned)
        .or_else(|| db.column().map(str::to_owned));
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        Reason::Duplicate { field, detail }.into()
    } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
        Reason::UnknownReference { detail }.into()
    } else if *code == SqlState::CHECK_VIOLATION || *code == SqlState::NOT_NULL_VIOLATION {
        Reason::ConstraintViolated { field, detail }.into()
    } else if db.message().ends_with("is append-only") {
        // The append-only trigger, as SQLite's RAISE(ABORT) reads.
        AppError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some(db.message().to_owned()),
        ))
    } else {
        AppError::internal(format!("database error: {}", DbError::Postgres(e)))
    }
}

/// `.optional()` on a one-row result, as rusqlite's extension.
pub trait OptionalExtension<T> {
    fn optional(self) -> DbResult<Option<T>>;
}

impl<T> OptionalExtension<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Owned parameter values.
pub trait Params {
    fn values(&self) -> DbResult<Vec<Value>>;
}

fn owned(v: &dyn ToSql) -> DbResult<Value> {
    let out = v.to_sql().map_err(DbError::Sqlite)?;
    Ok(match out {
        ToSqlOutput::Borrowed(r) => r.into(),
        ToSqlOutput::Owned(v) => v,
        _ => return Err(DbError::Convert("unsupported parameter kind".into())),
    })
}

impl Params for () {
    fn values(&self) -> DbResult<Vec<Value>> {
        Ok(Vec::new())
    }
}

impl<T: ToSql> Params for [T] {
    fn values(&self) -> DbResult<Vec<Value>> {
        self.iter().map(|v| owned(v)).collect()
    }
}

impl<T: ToSql, const N: usize> Params for [T; N] {
    fn values(&self) -> DbResult<Vec<Value>> {
        self.iter().map(|v| owned(v)).collect()
    }
}

impl<P: Params + ?Sized> Params for &P {
    fn values(&self) -> DbResult<Vec<Value>> {
        (**self).values()
    }
}

impl<T: ToSql> Params for Vec<T> {
    fn values(&self) -> DbResult<Vec<Value>> {
        self.iter().map(|v| owned(v)).collect()
    }
}

macro_rules! tuple_params {
    ($($name:ident)+) => {
        impl<$($name: ToSql),+> Params for ($($name,)+) {
            #[allow(non_snake_case)]
            fn values(&self) -> DbResult<Vec<Value>> {
                let ($($name,)+) = self;
                Ok(vec![$(owned($name)?),+])
            }
        }
    };
}
tuple_params!(A);
tuple_params!(A B);
tuple_params!(A B C);
tuple_params!(A B C D);
tuple_params!(A B C D E);
tuple_params!(A B C D E F);
tuple_params!(A B C D E F G);
tuple_params!(A B C D E F G H);
tuple_params!(A B C D E F G H I);
tuple_params!(A B C D E F G H I J);
tuple_params!(A B C D E F G H I J K);
tuple_params!(A B C D E F G H I J K L);
tuple_params!(A B C D E F G H I J K L M);
tuple_params!(A B C D E F G H I J K L M N);
tuple_params!(A B C D E F G H I J K L M N O);
tuple_params!(A B C D E F G H I J K L M N O P);

/// Parameters from an iterator, as rusqlite's `params_from_iter`.
pub fn params_from_iter<I>(iter: I) -> IterParams
where
    I: IntoIterator,
    I::Item: ToSql,
{
    IterParams(
        iter.into_iter()
            .map(|v| owned(&v))
            .collect::<DbResult<Vec<_>>>(),
    )
}

pub struct IterParams(DbResult<Vec<Value>>);

impl Params for IterParams {
    fn values(&self) -> DbResult<Vec<Value>> {
        match &self.0 {
            Ok(v) => Ok(v.clone()),
            Err(e) => Err(DbError::Convert(e.to_string())),
        }
    }
}

/// Column index of a row (positions only: names differ in case between
/// the backends).
pub trait Idx {
    fn idx(self) -> usize;
}

impl Idx for usize {
    fn idx(self) -> usize {
        self
    }
}

/// One result row.
pub enum Row<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a [Value]),
}

impl Row<'_> {
    pub fn get<I: Idx, T: FromSql>(&self, i: I) -> rusqlite::Result<T> {
        let i = i.idx();
        match self {
            Row::Lite(r) => r.get(i),
            Row::Pg(values) => {
                let v = values
                    .get(i)
                    .ok_or(rusqlite::Error::InvalidColumnIndex(i))?;
                T::column_result(ValueRef::from(v)).map_err(|e| match e {
                    FromSqlError::InvalidType => rusqlite::Error::InvalidColumnType(
                        i,
                        format!("column {i}"),
                        ValueRef::from(v).data_type(),
                    ),
                    FromSqlError::OutOfRange(n) => rusqlite::Error::IntegralValueOutOfRange(i, n),
                    e => rusqlite::Error::FromSqlConversionFailure(
                        i,
                        ValueRef::from(v).data_type(),
                        Box::new(e),
                    ),
                })
            }
        }
    }

    pub fn get_ref(&self, i: usize) -> rusqlite::Result<ValueRef<'_>> {
        match self {
            Row::Lite(r) => r.get_ref(i),
            Row::Pg(values) => values
                .get(i)
                .map(ValueRef::from)
                .ok_or(rusqlite::Error::InvalidColumnIndex(i)),
        }
    }
}

/// The PostgreSQL side of a [`Db`]: a transaction, the runtime its calls
/// block on, and the connection's statement cache.
pub struct PgTx<'a> {
    pub tx: &'a tokio_postgres::Transaction<'a>,
    pub rt: &'a tokio::runtime::Handle,
    pub cache: &'a RefCell<HashMap<String, tokio_postgres::Statement>>,
}

/// A transaction (or read snapshot) on either backend.
pub enum Db<'a> {
    Lite {
        conn: &'a rusqlite::Connection,
        key: &'a ChainKey,
    },
    Pg {
        pg: PgTx<'a>,
        key: &'a ChainKey,
    },
}

impl<'a> Db<'a> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Lite { .. } => Dialect::Sqlite,
            Db::Pg { .. } => Dialect::Postgres,
        }
    }

    /// The key sealing the event chain.
    pub fn chain_key(&self) -> &ChainKey {
        match self {
            Db::Lite { key, .. } | Db::Pg { key, .. } => key,
        }
    }

    /// The SQLite connection, for the code that has a SQLite-only path.
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Lite { conn, .. } => Some(conn),
            Db::Pg { .. } => None,
        }
    }

    pub fn postgres(&self) -> Option<&PgTx<'a>> {
        match self {
            Db::Pg { pg, .. } => Some(pg),
            Db::Lite { .. } => None,
        }
    }

    pub fn execute<P: Params>(&self, sql: &str, params: P) -> DbResult<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> DbResult<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// Runs several statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        let text = rendered(sql, self.dialect())?;
        match self {
            Db::Lite { conn, .. } => Ok(conn.execute_batch(&text)?),
            Db::Pg { pg, .. } => Ok(pg.rt.block_on(pg.tx.batch_execute(&text))?),
        }
    }

    pub fn prepare(&self, sql: &str) -> DbResult<Stmt<'_>> {
        self.prepare_cached(sql)
    }

    pub fn prepare_cached(&self, sql: &str) -> DbResult<Stmt<'_>> {
        match self {
            Db::Lite { conn, .. } => {
                let text = rendered(sql, Dialect::Sqlite)?;
                Ok(Stmt::Lite(conn.prepare_cached(&text)?))
            }
            Db::Pg { pg, .. } => {
                if let Some(s) = pg.cache.borrow().get(sql) {
                    return Ok(Stmt::Pg {
                        pg,
                        stmt: s.clone(),
                    });
                }
                let text = rendered(sql, Dialect::Postgres)?;
                let stmt = pg_prepare(pg, &text)?;
                pg.cache.borrow_mut().insert(sql.to_owned(), stmt.clone());
                Ok(Stmt::Pg { pg, stmt })
            }
        }
    }

    /// A statement in SQLite's own SQL (an index hint, say), for a caller
    /// that has chosen it by [`Db::dialect`]; refused on PostgreSQL.
    pub fn prepare_cached_sqlite_only(&self, sql: &str) -> DbResult<Stmt<'_>> {
        match self {
            Db::Lite { conn, .. } => Ok(Stmt::Lite(conn.prepare_cached(sql)?)),
            Db::Pg { .. } => Err(DbError::Convert(format!(
                "a SQLite-only query was sent to PostgreSQL: {sql}"
            ))),
        }
    }

    /// The id the last INSERT gave (SQLite's rowid; PostgreSQL's
    /// `lastval()`, the identity sequence the insert advanced).
    pub fn last_insert_rowid(&self) -> DbResult<i64> {
        match self {
            Db::Lite { conn, .. } => Ok(conn.last_insert_rowid()),
            Db::Pg { .. } => self.query_row("SELECT lastval()", (), |r| r.get(0)),
        }
    }

    /// Rows changed by the last statement (SQLite only; PostgreSQL's
    /// `execute` returns the count instead).
    pub fn changes(&self) -> u64 {
        match self {
            Db::Lite { conn, .. } => conn.changes(),
            Db::Pg { .. } => 0,
        }
    }
}

/// Types tried, in order, for a parameter PostgreSQL cannot type by
/// itself (one only tested with `IS NULL` before its other use, say).
const GUESSES: [Type; 4] = [Type::INT8, Type::TEXT, Type::BYTEA, Type::FLOAT8];

/// Prepares `text`. A parameter whose type PostgreSQL cannot infer is
/// declared with the first of [`GUESSES`] the statement accepts (SQLite
/// would take any): an INT8 compared with text fails to prepare, and the
/// next guess is tried.
fn pg_prepare(pg: &PgTx<'_>, text: &str) -> DbResult<tokio_postgres::Statement> {
    use tokio_postgres::error::SqlState;
    let unspecified = Type::new(
        "unspecified".into(),
        0,
        tokio_postgres::types::Kind::Pseudo,
        String::new(),
    );
    let mut types: Vec<Type> = Vec::new();
    // (parameter index, guess index) of the parameter guessed last.
    let mut guessing: Option<(usize, usize)> = None;
    for _ in 0..32 {
        // A refused statement aborts the transaction: try it under a
        // savepoint (once per connection and text: prepared ones are
        // cached).
        pg.rt
            .block_on(pg.tx.batch_execute("SAVEPOINT wh_prepare"))?;
        let prepared = if types.is_empty() {
            pg.rt.block_on(pg.tx.prepare(text))
        } else {
            pg.rt.block_on(pg.tx.prepare_typed(text, &types))
        };
        let e = match prepared {
            Ok(s) => {
                pg.rt
                    .block_on(pg.tx.batch_execute("RELEASE SAVEPOINT wh_prepare"))?;
                return Ok(s);
            }
            Err(e) => e,
        };
        pg.rt
            .block_on(pg.tx.batch_execute("ROLLBACK TO SAVEPOINT wh_prepare"))?;
        let code = e.as_db_error().map(|d| d.code().clone());
        let untyped = e
            .as_db_error()
            .filter(|d| {
                [
                    SqlState::INDETERMINATE_DATATYPE,
                    SqlState::AMBIGUOUS_PARAMETER,
                ]
                .contains(d.code())
            })
            .and_then(|d| d.message().rsplit('$').next()?.trim().parse::<usize>().ok())
            .filter(|n| (1..=64).contains(n));
        let mismatch = code.as_ref().is_some_and(|c| {
            [SqlState::UNDEFINED_FUNCTION, SqlState::DATATYPE_MISMATCH].contains(c)
        });
        let next = match (untyped, guessing) {
            (Some(n), _) if types.get(n - 1).is_none_or(|t| t.oid() == 0) => Some((n - 1, 0)),
            (None, Some((k, g))) if mismatch && g + 1 < GUESSES.len() => Some((k, g + 1)),
            _ => None,
        };
        let Some((k, g)) = next else {
            tracing::error!(sql = %text, "PostgreSQL refused a query: {}", DbError::Postgres(e));
            return Err(DbError::Convert(
                "a query the PostgreSQL store sent was refused (see the log)".into(),
            ));
        };
        if types.len() <= k {
            types.resize(k + 1, unspecified.clone());
        }
        types[k] = GUESSES[g].clone();
        guessing = Some((k, g));
    }
    Err(DbError::Convert(format!(
        "no parameter types found for a query: {text}"
    )))
}

fn rendered(sql: &str, dialect: Dialect) -> DbResult<std::borrow::Cow<'_, str>> {
    render(sql, dialect).map_err(|e| {
        let start = sql.trim_start();
        let shown: String = start.chars().take(120).collect();
        let more = if shown.len() < start.len() { "…" } else { "" };
        DbError::Convert(format!("{e} in `{shown}{more}`"))
    })
}

/// A prepared statement on either backend.
pub enum Stmt<'a> {
    Lite(rusqlite::CachedStatement<'a>),
    Pg {
        pg: &'a PgTx<'a>,
        stmt: tokio_postgres::Statement,
    },
}

/// Result rows, read one by one.
pub enum Rows<'s> {
    Lite(rusqlite::Rows<'s>),
    Pg {
        rows: std::vec::IntoIter<Vec<Value>>,
        current: Option<Vec<Value>>,
    },
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> DbResult<Option<Row<'_>>> {
        match self {
            Rows::Lite(rows) => Ok(rows.next()?.map(Row::Lite)),
            Rows::Pg { rows, current } => {
                *current = rows.next();
                Ok(current.as_deref().map(Row::Pg))
            }
        }
    }
}

impl Stmt<'_> {
    pub fn execute<P: Params>(&mut self, params: P) -> DbResult<usize> {
        let values = params.values()?;
        match self {
            Stmt::Lite(s) => Ok(s.execute(rusqlite::params_from_iter(values.iter()))?),
            Stmt::Pg { pg, stmt } => {
                let args = pg_args(stmt, values)?;
                let n = pg.rt.block_on(pg.tx.execute_raw(stmt, args.iter()))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    pub fn query<P: Params>(&mut self, params: P) -> DbResult<Rows<'_>> {
        let values = params.values()?;
        match self {
            Stmt::Lite(s) => Ok(Rows::Lite(s.query(rusqlite::params_from_iter(values))?)),
            Stmt::Pg { pg, stmt } => {
                let rows = pg_query(pg, stmt, values)?;
                Ok(Rows::Pg {
                    rows: rows.into_iter(),
                    current: None,
                })
            }
        }
    }

    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> DbResult<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(r) => Ok(f(&r)?),
            None => Err(DbError::NoRows),
        }
    }

    /// Every row mapped by `f` (read in full before mapping).
    pub fn query_map<T, P, F>(
        &mut self,
        params: P,
        mut f: F,
    ) -> DbResult<std::vec::IntoIter<rusqlite::Result<T>>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> rusqlite::Result<T>,
    {
        let mut rows = self.query(params)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(f(&r));
        }
        Ok(out.into_iter())
    }

    pub fn exists<P: Params>(&mut self, params: P) -> DbResult<bool> {
        let mut rows = self.query(params)?;
        Ok(rows.next()?.is_some())
    }
}

fn pg_query(
    pg: &PgTx<'_>,
    stmt: &tokio_postgres::Statement,
    values: Vec<Value>,
) -> DbResult<Vec<Vec<Value>>> {
    let args = pg_args(stmt, values)?;
    let rows = pg.rt.block_on(async {
        use futures_util::TryStreamExt;
        let stream = pg.tx.query_raw(stmt, args.iter()).await?;
        stream.try_collect::<Vec<_>>().await
    })?;
    rows.iter().map(pg_row).collect()
}

fn pg_args(stmt: &tokio_postgres::Statement, values: Vec<Value>) -> DbResult<Vec<PgValue>> {
    if values.len() != stmt.params().len() {
        return Err(DbError::Convert(format!(
            "{} parameters given, the query has {}",
            values.len(),
            stmt.params().len()
        )));
    }
    Ok(values.into_iter().map(PgValue).collect())
}

/// A row's columns as SQLite storage classes.
fn pg_row(row: &tokio_postgres::Row) -> DbResult<Vec<Value>> {
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Integer)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Integer(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Integer(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Integer(v.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *ty == Type::FLOAT4 {
            row.try_get::<_, Option<f32>>(i)?
                .map(|v| Value::Real(v.into()))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else if *ty == Type::NUMERIC {
            row.try_get::<_, Option<Numeric>>(i)?.map(|n| n.0)
        } else {
            return Err(DbError::Convert(format!(
                "column `{}` has type {ty}, which the store does not read \
                 (cast it to BIGINT, DOUBLE PRECISION or TEXT in the query)",
                col.name()
            )));
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(out)
}

/// A SQLite value sent as the type PostgreSQL inferred for its
/// placeholder.
#[derive(Debug)]
struct PgValue(Value);

fn bad(what: String) -> Box<dyn StdError + Sync + Send> {
    what.into()
}

impl tokio_postgres::types::ToSql for PgValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        let v = &self.0;
        if matches!(v, Value::Null) {
            return Ok(IsNull::Yes);
        }
        let as_i64 = || -> Result<i64, Box<dyn StdError + Sync + Send>> {
            match v {
                Value::Integer(i) => Ok(*i),
                Value::Real(f) if f.fract() == 0.0 => Ok(*f as i64),
                Value::Text(t) => t
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("`{t}` is not an integer for a {ty} parameter"))),
                other => Err(bad(format!("{other:?} given for a {ty} parameter"))),
            }
        };
        if *ty == Type::INT8 {
            PgToSql::to_sql(&as_i64()?, ty, out)
        } else if *ty == Type::INT4 {
            PgToSql::to_sql(&i32::try_from(as_i64()?)?, ty, out)
        } else if *ty == Type::INT2 {
            PgToSql::to_sql(&i16::try_from(as_i64()?)?, ty, out)
        } else if *ty == Type::BOOL {
            PgToSql::to_sql(&(as_i64()? != 0), ty, out)
        } else if *ty == Type::FLOAT8 || *ty == Type::FLOAT4 {
            let f = match v {
                Value::Integer(i) => *i as f64,
                Value::Real(f) => *f,
                other => return Err(bad(format!("{other:?} given for a {ty} parameter"))),
            };
            if *ty == Type::FLOAT8 {
                PgToSql::to_sql(&f, ty, out)
            } else {
                PgToSql::to_sql(&(f as f32), ty, out)
            }
        } else if *ty == Type::BYTEA {
            match v {
                Value::Blob(b) => PgToSql::to_sql(&b.as_slice(), ty, out),
                Value::Text(t) => PgToSql::to_sql(&t.as_bytes(), ty, out),
                other => Err(bad(format!("{other:?} given for a bytea parameter"))),
            }
        } else if [
            Type::TEXT,
            Type::VARCHAR,
            Type::BPCHAR,
            Type::NAME,
            Type::UNKNOWN,
        ]
        .contains(ty)
        {
            match v {
                Value::Text(t) => PgToSql::to_sql(&t.as_str(), &Type::TEXT, out),
                Value::Integer(i) => PgToSql::to_sql(&i.to_string().as_str(), &Type::TEXT, out),
                Value::Real(f) => PgToSql::to_sql(&f.to_string().as_str(), &Type::TEXT, out),
                Value::Blob(_) => Err(bad(format!("bytes given for a {ty} parameter"))),
                Value::Null => Ok(IsNull::Yes),
            }
        } else {
            Err(bad(format!(
                "parameter of type {ty} is not supported by the store"
            )))
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A NUMERIC (PostgreSQL's `SUM` and `AVG` of integers) as an integer
/// when it has no fraction, else as a real.
struct Numeric(Value);

impl<'a> tokio_postgres::types::FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let word = |k: usize| -> Result<u16, Box<dyn StdError + Sync + Send>> {
            raw.get(k * 2..k * 2 + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| bad("short NUMERIC value".into()))
        };
        let ndigits = usize::from(word(0)?);
        let weight = i32::from(word(1)? as i16);
        let sign = word(2)?;
        let dscale = word(3)?;
        if sign == 0xC000 {
            return Err(bad("NUMERIC NaN".into()));
        }
        let overflow = || bad("NUMERIC out of range".into());
        let mut int: i128 = 0;
        let mut frac = 0f64;
        let mut last_power = 0;
        for d in 0..ndigits {
            let digit = i128::from(word(4 + d)?);
            let power = weight - i32::try_from(d).map_err(|_| overflow())?;
            if power >= 0 {
                int = int
                    .checked_mul(10_000)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or_else(overflow)?;
                last_power = power;
            } else {
                frac += (digit as f64) * 10_000f64.powi(power);
            }
        }
        // Trailing zero groups of the integer part are not sent.
        for _ in 0..last_power {
            int = int.checked_mul(10_000).ok_or_else(overflow)?;
        }
        let negative = sign == 0x4000;
        let v = if frac == 0.0 && dscale == 0 {
            let i = i64::try_from(int).map_err(|_| bad("NUMERIC out of range".into()))?;
            Value::Integer(if negative { -i } else { i })
        } else {
            let f = int as f64 + frac;
            Value::Real(if negative { -f } else { f })
        };
        Ok(Numeric(v))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The same statements and row closures on a SQLite file and on a
    /// fresh PostgreSQL database give the same values.
    fn on_both(check: impl Fn(&Store) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let lite = Store::open(&dir.path().join("t.db"), 1, ChainKey::generate())?;
        check(&lite)?;
        let pg = test_support::PgDatabase::create()?;
        let store = Store::open(std::path::Path::new(pg.url()), 1, ChainKey::generate())?;
        check(&store)?;
        Ok(())
    }

    #[test]
    fn values_round_trip_alike_on_both_backends() -> anyhow::Result<()> {
        on_both(|s| {
            let got = s.write_blocking(|c| {
                c.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                    ("名称", "公物仓 \u{1F4E6}"),
                )?;
                // An integer bound where text is expected is its decimal text.
                c.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                    ("n", 42_i64),
                )?;
                let text: String = c.query_row(
                    "SELECT value FROM settings WHERE key = ?1",
                    ["名称"],
                    |r| r.get(0),
                )?;
                let n: String =
                    c.query_row("SELECT value FROM settings WHERE key = ?1", ["n"], |r| {
                        r.get(0)
                    })?;
                // Untyped parameters (only tested with IS NULL) are accepted.
                let both: i64 = c.query_row(
                    "SELECT count(*) FROM settings WHERE (?1 IS NULL OR key = ?1)",
                    [None::<String>],
                    |r| r.get(0),
                )?;
                // SUM of integers is an integer, EXISTS a boolean read as 0/1,
                // a fraction a real.
                let (sum, exists, avg): (i64, bool, f64) = c.query_row(
                    "SELECT CAST(SUM(length(key)) AS BIGINT) + SUM(1), \
                     EXISTS(SELECT 1 FROM settings WHERE key = 'n'), AVG(1.5) FROM settings",
                    (),
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                let none = c
                    .query_row("SELECT value FROM settings WHERE key = ?1", ["x"], |r| {
                        r.get::<_, String>(0)
                    })
                    .optional()?;
                Ok((text, n, both, sum, exists, avg, none))
            })?;
            assert_eq!(
                got,
                (
                    "公物仓 \u{1F4E6}".to_owned(),
                    "42".to_owned(),
                    2,
                    2 + 1 + 2,
                    true,
                    1.5,
                    None
                )
            );
            // Bytes and the largest integers survive.
            let (blob, big): (Vec<u8>, i64) = s.write_blocking(|c| {
                c.execute(
                    "INSERT INTO stocktake_scans (stocktake_id, epc, first_seen) VALUES (?1, ?2, ?3)",
                    (1_i64, vec![0_u8, 255, 7], i64::MAX),
                )?;
                Ok(c.query_row(
                    "SELECT epc, first_seen FROM stocktake_scans WHERE stocktake_id = ?1",
                    [1_i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })?;
            assert_eq!((blob, big), (vec![0, 255, 7], i64::MAX));
            Ok(())
        })
    }

    #[test]
    fn a_duplicate_is_the_same_reason_on_both_backends() -> anyhow::Result<()> {
        on_both(|s| {
            let e = s
                .write_blocking(|c| {
                    c.execute("INSERT INTO settings (key, value) VALUES ('k', 'a')", ())?;
                    c.execute("INSERT INTO settings (key, value) VALUES ('k', 'b')", ())?;
                    Ok(())
                })
                .err()
                .ok_or_else(|| anyhow::anyhow!("a duplicate key was stored"))?;
            assert!(matches!(*e.reason, Reason::Duplicate { .. }), "{e:?}");
            // Nothing of the failed transaction stayed.
            let n: i64 = s.read_blocking(|c| {
                Ok(
                    c.query_row("SELECT count(*) FROM settings WHERE key = 'k'", (), |r| {
                        r.get(0)
                    })?,
                )
            })?;
            assert_eq!(n, 0);
            Ok(())
        })
    }

    #[test]
    fn sqlite_only_sql_is_refused_before_it_reaches_either_backend() -> anyhow::Result<()> {
        on_both(|s| {
            let e = s
                .read_blocking(|c| {
                    Ok(c.query_row("SELECT ifnull(NULL, 1)", (), |r| r.get::<_, i64>(0))?)
                })
                .err()
                .ok_or_else(|| anyhow::anyhow!("ifnull ran"))?;
            assert!(format!("{e:?}").contains("COALESCE"), "{e:?}");
            Ok(())
        })
    }
}
