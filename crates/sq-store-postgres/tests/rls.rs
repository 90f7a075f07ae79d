//! Row-level security, proven with raw SQL as the application's login role: whatever query
//! a bug might send, one tenant cannot read or change another's rows.

mod common;

use common::*;
use sqlx::postgres::PgDatabaseError;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use uuid::Uuid;

/// Every table with a `tenant_id` column, and whether the app may only append to it.
const TENANT_TABLES: &[(&str, bool)] = &[
    ("agent_skills", false),
    ("agents", false),
    ("announcements", false),
    ("api_keys", false),
    ("audit_heads", false),
    ("audit_log", true),
    ("channels", false),
    ("contact_consents", false),
    ("contacts", false),
    ("conversations", false),
    ("counters", false),
    ("devices", false),
    ("feedback", true),
    ("inbound_messages", false),
    ("notify_cursors", false),
    ("outbound_messages", false),
    ("queue_day_counters", false),
    ("queue_waiting", false),
    ("queues", false),
    ("services", false),
    ("sites", false),
    ("ticket_events", true),
    ("ticket_origins", false),
    ("tickets", false),
    ("users", false),
];

fn sql(s: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(s)
}

fn pg_error(e: &sqlx::Error) -> Option<&PgDatabaseError> {
    match e {
        sqlx::Error::Database(d) => d.try_downcast_ref::<PgDatabaseError>(),
        _ => None,
    }
}

/// A `WITH CHECK` refusal: the row would belong to a tenant other than the current one.
fn assert_rls_violation(r: Result<sqlx::postgres::PgQueryResult, sqlx::Error>, what: &str) {
    let e = r.expect_err(what);
    let pg = pg_error(&e).unwrap_or_else(|| panic!("{what}: {e}"));
    assert_eq!(pg.code(), "42501", "{what}: {e}");
    assert!(pg.message().contains("row-level security"), "{what}: {e}");
}

fn assert_permission_denied<T: std::fmt::Debug>(r: Result<T, sqlx::Error>, what: &str) {
    let e = r.expect_err(what);
    let pg = pg_error(&e).unwrap_or_else(|| panic!("{what}: {e}"));
    assert_eq!(pg.code(), "42501", "{what}: {e}");
}

/// A connection that logs in as the application role itself.
async fn app_connection(db: &TestDb) -> PgConnection {
    PgConnection::connect_with(&db.url_as("smartqueue_app"))
        .await
        .expect("log in as smartqueue_app")
}

async fn begin_as(app: &mut PgConnection, tenant: Uuid) -> sqlx::Transaction<'_, sqlx::Postgres> {
    let mut tx = app.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

async fn count_for(admin: &mut PgConnection, table: &str, tenant: Uuid) -> i64 {
    sqlx::query_scalar(sql(format!(
        "SELECT count(*) FROM {table} WHERE tenant_id = $1"
    )))
    .bind(tenant)
    .fetch_one(admin)
    .await
    .unwrap()
}

/// What [`seed_messaging`] wrote for one tenant.
struct Messaging {
    channel: String,
    address: String,
    outbound: Uuid,
}

