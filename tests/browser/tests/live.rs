//! The live WebSocket protocol without a browser: a display's first frame is a snapshot, a
//! call arrives as one event frame with the spoken text in the site's language, displays
//! skip frames that do not change a screen, and a reconnect resyncs from a fresh snapshot.

use futures::StreamExt;
use serde_json::Value;
use sq_tests::{Backend, DEMO_PASSWORD, spawn_demo};
use std::time::Duration;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Ok(t) = m.to_text() {
            let v: Value = serde_json::from_str(t).expect("JSON frames");
            if v["type"] != "ping" {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_gets_a_snapshot_then_each_call_once_and_resyncs_on_reconnect() {
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    let key = seed
        .devices
        .iter()
        .find(|(d, _)| d.kind.as_str() == "display")
        .map(|(_, k)| k.clone())
        .unwrap();
    let url = format!("{}/display/{key}/ws", app.base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let first = next_frame(&mut ws).await;
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["calls"].as_array().unwrap().len(), 0);

    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    let agent = app.login("agent1@demo.test", DEMO_PASSWORD).await;
    let (_, a1) = &seed.agents[0];
    let issued = admin.create_ticket(seed.services[0].id).await;
    let id = issued.id();
    agent
        .call_next(a1.id, seed.counters[0].id)
        .await
        .expect(200, None);
    // The issue is not sent to displays: the next frame is the call.
    let call = next_frame(&mut ws).await;
    assert_eq!(call["type"], "event");
    assert_eq!(call["kind"], "call");
    assert_eq!(call["ticket_id"], id.as_str());
    assert_eq!(call["number"], "A001");
    assert_eq!(call["counter"], "1");
    assert_eq!(call["speech"], "Ticket A 0 0 1, counter 1");

    // Reconnect: the snapshot carries the call.
    drop(ws);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let snap = next_frame(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["calls"][0]["number"], "A001");
    assert_eq!(snap["calls"][0]["status"], "called");

    // Start is skipped (nothing changes on screen); close removes it from the screen.
    agent.act(&id, "start").await.expect(200, None);
    agent.act(&id, "close").await.expect(200, None);
    let closed = next_frame(&mut ws).await;
    assert_eq!(closed["kind"], "close");
    assert_eq!(closed["status"], "served");
    assert!(closed["speech"].is_null());

    // A revoked key cannot open the socket.
    let bad = format!(
        "{}/display/sqd_nope/ws",
        app.base.replace("http://", "ws://")
    );
    assert!(
        tokio_tungstenite::connect_async(bad.as_str())
            .await
            .is_err()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_socket_gets_its_ticker_in_the_snapshot_and_each_change_once() {
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    let key = seed
        .devices
        .iter()
        .find(|(d, _)| d.kind.as_str() == "display")
        .map(|(_, k)| k.clone())
        .unwrap();
    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    let path = admin.t(&format!("/sites/{}/announcements", seed.site.id));
    admin
        .post(&path, &serde_json::json!({"text": "First"}))
        .await
        .expect(201, None);
    let url = format!("{}/display/{key}/ws", app.base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let first = next_frame(&mut ws).await;
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["ticker"], serde_json::json!(["First"]));
    let second = admin
        .post(&path, &serde_json::json!({"text": "Second"}))
        .await;
    second.expect(201, None);
    let f = next_frame(&mut ws).await;
    assert_eq!(f["type"], "ticker");
    assert_eq!(f["items"], serde_json::json!(["First", "Second"]));
    // Deleting one sends the shorter list.
    admin
        .delete(&format!("{path}/{}", second.id()))
        .await
        .expect(200, None);
    let f = next_frame(&mut ws).await;
    assert_eq!(f["items"], serde_json::json!(["First"]));
}
