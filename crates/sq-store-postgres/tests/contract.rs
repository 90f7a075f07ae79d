//! The shared storage contract, on a fresh PostgreSQL database per test (skipped when
//! `TEST_DATABASE_URL` is unset). The database is dropped when the test ends.

mod common;

use sq_store::Store;
use std::sync::Arc;

async fn fresh_store() -> Option<(Arc<dyn Store>, common::TestDb)> {
    let db = common::TestDb::new().await?;
    let store: Arc<dyn Store> = db.store.clone();
    Some((store, db))
}

sq_store::contract_tests!(fresh_store);
