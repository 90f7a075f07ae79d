//! The backend-agnostic contract suite (`sq_store::contract`) on SQLite: a fresh database
//! file in its own temporary directory per test.

use sq_store::Store;
use sq_store_sqlite::SqliteStore;
use std::sync::Arc;

/// The store plus the directory holding its file, removed when the test ends.
async fn fresh_store() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::Builder::new()
        .prefix("sq-store-sqlite-")
        .tempdir()
        .expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("smartqueue.db"))
        .await
        .expect("open a fresh SQLite store");
    Some((Arc::new(store), dir))
}

sq_store::contract_tests!(fresh_store);
