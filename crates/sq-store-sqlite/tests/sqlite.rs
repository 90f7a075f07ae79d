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

/// Writes are committed in groups, each in its own savepoint: writes that fail half-way
/// (an agent whose second skill breaks a unique rule after the agent row went in) leave
/// nothing behind, and the writes around them in the same group still commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_writes_in_a_group_leave_nothing_behind() {
    use sq_domain::model::Skill;
    use sq_store::{NewAgent, NewService, NewSite, StoreError};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("g.db")).await.unwrap());
    let ctx = AuditContext::system(chrono::Utc::now());
    let t = store
        .create_tenant(
            NewTenant {
                slug: "groups".parse().unwrap(),
                name: "Groups".parse().unwrap(),
                default_locale: "en".parse().unwrap(),
            },
            &ctx,
        )
        .await
        .unwrap();
    let site = store
        .create_site(
            t.id,
            NewSite {
                name: "Main".parse().unwrap(),
                timezone: "Africa/Nairobi".parse().unwrap(),
                locale: "en".parse().unwrap(),
            },
            &ctx,
        )
        .await
        .unwrap();
    let service = store
        .create_service(
            t.id,
            NewService {
                site_id: site.id,
                name: "Accounts".parse().unwrap(),
                sla_target_secs: 600,
                expected_duration_secs: 300,
            },
            &ctx,
        )
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200usize {
        let (store, ctx) = (store.clone(), ctx.clone());
        tasks.spawn(async move {
            let skill = Skill {
                service_id: service.id,
                weight: 10,
            };
            // Every third agent names the same service twice: the second skill row
            // conflicts after the agent row was written.
            let skills = if i % 3 == 0 {
                vec![skill.clone(), skill]
            } else {
                vec![skill]
            };
            let r = store
                .create_agent(
                    t.id,
                    NewAgent {
                        site_id: site.id,
                        user_id: None,
                        name: format!("Agent {i}").parse().unwrap(),
                        skills,
                    },
                    &ctx,
                )
                .await;
            (i, r)
        });
    }
    let results = tasks.join_all().await;
    let mut created = 0;
    for (i, r) in &results {
        if i % 3 == 0 {
            assert!(
                matches!(r, Err(StoreError::Conflict("skill"))),
                "{i}: {r:?}"
            );
        } else {
            assert!(r.is_ok(), "{i}: {r:?}");
            created += 1;
        }
    }
    let agents = store.agents(t.id).await.unwrap();
    assert_eq!(agents.len(), created);
    assert!(agents.iter().all(|a| a.skills.len() == 1));
    let log = store.audit_log(t.id).await.unwrap();
    assert_eq!(sq_domain::audit::verify(&log), Ok(3 + created));
    store.close().await;
}
