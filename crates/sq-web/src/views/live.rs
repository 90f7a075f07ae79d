//! The live event hub: follows each tenant's ticket events ([`sq_store::Store::ticket_event_feed`],
//! commit order) and fans them out to WebSocket subscribers over a tokio broadcast channel.
//!
//! **Why polling, and why per tenant.** The feed is the source of truth that every writer
//! (API, web views, other nodes, the channels pipeline) already appends to in the same
//! transaction as the change, so following it cannot miss a write, whoever made it. One
//! follower per tenant with subscribers polls every [`POLL`] (one indexed range read; idle
//! tenants cost nothing), and writers in this process [`LiveHub::poke`] it so their own
//! changes go out at once instead of at the next tick. Each event becomes one JSON frame,
//! serialised once and shared by every subscriber (5,000 displays cost one serialisation).
//!
//! **Resync.** A client gets a fresh snapshot (displays) or a `resync` frame (pages that
//! re-fetch their live fragment) on every (re)connect and whenever it lagged behind the
//! broadcast buffer, so it never has to replay history.
//!
//! **Tickers.** A display's ticker shows its site's active announcements. The snapshot
//! carries them, and the follower of a tenant re-reads a site's list when the change bus
//! says it changed ([`sq_app::Change::Announcements`], from this node or over Redis) and
//! every [`TICKER_REFRESH`] anyway (announcements start and end with time, and a node
//! without Redis hears nothing of the others); a `ticker` frame goes out only when the
//! list differs from the last one sent.
//!
//! The hub sits behind the small [`LiveHub`] trait: a Redis pub/sub hub for several web
//! nodes can replace the polling one without touching the pages.

use super::{Staff, Tr};
use crate::WebState;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use sq_app::{App, Change};
use sq_domain::model::Site;
use sq_domain::ticket::{Ticket, TicketEvent};
use sq_domain::*;
use sq_store::{DeviceKind, TicketFilter};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast};

/// How often a followed tenant's feed is read when nobody pokes (writes made through the
/// API or by another node show within this; one indexed read per tick per followed tenant).
pub const POLL: Duration = Duration::from_millis(50);
/// Frames a slow subscriber may fall behind before it is resynced.
const BUFFER: usize = 1024;
/// Keep-alive frame interval; clients reconnect after twice this without a frame.
const PING: Duration = Duration::from_secs(20);
/// How many recent calls a display snapshot carries.
pub const RECENT_CALLS: usize = 10;
/// How often a followed site's announcements are re-read without a change signal (an
/// announcement's start or end, a write on a node without Redis).
pub const TICKER_REFRESH: Duration = Duration::from_secs(30);

/// One ticket event (or a display's new ticker), ready to send.
#[derive(Clone, Debug)]
pub struct LiveEvent {
    pub site_id: SiteId,
    /// `None` for a ticker frame: only displays take those.
    pub queue_id: Option<QueueId>,
    pub ticket_id: Option<TicketId>,
    /// Whether a display screen needs it: calls, recalls, and a called ticket leaving the
    /// counter. Issues and starts change nothing on a display, and skipping them halves
    /// what 5,000 screens cost per served ticket.
    pub for_displays: bool,
    /// The JSON frame, serialised once for every subscriber.
    pub frame: Utf8Bytes,
}

/// Fans ticket events out to live pages.
pub trait LiveHub: Send + Sync + fmt::Debug + 'static {
    /// The tenant's events from now on.
    fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<Arc<LiveEvent>>;
    /// Something of this tenant was just written here: look now, not at the next tick.
    fn poke(&self, tenant: TenantId);
    /// A display's snapshot of a site (cached briefly: a reconnect storm costs one read).
    fn display_snapshot(
        &self,
        tenant: TenantId,
        site: &Site,
    ) -> futures::future::BoxFuture<'_, Utf8Bytes>;
}

struct Feed {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    wake: Arc<Notify>,
}

/// A site whose displays are followed: the ticker last sent to them.
struct Ticker {
    tenant: TenantId,
    /// The items as JSON, to tell a changed list from the same one.
    last: String,
    checked: Instant,
    /// The change bus named the site since it was last read.
    stale: bool,
}

/// The in-process hub that polls the store (see the module docs).
pub struct PollingHub {
    app: App,
    /// How often a followed feed is read without a wake-up.
    poll: Duration,
    feeds: Mutex<HashMap<TenantId, Feed>>,
    snapshots: Mutex<HashMap<SiteId, (Instant, Utf8Bytes)>>,
    tickers: Mutex<HashMap<SiteId, Ticker>>,
}

