//! Group commit: one connection, on its own thread, that runs queued writes back to back
//! and commits them together. Both backends write through it (SQLite: the one writer the
//! file allows; PostgreSQL: one lane per shard of tenants).
//!
//! Why: committing is the expensive part of a small write (a WAL flush, an `fsync`), and
//! on a hot queue every write also waits for the same few row locks (the queue's day
//! counter, the tenant's audit head). Taken one transaction at a time, those locks are
//! held across a commit each; taken by one connection for a group of writes, they are
//! held once and the commit is paid once. Under load a group fills with whatever queued
//! during the previous commit; alone, a write is a group of one and commits at once.
//!
//! Each write after the first of a group runs in its own savepoint: one that fails is
//! rolled back alone and the rest of its group commits. Callers get their answer only
//! after their group has committed (or failed to), so a write that returned `Ok` is
//! durable and visible to every read that starts after it. Writes are applied, and
//! committed, in the order they were queued.
//!
//! A write cannot be abandoned half-way: once queued it runs to completion on the writer
//! thread even if the caller stops waiting. The thread has its own runtime, so the writer
//! keeps working whichever runtime the callers (or whoever opened it) run on.

use crate::StoreError;
use futures::FutureExt as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// What a backend gives its writer: how to open a connection, and how to run plain SQL
/// text (possibly several statements) on it for transaction and savepoint control.
pub trait Driver: Send + 'static {
    type Conn: 'static;
    /// Opens the connection, on the writer's own runtime: lazily, and after a failure.
    fn connect(&self) -> impl Future<Output = Result<Self::Conn, String>>;
    fn exec(conn: &mut Self::Conn, sql: &str) -> impl Future<Output = Result<(), String>>;
    fn close(conn: Self::Conn) -> impl Future<Output = ()>;
}

/// How a writer opens transactions and groups writes.
#[derive(Debug)]
pub struct GroupSettings {
    /// The writer thread's name.
    pub name: String,
    /// Starts a group (`BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL).
    pub begin: &'static str,
    /// The most writes committed together: bounds the wait of the first one in a group.
    pub max_group: usize,
    /// Writes waiting beyond this many make callers wait to queue (back-pressure).
    pub queue: usize,
}

type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// A queued write, type-erased: runs on the writer's connection and says whether it
/// succeeded, with the reply to send once the fate of its group is known.
trait Job<C>: Send {
    /// SQL run in the same round trip as whatever opens the job (its savepoint).
    fn prelude(&self) -> Option<&str>;
    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut C,
    ) -> Pin<Box<dyn Future<Output = (bool, Reply)> + 'c>>;
    /// Answers a job that could not run (no connection, no transaction).
    fn fail(self: Box<Self>, error: String);
}

struct Typed<F, T> {
    prelude: Option<String>,
    f: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<C, F, T> Job<C> for Typed<F, T>
where
    C: 'static,
    F: AsyncFnOnce(&mut C) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    fn prelude(&self) -> Option<&str> {
        self.prelude.as_deref()
    }

    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut C,
    ) -> Pin<Box<dyn Future<Output = (bool, Reply)> + 'c>> {
        let Typed { f, reply, .. } = *self;
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
            (ok, Box::new(send) as Reply)
        })
    }

    fn fail(self: Box<Self>, error: String) {
        let _ = self.reply.send(Err(StoreError::Backend(error)));
    }
}

enum Msg<C> {
    Job(Box<dyn Job<C>>),
    Close(oneshot::Sender<()>),
}

/// Handle to a writer thread. Cloning shares the thread; it stops when the last handle is
/// dropped or [`GroupWriter::close`] is called.
pub struct GroupWriter<D: Driver> {
    tx: mpsc::Sender<Msg<D::Conn>>,
}

impl<D: Driver> Clone for GroupWriter<D> {
    fn clone(&self) -> Self {
        GroupWriter {
            tx: self.tx.clone(),
        }
    }
}

impl<D: Driver> std::fmt::Debug for GroupWriter<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter").finish_non_exhaustive()
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store's writer has stopped".into())
}