/// A channel with one answered inbound message (conversation, reply, ticket origin) and a
/// moved notification cursor: a row in every messaging table.
async fn seed_messaging(store: &dyn sq_store::Store, s: &Seeded) -> Messaging {
    use sq_store::*;
    let t = s.tenant.id;
    let channel = format!("ch-{}", s.tenant.slug.as_str());
    let address = "+254712000009".to_owned();
    store
        .create_channel(
            t,
            NewChannel {
                id: channel.clone(),
                provider: "twilio".into(),
                kind: sq_domain::Channel::Sms,
                name: "SMS".into(),
                site_id: Some(s.site.id),
                config_enc: vec![7, 7],
            },
            &ctx(at(8, 1)),
        )
        .await
        .unwrap();
    let Accepted::New(m) = store
        .accept_inbound(
            t,
            NewInbound {
                channel_id: channel.clone(),
                provider_message_id: "m1".into(),
                address: address.clone(),
                phone: Some(address.parse().unwrap()),
                profile_name: None,
                payload: serde_json::json!({"text": "hi"}),
                received_at: at(8, 2),
            },
        )
        .await
        .unwrap()
    else {
        panic!("first delivery is new");
    };
    let out = store
        .commit_turn(
            t,
            TurnCommit {
                channel_id: channel.clone(),
                address: address.clone(),
                inbound_seq: Some(m.seq),
                session: None,
                locale: None,
                opted_out: false,
                due_at: None,
                outbound: vec![NewOutbound {
                    channel_id: channel.clone(),
                    address: address.clone(),
                    contact_id: Some(m.contact_id),
                    class: OutboundClass::Reply,
                    body: serde_json::json!({"text": "ok"}),
                    idempotency_key: "r1".into(),
                    not_before: at(8, 3),
                }],
                origin: Some(s.ticket.id),
                at: at(8, 3),
            },
        )
        .await
        .unwrap();
    store
        .advance_notifications(t, 0, 1, vec![], at(8, 4))
        .await
        .unwrap();
    store
        .record_feedback(
            t,
            Feedback {
                id: uuid::Uuid::now_v7(),
                channel_id: channel.clone(),
                contact_id: m.contact_id,
                ticket: Some("A001".into()),
                scale: "csat".into(),
                score: 4,
                comment: None,
                created_at: at(8, 5),
            },
        )
        .await
        .unwrap();
    Messaging {
        channel,
        address,
        outbound: out[0].id,
    }
}

/// Two seeded tenants, with messaging rows, plus the one table the store has no writer for
/// yet.
async fn two_tenants(db: &TestDb) -> (Seeded, Seeded) {
    let a = seed(db.store.as_ref(), "alpha").await;
    let b = seed(db.store.as_ref(), "beta").await;
    for s in [&a, &b] {
        seed_messaging(db.store.as_ref(), s).await;
    }
    let mut admin = db.admin().await;
    for s in [&a, &b] {
        sqlx::query(
            "INSERT INTO contact_consents (tenant_id, contact_id, channel, granted, at) \
             VALUES ($1, $2, 'whatsapp', true, now())",
        )
        .bind(s.tenant.id.0)
        .bind(s.ticket.contact_id.unwrap().0)
        .execute(&mut admin)
        .await
        .unwrap();
    }
    (a, b)
}

#[tokio::test]
async fn app_role_cannot_bypass_row_level_security() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let mut admin = db.admin().await;
    let (login, superuser, bypass, createrole, createdb): (bool, bool, bool, bool, bool) =
        sqlx::query_as(
            "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb \
             FROM pg_roles WHERE rolname = 'smartqueue_app'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(login, "the app role is a login role");
    assert!(!superuser, "the app role must not be a superuser");
    assert!(!bypass, "the app role must not bypass row-level security");
    assert!(!createrole && !createdb);

    // It owns nothing, so no policy can be switched off by it.
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relowner = 'smartqueue_app'::regrole",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(owned, 0);

    // Both ways the store connects end up working as that role.
    let mut app = app_connection(&db).await;
    let me: (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, rolsuper, rolbypassrls FROM pg_roles \
         WHERE rolname = current_user",
    )
    .fetch_one(&mut app)
    .await
    .unwrap();
    assert_eq!(me, ("smartqueue_app".to_owned(), false, false));

    // What the role cannot do, whatever SQL a bug sends.
    assert_permission_denied(
        sqlx::query("ALTER TABLE tickets DISABLE ROW LEVEL SECURITY")
            .execute(&mut app)
            .await,
        "disable RLS",
    );
    assert_permission_denied(
        sqlx::query("ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY")
            .execute(&mut app)
            .await,
        "unforce RLS",
    );
    assert_permission_denied(
        sqlx::query("DROP POLICY tenant_isolation ON tickets")
            .execute(&mut app)
            .await,
        "drop policy",
    );
    assert_permission_denied(
        sqlx::query("TRUNCATE tickets").execute(&mut app).await,
        "truncate",
    );
    assert!(
        sqlx::query("SET ROLE postgres")
            .execute(&mut app)
            .await
            .is_err(),
        "cannot become the owner"
    );
    assert_permission_denied(
        sqlx::query("SELECT count(*) FROM refresh_tokens")
            .execute(&mut app)
            .await,
        "refresh tokens are reachable only through functions",
    );
    assert_permission_denied(
        sqlx::query("UPDATE tenants SET name = 'x'")
            .execute(&mut app)
            .await,
        "tenants are read and insert only",
    );
    assert_permission_denied(
        sqlx::query("DELETE FROM tenants").execute(&mut app).await,
        "tenants are read and insert only",
    );
}