impl fmt::Debug for PollingHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.feeds.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("PollingHub").field("tenants", &n).finish()
    }
}

impl PollingHub {
    pub fn new(app: App) -> Arc<Self> {
        Self::with_poll(app, POLL)
    }

    /// A hub that polls every `poll` and wakes at once on the app's change bus, which
    /// carries this node's writes and, over Redis, every other node's.
    pub fn with_poll(app: App, poll: Duration) -> Arc<Self> {
        let changes = app.bus.subscribe();
        let hub = Arc::new(Self {
            app,
            poll,
            feeds: Mutex::new(HashMap::new()),
            snapshots: Mutex::new(HashMap::new()),
            tickers: Mutex::new(HashMap::new()),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(wake_on_changes(Arc::downgrade(&hub), changes));
        }
        hub
    }
}

impl LiveHub for Arc<PollingHub> {
    fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<Arc<LiveEvent>> {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = feeds.get(&tenant) {
            return f.tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(BUFFER);
        let wake = Arc::new(Notify::new());
        feeds.insert(
            tenant,
            Feed {
                tx: tx.clone(),
                wake: wake.clone(),
            },
        );
        tokio::spawn(follow(self.clone(), tenant, tx, wake));
        rx
    }

    fn poke(&self, tenant: TenantId) {
        if let Some(f) = self
            .feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
        {
            f.wake.notify_one();
        }
    }

    fn display_snapshot(
        &self,
        tenant: TenantId,
        site: &Site,
    ) -> futures::future::BoxFuture<'_, Utf8Bytes> {
        let site = site.clone();
        Box::pin(async move {
            let cached = self
                .snapshots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&site.id)
                .filter(|(at, _)| at.elapsed() < Duration::from_secs(2))
                .map(|(_, f)| f.clone());
            if let Some(f) = cached {
                return f;
            }
            let (frame, items) = build_snapshot(&self.app, tenant, &site).await;
            // From now on the follower keeps this site's ticker current.
            self.tickers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(site.id)
                .or_insert(Ticker {
                    tenant,
                    last: items,
                    checked: Instant::now(),
                    stale: false,
                });
            self.snapshots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(site.id, (Instant::now(), frame.clone()));
            frame
        })
    }
}

/// Pokes the followers of tenants the change bus names, until the hub is dropped; a
/// followed site whose announcements changed is marked for a re-read first.
async fn wake_on_changes(
    hub: std::sync::Weak<PollingHub>,
    mut changes: broadcast::Receiver<Change>,
) {
    loop {
        let change = match changes.recv().await {
            Ok(c) => c,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(hub) = hub.upgrade() else { return };
        if let Change::Announcements(_, site) = change
            && let Some(t) = hub
                .tickers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(&site)
        {
            t.stale = true;
        }
        hub.poke(change.tenant());
    }
}

/// Sends a `ticker` frame for each of the tenant's followed sites that the bus named or
/// that is due for its periodic re-read, when its active announcements changed.
async fn refresh_tickers(
    hub: &PollingHub,
    tenant: TenantId,
    tx: &broadcast::Sender<Arc<LiveEvent>>,
) {
    let due: Vec<SiteId> = hub
        .tickers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(_, t)| t.tenant == tenant && (t.stale || t.checked.elapsed() >= TICKER_REFRESH))
        .map(|(s, _)| *s)
        .collect();
    for site in due {
        let items = match ticker_items(&hub.app, tenant, site).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "live feed: cannot read announcements");
                continue;
            }
        };
        let changed = {
            let mut tickers = hub.tickers.lock().unwrap_or_else(|e| e.into_inner());
            let Some(t) = tickers.get_mut(&site) else {
                continue;
            };
            t.stale = false;
            t.checked = Instant::now();
            let changed = t.last != items;
            if changed {
                t.last = items.clone();
            }
            changed
        };
        if changed {
            hub.snapshots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&site);
            let frame = format!(r#"{{"type":"ticker","items":{items}}}"#);
            let _ = tx.send(Arc::new(LiveEvent {
                site_id: site,
                queue_id: None,
                ticket_id: None,
                for_displays: true,
                frame: frame.into(),
            }));
        }
    }
}

/// The texts of a site's active announcements as a JSON array.
async fn ticker_items(
    app: &App,
    tenant: TenantId,
    site: SiteId,
) -> Result<String, sq_store::StoreError> {
    let texts: Vec<String> = app
        .store
        .announcements(tenant, site, Some(app.now()))
        .await?
        .into_iter()
        .map(|a| a.text.into())
        .collect();
    Ok(serde_json::Value::from(texts).to_string())
}