impl<D: Driver> GroupWriter<D> {
    /// Starts the writer thread. `conn` is used first if given (it must not be tied to
    /// another runtime's IO driver: SQLite's worker-thread connections are not); otherwise
    /// the driver connects on the writer's own runtime when the first write comes.
    pub fn start(
        driver: D,
        conn: Option<D::Conn>,
        settings: GroupSettings,
    ) -> Result<GroupWriter<D>, StoreError>
    where
        D::Conn: Send,
    {
        let (tx, rx) = mpsc::channel(settings.queue);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("writer runtime: {e}")))?;
        std::thread::Builder::new()
            .name(settings.name.clone())
            .spawn(move || runtime.block_on(run(driver, conn, settings, rx)))
            .map_err(|e| StoreError::Backend(format!("writer thread: {e}")))?;
        Ok(GroupWriter { tx })
    }

    /// Runs `f` as one atomic write (see the module docs), with `prelude` run first in the
    /// same round trip as its savepoint, and returns its result once committed.
    pub async fn write<T, F>(&self, prelude: Option<String>, f: F) -> Result<T, StoreError>
    where
        F: AsyncFnOnce(&mut D::Conn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Typed { prelude, f, reply };
        self.tx
            .send(Msg::Job(Box::new(job)))
            .await
            .map_err(|_| closed())?;
        // A job that panicked drops its reply: report it as a failed write.
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Finishes the queued writes, then closes the connection.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

/// `open` followed by the job's prelude, as one text.
fn opening(open: &str, job: &dyn Job<impl Sized>) -> String {
    match job.prelude() {
        Some(p) if open.is_empty() => p.to_owned(),
        Some(p) => format!("{open}; {p}"),
        None => open.to_owned(),
    }
}

async fn run<D: Driver>(
    driver: D,
    mut conn: Option<D::Conn>,
    settings: GroupSettings,
    mut rx: mpsc::Receiver<Msg<D::Conn>>,
) {
    while let Some(msg) = rx.recv().await {
        let first = match msg {
            Msg::Job(job) => job,
            Msg::Close(ack) => {
                shut::<D>(conn.take(), ack).await;
                return;
            }
        };
        // A connection that failed is replaced for the next group.
        if conn.is_none() {
            match driver.connect().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    first.fail(e);
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(e) = D::exec(c, &opening(settings.begin, first.as_ref())).await {
            // The connection may be fine (a bad prelude) or gone: start afresh either way.
            if D::exec(c, "ROLLBACK").await.is_err() {
                conn = None;
            }
            first.fail(e);
            continue;
        }
        // The first write of a group needs no savepoint: if it fails, the whole
        // transaction is rolled back (it holds nothing else) and the next write starts a
        // new group. Most groups under light load are that one write.
        let outcome = AssertUnwindSafe(first.run(c)).catch_unwind().await;
        let first_reply = match outcome {
            Ok((true, reply)) => reply,
            failed => {
                if D::exec(c, "ROLLBACK").await.is_err() {
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
        while replies.len() < settings.max_group {
            let job = match rx.try_recv() {
                Ok(Msg::Job(job)) => job,
                Ok(Msg::Close(ack)) => {
                    close = Some(ack);
                    break;
                }
                Err(_) => break,
            };
            let open = if clean {
                ""
            } else if replies.len() == 1 {
                "SAVEPOINT job"
            } else {
                "RELEASE job; SAVEPOINT job"
            };
            let sql = opening(open, job.as_ref());
            let opened = if sql.is_empty() {
                Ok(())
            } else {
                D::exec(c, &sql).await
            };
            if let Err(e) = opened {
                // The transaction is in an unknown state: the whole group is rolled back.
                job.fail(e.clone());
                broken = Some(e);
                break;
            }
            match AssertUnwindSafe(job.run(c)).catch_unwind().await {
                Ok((true, reply)) => {
                    replies.push(reply);
                    clean = false;
                }
                failed => {
                    // The job's effects go; its reply (an error) can go at once.
                    if let Err(e) = D::exec(c, "ROLLBACK TO job").await {
                        broken = Some(e);
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
            None => D::exec(c, "COMMIT").await.err(),
        };
        if error.is_some() && D::exec(c, "ROLLBACK").await.is_err() {
            // Not sure what state the connection is in: start afresh.
            conn = None;
        }
        for reply in replies {
            reply(error.as_deref());
        }
        if let Some(ack) = close {
            shut::<D>(conn.take(), ack).await;
            return;
        }
    }
    if let Some(c) = conn {
        D::close(c).await;
    }
}

async fn shut<D: Driver>(conn: Option<D::Conn>, ack: oneshot::Sender<()>) {
    if let Some(c) = conn {
        D::close(c).await;
    }
    let _ = ack.send(());
}