#[tokio::test]
async fn every_tenant_owned_table_has_forced_rls() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let mut admin = db.admin().await;
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attname = 'tenant_id' \
           AND NOT a.attisdropped ORDER BY 1",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
    let expected: Vec<&str> = TENANT_TABLES.iter().map(|t| t.0).collect();
    assert_eq!(
        names, expected,
        "a tenant-owned table is missing from the test"
    );
    for &(ref t, enabled, forced) in &tables {
        assert!(enabled && forced, "{t}: RLS must be enabled and forced");
    }
}

#[tokio::test]
async fn one_tenant_cannot_read_or_change_anothers_rows() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let (a, b) = two_tenants(&db).await;
    let (ta, tb) = (a.tenant.id.0, b.tenant.id.0);
    let mut admin = db.admin().await;
    let mut app = app_connection(&db).await;

    for &(table, append_only) in TENANT_TABLES {
        let rows_a = count_for(&mut admin, table, ta).await;
        let rows_b = count_for(&mut admin, table, tb).await;
        assert!(
            rows_a > 0 && rows_b > 0,
            "{table}: the fixture must cover it"
        );

        // SELECT: exactly A's rows, none of B's, even when asked for by tenant_id.
        let mut tx = begin_as(&mut app, ta).await;
        let r = sqlx::query(sql(format!(
            "SELECT count(*) AS all_rows, count(*) FILTER (WHERE tenant_id = $1) AS b_rows \
             FROM {table}"
        )))
        .bind(tb)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(
            r.get::<i64, _>("all_rows"),
            rows_a,
            "{table}: sees A's rows"
        );
        assert_eq!(r.get::<i64, _>("b_rows"), 0, "{table}: sees none of B's");
        tx.rollback().await.unwrap();

        // UPDATE and DELETE of B's rows: nothing affected (or no privilege at all).
        for stmt in [
            format!("UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = $1"),
            format!("DELETE FROM {table} WHERE tenant_id = $1"),
            format!("DELETE FROM {table} WHERE tenant_id <> $1"),
        ] {
            let mut tx = begin_as(&mut app, ta).await;
            let bind = if stmt.contains("<>") { ta } else { tb };
            let r = sqlx::query(sql(stmt.clone()))
                .bind(bind)
                .execute(&mut *tx)
                .await;
            if append_only {
                assert_permission_denied(r, &format!("{table}: {stmt}"));
            } else {
                assert_eq!(r.unwrap().rows_affected(), 0, "{table}: {stmt}");
            }
            tx.rollback().await.unwrap();
        }

        // INSERT a row claiming tenant B: refused by WITH CHECK.
        let mut tx = begin_as(&mut app, ta).await;
        sqlx::query(sql(format!(
            "CREATE TEMP TABLE probe ON COMMIT DROP AS SELECT * FROM {table} LIMIT 1"
        )))
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query("UPDATE probe SET tenant_id = $1")
            .bind(tb)
            .execute(&mut *tx)
            .await
            .unwrap();
        let r = sqlx::query(sql(format!("INSERT INTO {table} SELECT * FROM probe")))
            .execute(&mut *tx)
            .await;
        assert_rls_violation(r, &format!("{table}: insert as B"));
        tx.rollback().await.unwrap();

        // Moving A's own rows to B is refused too.
        let mut tx = begin_as(&mut app, ta).await;
        let r = sqlx::query(sql(format!(
            "UPDATE {table} SET tenant_id = $1 WHERE tenant_id = $2"
        )))
        .bind(tb)
        .bind(ta)
        .execute(&mut *tx)
        .await;
        if append_only {
            assert_permission_denied(r, &format!("{table}: move to B"));
        } else {
            assert_rls_violation(r, &format!("{table}: move to B"));
        }
        tx.rollback().await.unwrap();

        assert_eq!(count_for(&mut admin, table, ta).await, rows_a, "{table}");
        assert_eq!(count_for(&mut admin, table, tb).await, rows_b, "{table}");
    }
}