/// Follows one tenant's feed while anyone listens.
async fn follow(
    hub: Arc<PollingHub>,
    tenant: TenantId,
    tx: broadcast::Sender<Arc<LiveEvent>>,
    wake: Arc<Notify>,
) {
    let store = hub.app.store.clone();
    // Start at the end: subscribers get history from their snapshot, not from the feed.
    let mut after = 0i64;
    loop {
        match store.ticket_event_feed(tenant, after, 1000).await {
            Ok(page) if page.is_empty() => break,
            Ok(page) => after = page.last().map_or(after, |(p, _)| *p),
            Err(e) => {
                tracing::warn!(error = %e, "live feed: cannot read the head");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    let mut names = Names::default();
    let mut idle_ticks = 0u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(hub.poll) => {}
            _ = wake.notified() => {}
        }
        if tx.receiver_count() == 0 {
            idle_ticks += 1;
            // Stop following a tenant nobody watches any more (checked under the lock, so
            // a subscriber arriving now gets a new follower instead of a dead channel).
            if idle_ticks > 50 {
                let mut feeds = hub.feeds.lock().unwrap_or_else(|e| e.into_inner());
                if tx.receiver_count() == 0 {
                    feeds.remove(&tenant);
                    return;
                }
            }
            continue;
        }
        idle_ticks = 0;
        refresh_tickers(&hub, tenant, &tx).await;
        let page = match store.ticket_event_feed(tenant, after, 500).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "live feed: read failed, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if page.is_empty() {
            continue;
        }
        hub.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for (pos, e) in page {
            after = pos;
            match event_frame(&hub.app, tenant, &e, &mut names).await {
                Ok(Some(ev)) => {
                    let _ = tx.send(Arc::new(ev));
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "live feed: event skipped"),
            }
        }
    }
}

/// Counter names and site languages, read once per follower.
#[derive(Default)]
struct Names {
    counters: HashMap<CounterId, String>,
    sites: HashMap<SiteId, String>,
}

impl Names {
    async fn counter(&mut self, app: &App, tenant: TenantId, id: CounterId) -> Option<String> {
        if !self.counters.contains_key(&id) {
            for c in app.store.counters(tenant).await.ok()? {
                self.counters.insert(c.id, c.name.as_str().to_owned());
            }
        }
        self.counters.get(&id).cloned()
    }

    async fn language(&mut self, app: &App, tenant: TenantId, id: SiteId) -> String {
        if !self.sites.contains_key(&id)
            && let Ok(sites) = app.store.sites(tenant).await
        {
            for s in sites {
                self.sites.insert(s.id, s.locale.language().to_owned());
            }
        }
        self.sites.get(&id).cloned().unwrap_or_else(|| "en".into())
    }
}

