//! The single writer: SQLite takes one writer at a time, so every write of the store runs
//! on one connection through the group-commit writer of `sq_store::group`. Writes queue
//! (fairly, in arrival order) instead of spinning on `SQLITE_BUSY`, and whatever queued
//! while a group ran is committed as the next group, in one `BEGIN IMMEDIATE`
//! transaction: consecutive writes dirty mostly the same pages (the right edge of each
//! table and index), so a burst costs about as much to commit as one write.

use sq_store::StoreError;
use sq_store::group::{Driver, GroupSettings, GroupWriter};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// The most writes committed together: bounds the wait of the first one in a group.
const MAX_GROUP: usize = 32;
/// Writes waiting beyond this many make callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

/// Opens (and reopens, after a failure) the writer's connection.
pub(crate) struct Sqlite(SqliteConnectOptions);

impl Driver for Sqlite {
    type Conn = SqliteConnection;

    async fn connect(&self) -> Result<SqliteConnection, String> {
        SqliteConnection::connect_with(&self.0)
            .await
            .map_err(|e| e.to_string())
    }

    async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<(), String> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn close(conn: SqliteConnection) {
        let _ = conn.close().await;
    }
}

pub(crate) type Writer = GroupWriter<Sqlite>;

/// Starts the writer thread on an open connection; `opts` reopens it after a failure.
pub(crate) fn start(
    conn: SqliteConnection,
    opts: SqliteConnectOptions,
) -> Result<Writer, StoreError> {
    let settings = GroupSettings {
        name: "sq-sqlite-writer".into(),
        begin: "BEGIN IMMEDIATE",
        max_group: MAX_GROUP,
        queue: QUEUE,
    };
    GroupWriter::start(Sqlite(opts), Some(conn), settings)
}