/// The messaging tables by the keys a bug would use (a channel id from a webhook path, an
/// outbound id, a conversation's channel and address): with tenant A set, B's rows are
/// neither found nor changed, and B's channel resolves only through the definer function.
#[tokio::test]
async fn one_tenant_cannot_read_or_update_anothers_messaging_rows() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let a = seed(db.store.as_ref(), "alpha").await;
    let b = seed(db.store.as_ref(), "beta").await;
    seed_messaging(db.store.as_ref(), &a).await;
    let mb = seed_messaging(db.store.as_ref(), &b).await;
    let (ta, tb) = (a.tenant.id.0, b.tenant.id.0);
    let mut app = app_connection(&db).await;
    let mut tx = begin_as(&mut app, ta).await;

    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM channels WHERE id = $1")
        .bind(&mb.channel)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen, 0, "channels: B's channel is not visible");
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM outbound_messages WHERE id = $1")
        .bind(mb.outbound)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen, 0, "outbound_messages: B's message is not visible");
    let seen: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM conversations WHERE channel_id = $1 AND address = $2",
    )
    .bind(&mb.channel)
    .bind(&mb.address)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(seen, 0, "conversations: B's conversation is not visible");

    for (what, stmt, key) in [
        (
            "channels",
            "UPDATE channels SET name = 'hijacked', config_enc = '\\x00' WHERE id = $1",
            mb.channel.clone(),
        ),
        (
            "outbound_messages",
            "UPDATE outbound_messages SET status = 'failed', address = '+1000' \
             WHERE id::text = $1",
            mb.outbound.to_string(),
        ),
        (
            "conversations",
            "UPDATE conversations SET opted_out = true, session = '{}' WHERE channel_id = $1",
            mb.channel.clone(),
        ),
    ] {
        let r = sqlx::query(sql(stmt.to_owned()))
            .bind(&key)
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(r.rows_affected(), 0, "{what}: B's row is not updated");
    }
    // The cross-tenant lookup is the definer's alone.
    let owner: Uuid = sqlx::query_scalar("SELECT tenant_id FROM sq_channel_by_id($1)")
        .bind(&mb.channel)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(owner, tb);
    tx.commit().await.unwrap();

    // B's rows, as the owner sees them: untouched.
    let mut admin = db.admin().await;
    let name: String = sqlx::query_scalar("SELECT name FROM channels WHERE id = $1")
        .bind(&mb.channel)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(name, "SMS");
    let (status, address): (String, String) =
        sqlx::query_as("SELECT status, address FROM outbound_messages WHERE id = $1")
            .bind(mb.outbound)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), address.as_str()),
        ("queued", mb.address.as_str())
    );
    let (opted_out, session): (bool, Option<serde_json::Value>) = sqlx::query_as(
        "SELECT opted_out, session FROM conversations WHERE channel_id = $1 AND address = $2",
    )
    .bind(&mb.channel)
    .bind(&mb.address)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!((opted_out, session), (false, None));
}