/// "A012" → "A 0 1 2": speech engines read digits one by one, as people call them.
pub fn spell(number: &str) -> String {
    number
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The spoken announcement of a call, in the site's language.
pub fn announcement(lang: &str, number: &str, counter: &str) -> String {
    let tr = Tr::for_language(lang);
    tr.t2(
        "web-announce",
        ("number", &spell(number)),
        ("counter", counter),
    )
    // Bidi isolation marks are for screens; speech engines may read them out.
    .replace(['\u{2068}', '\u{2069}'], "")
}

fn ticket_json(t: &Ticket, counter: Option<&str>) -> serde_json::Value {
    json!({
        "ticket_id": t.id,
        "number": t.number,
        "status": t.status.as_str(),
        "queue_id": t.queue_id,
        "counter": counter,
        "called_at": t.called_at,
    })
}

async fn event_frame(
    app: &App,
    tenant: TenantId,
    e: &TicketEvent,
    names: &mut Names,
) -> Result<Option<LiveEvent>, sq_store::StoreError> {
    let Some(t) = app.store.ticket(tenant, e.ticket_id).await? else {
        return Ok(None);
    };
    let counter = match t.counter_id {
        Some(c) => names.counter(app, tenant, c).await,
        None => None,
    };
    let is_call = e.kind == "call" || e.kind == "recall";
    let speech = if is_call {
        let lang = names.language(app, tenant, t.site_id).await;
        Some(announcement(
            &lang,
            &t.number,
            counter.as_deref().unwrap_or(""),
        ))
    } else {
        None
    };
    let mut frame = ticket_json(&t, counter.as_deref());
    frame["type"] = json!("event");
    frame["kind"] = json!(e.kind);
    // The event's own state, not the ticket's current one (a later event may have moved it).
    frame["status"] = json!(e.to.as_str());
    frame["at"] = json!(e.at);
    frame["speech"] = json!(speech);
    let for_displays = is_call || (e.to.is_terminal() && t.called_at.is_some());
    Ok(Some(LiveEvent {
        site_id: t.site_id,
        queue_id: Some(t.queue_id),
        ticket_id: Some(t.id),
        for_displays,
        frame: frame.to_string().into(),
    }))
}

/// What a display shows on (re)connect: the latest calls of the site, newest first.
pub(crate) async fn snapshot_calls(
    app: &App,
    tenant: TenantId,
    site: SiteId,
) -> Vec<serde_json::Value> {
    let filter = TicketFilter {
        status: None,
        queue_id: None,
        limit: Some(1000),
    };
    let (Ok(tickets), Ok(counters)) = (
        app.store.tickets(tenant, &filter).await,
        app.store.counters(tenant).await,
    ) else {
        return Vec::new();
    };
    let names: HashMap<CounterId, String> = counters
        .into_iter()
        .map(|c| (c.id, c.name.as_str().to_owned()))
        .collect();
    let mut called: Vec<&Ticket> = tickets
        .iter()
        .filter(|t| t.site_id == site && t.called_at.is_some())
        .collect();
    called.sort_by_key(|t| std::cmp::Reverse(t.called_at));
    called
        .into_iter()
        .take(RECENT_CALLS)
        .map(|t| {
            let c = t.counter_id.and_then(|c| names.get(&c)).map(String::as_str);
            ticket_json(t, c)
        })
        .collect()
}

/// A display's snapshot frame, and its ticker items (JSON) for the follower to compare.
async fn build_snapshot(app: &App, tenant: TenantId, site: &Site) -> (Utf8Bytes, String) {
    let calls = snapshot_calls(app, tenant, site.id).await;
    let items = ticker_items(app, tenant, site.id)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "display snapshot: cannot read announcements");
            "[]".into()
        });
    let ticker: serde_json::Value = serde_json::from_str(&items).unwrap_or_default();
    let frame = json!({ "type": "snapshot", "calls": calls, "ticker": ticker });
    (frame.to_string().into(), items)
}

// ---- WebSocket endpoints --------------------------------------------------------------

/// Which events a socket forwards.
#[derive(Clone, Copy, Debug)]
enum Filter {
    Tenant,
    Site(SiteId),
    /// A display screen of a site: only what changes the screen.
    Display(SiteId),
    Queue(QueueId),
}

impl Filter {
    fn matches(self, e: &LiveEvent) -> bool {
        // Ticker frames (no ticket) are for displays only.
        match self {
            Self::Tenant => e.ticket_id.is_some(),
            Self::Site(s) => e.site_id == s && e.ticket_id.is_some(),
            Self::Display(s) => e.site_id == s && e.for_displays,
            Self::Queue(q) => e.queue_id == Some(q),
        }
    }
}

const RESYNC: &str = r#"{"type":"resync"}"#;
const PING_FRAME: &str = r#"{"type":"ping"}"#;

