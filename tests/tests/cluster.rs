//! Two server nodes on one PostgreSQL database and one Redis: a call made through one node
//! reaches a display's WebSocket on the other through the Redis change bus. The live pages'
//! poll is stretched to a minute, so only the bus can deliver within the two seconds the
//! test allows. Needs `TEST_DATABASE_URL` and `TEST_REDIS_URL` (CI sets both).

use futures::StreamExt;
use sq_tests::{Backend, DEMO_PASSWORD, spawn_app_with};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_on_one_node_reaches_a_display_on_the_other_through_redis() {
    if std::env::var("TEST_REDIS_URL").is_err() {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    }
    let Some(a) = spawn_app_with(Backend::Postgres, |c| c.live_poll_ms = 60_000).await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    assert!(
        a.config.redis_url.is_some(),
        "the PostgreSQL pass runs with Redis"
    );
    let seed = a.seed_demo().await;
    let b = a.second_node().await;
    let key = &seed
        .devices
        .iter()
        .find(|(d, _)| d.kind == sq_store::DeviceKind::Display)
        .expect("the demo pairs a display")
        .1;
    let url = format!(
        "{}/display/{key}/ws",
        b.base.replacen("http://", "ws://", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the display connects to node B");
    let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a snapshot")
        .expect("open")
        .expect("a frame");
    assert!(matches!(first, Message::Text(_)), "{first:?}");
    // Let node B's follower start before the call, as a display that has been up a while.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let admin = a.login("admin@demo.test", DEMO_PASSWORD).await;
    admin
        .create_ticket(seed.services[0].id)
        .await
        .expect(201, None);
    let agent = a.login("agent1@demo.test", DEMO_PASSWORD).await;
    let started = Instant::now();
    agent
        .call_next(seed.agents[0].1.id, seed.counters[0].id)
        .await
        .expect(200, None);
    let deadline = started + Duration::from_secs(2);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no call frame on node B within 2 s"))
            .expect("open")
            .expect("a frame");
        if let Message::Text(t) = frame
            && t.contains("A001")
        {
            eprintln!("node A call → node B display: {:?}", started.elapsed());
            break;
        }
    }
}
