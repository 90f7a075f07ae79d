//! The Redis change bus: [`sq_app::ChangeBus`] over Redis pub/sub, for several nodes on one
//! database. A signal published here reaches this node's subscribers at once and every other
//! node through channel [`CHANNEL`]; each node drops its own echoes. Signals are hints (the
//! ticket event feed in the database is the truth), so while Redis is unreachable the nodes
//! fall back to their polls and this bus reconnects in the background.

use anyhow::Context;
use futures::StreamExt;
use sq_app::{Change, ChangeBus, LocalBus};
use std::time::Duration;

/// The pub/sub channel every node listens on.
pub const CHANNEL: &str = "smartqueue:changes";

#[derive(Clone)]
pub struct RedisBus {
    local: LocalBus,
    /// Tells this node's messages from the others'.
    node: String,
    publisher: redis::aio::ConnectionManager,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("node", &self.node)
            .finish()
    }
}

impl RedisBus {
    /// Connects (failing loudly when Redis cannot be reached at start) and starts listening.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("parsing REDIS_URL")?;
        let publisher = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new(client.clone()),
        )
        .await
        .context("connecting to Redis: timed out")?
        .context("connecting to Redis")?;
        let bus = RedisBus {
            local: LocalBus::default(),
            node: uuid::Uuid::new_v4().simple().to_string(),
            publisher,
        };
        // Subscribed before returning: a signal published right after start is not missed.
        let pubsub = client
            .get_async_pubsub()
            .await
            .context("opening a Redis pub/sub connection")?;
        tokio::spawn(bus.clone().listen(client, Some(pubsub)));
        Ok(bus)
    }

    async fn listen(self, client: redis::Client, mut first: Option<redis::aio::PubSub>) {
        loop {
            let conn = match first.take() {
                Some(c) => Ok(c),
                None => client.get_async_pubsub().await,
            };
            match conn {
                Ok(mut ps) => match ps.subscribe(CHANNEL).await {
                    Ok(()) => {
                        let mut stream = ps.on_message();
                        while let Some(msg) = stream.next().await {
                            let Ok(text) = msg.get_payload::<String>() else {
                                continue;
                            };
                            if let Some((node, change)) = text.split_once(' ')
                                && node != self.node
                                && let Ok(c) = change.parse::<Change>()
                            {
                                let _ = self.local.sender().send(c);
                            }
                        }
                        tracing::warn!("Redis pub/sub connection closed; reconnecting");
                    }
                    Err(e) => tracing::warn!(error = %e, "Redis SUBSCRIBE failed"),
                },
                Err(e) => tracing::warn!(error = %e, "Redis pub/sub unreachable"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

impl ChangeBus for RedisBus {
    fn publish(&self, change: Change) {
        self.local.publish(change);
        let mut conn = self.publisher.clone();
        let payload = format!("{} {change}", self.node);
        tokio::spawn(async move {
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(payload)
                .query_async(&mut conn)
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "Redis PUBLISH failed (nodes fall back to polling)");
            }
        });
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.local.subscribe()
    }
}
