//! SQLite-specific checks: migrations stay in step with PostgreSQL's, and a store can be
//! reopened on an existing file.

use sq_domain::audit::AuditContext;
use sq_store::{NewTenant, Store};
use sq_store_sqlite::SqliteStore;
use std::collections::BTreeSet;
use std::path::Path;

/// The version numbers (file-name prefixes before `_`) of the `.sql` files in a folder.
fn versions(dir: &Path) -> BTreeSet<u64> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .map(|name| {
            let prefix = name.split('_').next().unwrap_or_default();
            prefix
                .parse()
                .unwrap_or_else(|_| panic!("migration {name} does not start with a number"))
        })
        .collect()
}

#[test]
fn migration_versions_match_postgres() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let sqlite = versions(&root.join("sqlite"));
    let postgres = versions(&root.join("postgres"));
    assert!(
        sqlite.contains(&1),
        "the first migration is 0001: {sqlite:?}"
    );
    assert_eq!(
        sqlite, postgres,
        "every migration version exists for both backends"
    );
}

#[tokio::test]
async fn reopening_keeps_data_and_skips_applied_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("smartqueue.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    store.health().await.unwrap();
    let t = store
        .create_tenant(
            NewTenant {
                slug: "reopen".parse().unwrap(),
                name: "Reopen".parse().unwrap(),
                default_locale: "en".parse().unwrap(),
            },
            &AuditContext::system(chrono::Utc::now()),
        )
        .await
        .unwrap();
    store.close().await;
    drop(store);
    let again = SqliteStore::open(&path).await.unwrap();
    assert_eq!(again.tenant(t.id).await.unwrap(), Some(t));
    again.close().await;
}