async fn pump(
    socket: WebSocket,
    state: WebState,
    tenant: TenantId,
    filter: Filter,
    site: Option<Site>,
) {
    let hub = state.live.clone();
    // Subscribe before the snapshot: an event in between is sent twice, never lost.
    let mut rx = hub.subscribe(tenant);
    let (mut sink, mut stream) = socket.split();
    if sink
        .send(Message::Text(hello_frame(&hub, tenant, &site).await))
        .await
        .is_err()
    {
        return;
    }
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    loop {
        let out = tokio::select! {
            m = rx.recv() => match m {
                Ok(ev) if filter.matches(&ev) => ev.frame.clone(),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    hello_frame(&hub, tenant, &site).await
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            m = stream.next() => match m {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => continue,
            },
            _ = ping.tick() => Utf8Bytes::from_static(PING_FRAME),
        };
        if sink.send(Message::Text(out)).await.is_err() {
            break;
        }
    }
}

/// The first frame of a feed: a display's snapshot, else "resync" (re-fetch your region).
async fn hello_frame(hub: &Arc<dyn LiveHub>, tenant: TenantId, site: &Option<Site>) -> Utf8Bytes {
    match site {
        Some(s) => hub.display_snapshot(tenant, s).await,
        None => Utf8Bytes::from_static(RESYNC),
    }
}

/// The same feed as [`pump`], as server-sent events: the fallback for networks and proxies
/// that refuse WebSocket upgrades (the script switches after failed attempts). Frames are
/// the same JSON; comments keep the stream alive every [`PING`].
fn sse(state: WebState, tenant: TenantId, filter: Filter, site: Option<Site>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    struct Feed {
        hub: Arc<dyn LiveHub>,
        rx: broadcast::Receiver<Arc<LiveEvent>>,
        hello: bool,
    }
    let hub = state.live.clone();
    // Subscribe before the snapshot: an event in between is sent twice, never lost.
    let rx = hub.subscribe(tenant);
    let feed = Feed {
        hub,
        rx,
        hello: true,
    };
    let event = |f: Utf8Bytes| Ok::<_, std::convert::Infallible>(Event::default().data(f.as_str()));
    let stream = futures::stream::unfold(feed, move |mut st| {
        let site = site.clone();
        async move {
            if st.hello {
                st.hello = false;
                let f = hello_frame(&st.hub, tenant, &site).await;
                return Some((event(f), st));
            }
            loop {
                match st.rx.recv().await {
                    Ok(ev) if filter.matches(&ev) => return Some((event(ev.frame.clone()), st)),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let f = hello_frame(&st.hub, tenant, &site).await;
                        return Some((event(f), st));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(PING))
        .into_response()
}

/// `/live/events?site=…`: [`staff_ws`] as server-sent events.
pub(crate) async fn staff_events(
    State(state): State<WebState>,
    staff: Staff,
    Query(q): Query<SiteQuery>,
) -> Response {
    let filter = match q.site.as_deref().map(str::parse::<uuid::Uuid>) {
        Some(Ok(s)) if staff.principal.may_see_site(s.into()) => Filter::Site(s.into()),
        Some(_) => return axum::http::StatusCode::NOT_FOUND.into_response(),
        None => Filter::Tenant,
    };
    sse(state, staff.tenant.id, filter, None)
}

/// `/display/{key}/events`: [`display_ws`] as server-sent events.
pub(crate) async fn display_events(
    State(state): State<WebState>,
    Path(key): Path<String>,
) -> Response {
    match state.app.device_session(&key, DeviceKind::Display).await {
        Ok(d) => {
            let (tenant, site) = (d.tenant.id, d.site);
            sse(state, tenant, Filter::Display(site.id), Some(site))
        }
        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/t/{token}/events`: [`tracker_ws`] as server-sent events.
pub(crate) async fn tracker_events(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Response {
    match state.app.tracked_ticket(&token).await {
        Ok((tenant, view, _)) => {
            let q = view.ticket.queue_id;
            sse(state, tenant.id, Filter::Queue(q), None)
        }
        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// Live sockets only receive frames and send nothing but pongs and closes, so they get
/// small buffers: tungstenite's 128 KiB read buffer per connection would make 5,000
/// displays cost over 600 MB.
fn lean(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(16 * 1024)
        .max_frame_size(16 * 1024)
}

#[derive(Debug, Deserialize)]
pub(crate) struct SiteQuery {
    site: Option<String>,
}

/// `/live/ws?site=…`: a signed-in staff member's feed (console, supervisor).
pub(crate) async fn staff_ws(
    State(state): State<WebState>,
    staff: Staff,
    Query(q): Query<SiteQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let filter = match q.site.as_deref().map(str::parse::<uuid::Uuid>) {
        Some(Ok(s)) if staff.principal.may_see_site(s.into()) => Filter::Site(s.into()),
        Some(_) => return axum::http::StatusCode::NOT_FOUND.into_response(),
        None => Filter::Tenant,
    };
    let tenant = staff.tenant.id;
    lean(ws).on_upgrade(move |s| pump(s, state, tenant, filter, None))
}

/// `/display/{key}/ws`: a display's feed, starting with a snapshot of its site.
pub(crate) async fn display_ws(
    State(state): State<WebState>,
    Path(key): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    match state.app.device_session(&key, DeviceKind::Display).await {
        Ok(d) => {
            let (tenant, site) = (d.tenant.id, d.site);
            lean(ws)
                .on_upgrade(move |s| pump(s, state, tenant, Filter::Display(site.id), Some(site)))
        }
        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/t/{token}/ws`: a tracked ticket's queue (any call there moves its position).
pub(crate) async fn tracker_ws(
    State(state): State<WebState>,
    Path(token): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    match state.app.tracked_ticket(&token).await {
        Ok((tenant, view, _)) => {
            let q = view.ticket.queue_id;
            lean(ws).on_upgrade(move |s| pump(s, state, tenant.id, Filter::Queue(q), None))
        }
        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_spelled_and_announced_in_the_sites_language() {
        assert_eq!(spell("A012"), "A 0 1 2");
        let en = announcement("en", "A012", "3");
        assert!(en.contains("A 0 1 2") && en.contains('3'), "{en}");
        assert!(!en.contains('\u{2068}'));
        assert_ne!(announcement("fr", "A012", "3"), en);
    }
}