#[tokio::test]
async fn nothing_tenant_owned_is_visible_without_a_tenant() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let (a, _b) = two_tenants(&db).await;
    let mut app = app_connection(&db).await;

    async fn all_zero(app: &mut PgConnection, when: &str) {
        for &(table, _) in TENANT_TABLES {
            let n: i64 = sqlx::query_scalar(sql(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut *app)
                .await
                .unwrap_or_else(|e| panic!("{table} {when}: {e}"));
            assert_eq!(n, 0, "{table} {when}");
        }
    }

    // A fresh session: the setting does not exist.
    all_zero(&mut app, "in a fresh session").await;
    // After a transaction that set it: transaction-local, so it reads '' again (and the
    // policy must not fail on ''::uuid).
    let tx = begin_as(&mut app, a.tenant.id.0).await;
    tx.commit().await.unwrap();
    all_zero(&mut app, "after a tenant transaction ended").await;
    // Inserting without a tenant is refused.
    let r = sqlx::query(
        "INSERT INTO sites (id, tenant_id, name, timezone, locale, created_at) \
         VALUES ($1, $2, 'x', 'UTC', 'en', now())",
    )
    .bind(Uuid::now_v7())
    .bind(a.tenant.id.0)
    .execute(&mut app)
    .await;
    assert_rls_violation(r, "insert without a tenant");
    // Tenants themselves are public (slugs are in URLs).
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&mut app)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn definer_functions_find_rows_across_tenants_and_return_only_what_is_needed() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let (a, b) = two_tenants(&db).await;
    let store = db.store.as_ref();
    use sq_store::Store as _;
    for s in [&a, &b] {
        let rec = store
            .user_by_email(&s.user.email)
            .await
            .unwrap()
            .expect("login lookup");
        assert_eq!(rec.user, s.user);
        assert_eq!(store.user(s.user.id).await.unwrap().as_ref(), Some(&s.user));
        let k = store
            .api_key_by_hash(&s.key_hash)
            .await
            .unwrap()
            .expect("key lookup");
        assert_eq!((k.id, k.tenant_id), (s.api_key.id, s.tenant.id));
    }
    // The by-id lookup has no password hash column, the key lookup no key hash.
    let mut app = app_connection(&db).await;
    let cols: Vec<String> =
        sqlx::query_scalar("SELECT unnest(proargnames) FROM pg_proc WHERE proname = ANY($1)")
            .bind(vec![
                "sq_user_by_id",
                "sq_api_key_by_hash",
                "sq_device_by_hash",
            ])
            .fetch_all(&mut app)
            .await
            .unwrap();
    assert!(!cols.iter().any(|c| c == "password_hash" || c == "key_hash"));
    // All are SECURITY DEFINER with a fixed search_path.
    let funcs: Vec<(String, bool, Option<Vec<String>>)> = sqlx::query_as(
        "SELECT proname::text, prosecdef, proconfig FROM pg_proc WHERE proname LIKE 'sq\\_%' \
         ORDER BY 1",
    )
    .fetch_all(&mut app)
    .await
    .unwrap();
    assert_eq!(funcs.len(), 9);
    for (f, secdef, config) in funcs {
        // The position reader works inside a tenant's rows: it runs as its caller, under
        // row-level security, and sets the tenant itself like every tenant-scoped call.
        let invoker = f == "sq_position_inputs";
        assert_eq!(
            secdef, !invoker,
            "{f}: SECURITY DEFINER only for the lookups"
        );
        assert!(
            config
                .unwrap_or_default()
                .iter()
                .any(|c| c.starts_with("search_path=")),
            "{f} pins its search_path"
        );
    }
    // A revoked key is not found.
    let mut admin = db.admin().await;
    sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1")
        .bind(a.api_key.id.0)
        .execute(&mut admin)
        .await
        .unwrap();
    assert!(store.api_key_by_hash(&a.key_hash).await.unwrap().is_none());
}

