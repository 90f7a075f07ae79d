//! The single writer, with group commit.
//!
//! SQLite takes one writer at a time, so every write of the store runs on one connection,
//! owned by one thread. Writes queue in a channel (fairly, in arrival order) instead of
//! spinning on `SQLITE_BUSY`. The thread runs them back to back inside one
//! `BEGIN IMMEDIATE` transaction per *group*: whatever is queued when a group starts, up
//! to [`MAX_GROUP`] writes, is committed together. Committing is the expensive part of a
//! write (every page the write dirtied goes to the WAL, and consecutive writes dirty
//! mostly the same pages: the right edge of each table and index), so a burst of writes
//! costs about as much to commit as one of them. With nothing else queued a group is a
//! single write, committed at once.
//!
//! Each write after the first of a group runs in its own savepoint: one that fails is
//! rolled back alone and the rest of its group commits. Callers get their answer only after their group has committed
//! (or failed to), so a write that returned `Ok` is durable, and visible to every read
//! that starts after it. Writes are applied, and committed, in the order they were
//! queued, which is also the order of the feed positions they draw.
//!
//! A write cannot be abandoned half-way: once queued it runs to completion on the writer
//! thread even if the caller stops waiting. The thread has its own runtime, so the store
//! keeps working whichever runtime the callers (or whoever opened it) run on.

use futures::FutureExt as _;
use sq_store::StoreError;
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// The most writes committed together: bounds the wait of the first one in a group.
const MAX_GROUP: usize = 32;
/// Writes waiting beyond this many make callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

type Outcome = (bool, Box<dyn FnOnce(Option<&str>) + Send>);

/// A queued write, type-erased: runs on the writer's connection and says whether it
/// succeeded, with the reply to send once the fate of its group is known.
trait Job: Send {
    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut SqliteConnection,
    ) -> Pin<Box<dyn Future<Output = Outcome> + 'c>>;

    /// Answers a job that could not run (no connection, no transaction).
    fn fail(self: Box<Self>, error: String);
}

struct Typed<F, T> {
    f: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for Typed<F, T>
where
    F: AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut SqliteConnection,
    ) -> Pin<Box<dyn Future<Output = Outcome> + 'c>> {
        let Typed { f, reply } = *self;
        Box::pin(async move {
            let result = f(conn).await;
            let ok = result.is_ok();
            let send = move |commit_error: Option<&str>| {
                let answer = match (result, commit_error) {
                    (Ok(v), None) => Ok(v),
                    (Ok(_), Some(e)) => Err(StoreError::Backend(format!("commit: {e}"))),
                    (Err(e), _) => Err(e),
                };
                // The caller may have stopped waiting; the write stands regardless.
                let _ = reply.send(answer);
            };
            (ok, Box::new(send) as Box<dyn FnOnce(Option<&str>) + Send>)
        })
    }

    fn fail(self: Box<Self>, error: String) {
        let _ = self.reply.send(Err(StoreError::Backend(error)));
    }
}

enum Msg {
    Job(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// Handle to the writer thread. Cloning shares the thread; it stops when the last handle
/// is dropped or [`Writer::close`] is called.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Msg>,
}

fn closed() -> StoreError {
    StoreError::Backend("the store's writer has stopped".into())
}

impl Writer {
    /// Starts the writer thread on an open connection; `opts` reopens it after a failure.
    pub(crate) fn start(
        conn: SqliteConnection,
        opts: SqliteConnectOptions,
    ) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("writer runtime: {e}")))?;
        std::thread::Builder::new()
            .name("sq-sqlite-writer".into())
            .spawn(move || runtime.block_on(run(conn, opts, rx)))
            .map_err(|e| StoreError::Backend(format!("writer thread: {e}")))?;
        Ok(Writer { tx })
    }

    /// Runs `f` as one atomic write (see the module docs) and returns its result once
    /// committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Msg::Job(Box::new(Typed { f, reply })))
            .await
            .map_err(|_| closed())?;
        // A job that panicked drops its reply: report it as a failed write.
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Finishes the queued writes, then closes the connection.
    pub(crate) async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(drop)
}

async fn run(conn: SqliteConnection, opts: SqliteConnectOptions, mut rx: mpsc::Receiver<Msg>) {
    let mut conn = Some(conn);
    while let Some(msg) = rx.recv().await {
        let first = match msg {
            Msg::Job(job) => job,
            Msg::Close(ack) => {
                shut(conn.take(), ack).await;
                return;
            }
        };
        // A connection that failed is replaced for the next group.
        if conn.is_none() {
            match SqliteConnection::connect_with(&opts).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    first.fail(e.to_string());
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(e) = exec(c, "BEGIN IMMEDIATE").await {
            conn = None;
            first.fail(e.to_string());
            continue;
        }
        // The first write of a group needs no savepoint: if it fails, the whole
        // transaction is rolled back (it holds nothing else) and the next write starts a
        // new group. Most groups under light load are that one write.
        let outcome = AssertUnwindSafe(first.run(c)).catch_unwind().await;
        let first_reply = match outcome {
            Ok((true, reply)) => reply,
            failed => {
                if exec(c, "ROLLBACK").await.is_err() {
                    conn = None;
                }
                if let Ok((_, reply)) = failed {
                    reply(None);
                }
                continue;
            }
        };
        let mut replies = vec![first_reply];
        let mut close = None;
        let mut broken = None;
        // Later writes run in savepoint `job`. One round trip between two writes: after
        // a success, `RELEASE job; SAVEPOINT job` keeps it and opens the next; after a
        // failure, `ROLLBACK TO job` undoes it and leaves the savepoint open for the next.
        // COMMIT releases whatever is open at the end.
        let mut clean = false; // the savepoint is open and holds nothing
        while replies.len() < MAX_GROUP {
            let job = match rx.try_recv() {
                Ok(Msg::Job(job)) => job,
                Ok(Msg::Close(ack)) => {
                    close = Some(ack);
                    break;
                }
                Err(_) => break,
            };
            let opened = if clean {
                Ok(())
            } else if replies.len() == 1 {
                exec(c, "SAVEPOINT job").await
            } else {
                exec(c, "RELEASE job; SAVEPOINT job").await
            };
            if let Err(e) = opened {
                job.fail(e.to_string());
                broken = Some(e.to_string());
                break;
            }
            match AssertUnwindSafe(job.run(c)).catch_unwind().await {
                Ok((true, reply)) => {
                    replies.push(reply);
                    clean = false;
                }
                failed => {
                    // The job's effects go; its reply (an error) can go at once.
                    if let Err(e) = exec(c, "ROLLBACK TO job").await {
                        broken = Some(e.to_string());
                    }
                    // A panicked job dropped its reply: its caller hears of a failure.
                    if let Ok((_, reply)) = failed {
                        reply(None);
                    }
                    if broken.is_some() {
                        break;
                    }
                    clean = true;
                }
            }
        }
        let error = match broken {
            Some(e) => Some(e),
            None => exec(c, "COMMIT").await.err().map(|e| e.to_string()),
        };
        if error.is_some() && exec(c, "ROLLBACK").await.is_err() {
            // Not sure what state the connection is in: start afresh.
            conn = None;
        }
        for reply in replies {
            reply(error.as_deref());
        }
        if let Some(ack) = close {
            shut(conn.take(), ack).await;
            return;
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
}

async fn shut(conn: Option<SqliteConnection>, ack: oneshot::Sender<()>) {
    if let Some(c) = conn {
        let _ = c.close().await;
    }
    let _ = ack.send(());
}