/// The production shape: the migration owner is an ordinary role, so FORCE binds it too
/// and the cross-tenant lookups work only through the owner-only policies.
#[tokio::test]
async fn works_with_a_non_superuser_owner() {
    use sq_store::*;
    let Some(db) = OwnedDb::new().await else {
        return;
    };
    // The owner (no CREATEROLE) is not a member of the app role, so the single-URL mode
    // (SET ROLE) is refused at once, with a reason.
    let err = sq_store_postgres::PostgresStore::connect(&db.url)
        .await
        .expect_err("SET ROLE needs membership");
    assert!(err.to_string().contains("not a member"), "{err}");
    // Nor may the app pool be the owner itself.
    let err = sq_store_postgres::PostgresStore::connect_with(&db.url, Some(&db.url))
        .await
        .expect_err("an app pool that owns the tables is refused");
    assert!(err.to_string().contains("own the tables"), "{err}");
    // The production shape: migrations as the owner, the pool on the app's own login.
    let app_url = db
        .url
        .replacen(&format!("{}@", db.role), "smartqueue_app@", 1);
    let store = sq_store_postgres::PostgresStore::connect_with(&db.url, Some(&app_url))
        .await
        .expect("connect with a non-superuser owner and the app login");
    let a = seed(&store, "alpha").await;
    let b = seed(&store, "beta").await;
    for s in [&a, &b] {
        let rec = store.user_by_email(&s.user.email).await.unwrap().unwrap();
        assert_eq!(rec.user, s.user);
        assert_eq!(store.user(s.user.id).await.unwrap(), Some(s.user.clone()));
        let k = store.api_key_by_hash(&s.key_hash).await.unwrap().unwrap();
        assert_eq!(k.tenant_id, s.tenant.id);
    }
    let admin_user = store
        .create_user(
            NewUser {
                tenant_id: None,
                email: "root@platform.test".parse().unwrap(),
                password_hash: "$argon2id$fake".into(),
                role: sq_domain::Role::SuperAdmin,
                site_id: None,
            },
            &ctx(at(8, 0)),
        )
        .await
        .unwrap();
    assert_eq!(store.user(admin_user.id).await.unwrap(), Some(admin_user));
    let now = at(9, 0);
    store
        .store_refresh_token(NewRefreshToken {
            token_hash: "t1".into(),
            user_id: a.user.id,
            family: Uuid::now_v7(),
            expires_at: now + chrono::Duration::days(1),
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh_token("t1", "t2", now + chrono::Duration::days(1), now)
            .await
            .unwrap(),
        RefreshOutcome::Rotated { user_id: a.user.id }
    );
    for s in [&a, &b] {
        let log = store.audit_log(s.tenant.id).await.unwrap();
        // 11 rows: the seed's nine plus its paired device and announcement (issue 5).
        assert_eq!(sq_domain::audit::verify(&log), Ok(11));
    }
    // The webhook lookup needs the owner-only policy on channels as well.
    let m = seed_messaging(&store, &a).await;
    let found = store
        .channel(&m.channel)
        .await
        .unwrap()
        .expect("channel lookup");
    assert_eq!(
        (found.tenant_id, found.config_enc),
        (a.tenant.id, vec![7, 7])
    );

    // FORCE binds the owner as well: connected directly, without a tenant, it sees no
    // tenant-owned row except through the narrow lookup policies (users, API keys).
    let mut owner = PgConnection::connect(&db.url).await.unwrap();
    for &(table, _) in TENANT_TABLES {
        let n: i64 = sqlx::query_scalar(sql(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut owner)
            .await
            .unwrap();
        let expected = match table {
            "users" => 3,
            "api_keys" | "devices" => 2,
            "channels" => 1,
            _ => 0,
        };
        assert_eq!(n, expected, "{table} as the owner");
    }
}
