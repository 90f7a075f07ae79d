//! Staff pages: login and logout, the agent console, the supervisor view and device
//! pairing. Each handler resolves the signed-in [`Staff`] member and calls the same
//! [`sq_app::App`] use cases as the API.

use super::*;
use axum::extract::{Path, RawQuery, State};
use chrono::Utc;
use sq_app::{QueueOverview, TicketView};
use sq_domain::auth::Scope;
use sq_domain::model::{Agent, Counter, Queue, Site};
use sq_domain::ticket::{Ticket, TicketAction, TicketStatus};
use sq_domain::*;
use sq_store::{Device, DeviceKind, TicketFilter};

// ---- login ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    csrf: String,
    error: Option<String>,
    email: String,
}

pub(crate) async fn login_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let (tr, chosen) = negotiate(&headers, q.as_deref(), None);
    let (csrf, set) = csrf_token(&headers);
    let page = LoginPage {
        tr,
        csrf,
        error: None,
        email: String::new(),
    };
    with_cookies(
        render(&page),
        set.into_iter().chain(lang_cookie(&headers, chosen)),
    )
}

pub(crate) async fn login(
    State(s): State<WebState>,
    headers: HeaderMap,
    crate::extract::Meta(meta): crate::extract::Meta,
    CsrfForm(form): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let email = form.get("email").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    match s.app.web_login(&email, &password, &meta).await {
        Ok((p, token)) => {
            let home = if p.scopes.contains(&Scope::ReadReports) && p.role != Some(Role::Agent) {
                "/supervisor"
            } else {
                "/console"
            };
            let max_age = sq_app::SESSION_TTL.num_seconds();
            with_cookies(
                Redirect::to(home).into_response(),
                [set_cookie(&headers, SESSION_COOKIE, &token, Some(max_age))],
            )
        }
        Err(e) => {
            let status = crate::error::ApiError::from(AppError::InvalidCredentials).status();
            let code = crate::error::ApiError::from(e).code();
            let (csrf, _) = csrf_token(&headers);
            let page = LoginPage {
                error: Some(tr.error(code)),
                tr,
                csrf,
                email,
            };
            let mut res = render(&page);
            *res.status_mut() = if code == "too_many_attempts" {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                status
            };
            res
        }
    }
}

pub(crate) async fn logout(headers: HeaderMap, CsrfForm(_): CsrfForm) -> Response {
    with_cookies(
        Redirect::to("/login").into_response(),
        [set_cookie(&headers, SESSION_COOKIE, "", Some(0))],
    )
}

// ---- agent console ----------------------------------------------------------------------

/// What the top bar of staff pages shows.
pub(crate) struct Nav {
    pub csrf: String,
    pub can_supervise: bool,
    pub can_manage: bool,
    pub can_announce: bool,
}

impl Nav {
    fn of(p: &Principal, csrf: String) -> Self {
        Self {
            csrf,
            can_supervise: p.scopes.contains(&Scope::ReadReports),
            can_manage: p.scopes.contains(&Scope::ManageTenant),
            can_announce: p.scopes.contains(&Scope::ManageAnnouncements),
        }
    }
}

pub(crate) struct WaitingRow {
    pub number: String,
    pub queue: String,
    pub waited: String,
}

#[derive(Template)]
#[template(path = "console_live.html")]
pub(crate) struct ConsoleLive {
    tr: Tr,
    csrf: String,
    current: Option<Ticket>,
    current_since: i64,
    current_timer: String,
    /// The customer's name and language, when known ("—" otherwise).
    customer: String,
    language: String,
    transfer_queues: Vec<Queue>,
    waiting: Vec<WaitingRow>,
    served_today: usize,
    avg_service: String,
    flash: Option<String>,
}

/// One checkbox of "Queues I serve".
pub(crate) struct QueueChoice {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    tr: Tr,
    nav: Nav,
    agent: Option<Agent>,
    counters: Vec<Counter>,
    counter: Option<Counter>,
    queue_choices: Vec<QueueChoice>,
    site_id: String,
    live: String,
}

const COUNTER_COOKIE: &str = "sq_counter";
/// The agent's chosen queues ("Queues I serve"), ids joined by `.` (a cookie value may not
/// hold commas). Absent: all the queues the agent serves.
const QUEUES_COOKIE: &str = "sq_queues";

struct ConsoleData {
    agent: Option<Agent>,
    counters: Vec<Counter>,
    counter: Option<Counter>,
    site: Option<SiteId>,
    /// The queues of the agent's site (transfer targets).
    site_queues: Vec<Queue>,
    /// Those the agent has a skill for: what "Queues I serve" offers.
    servable: Vec<Queue>,
    /// The chosen ones among `servable` (from the cookie); empty: all of them.
    chosen: Vec<QueueId>,
}

impl ConsoleData {
    /// The queues the waiting list shows and Call next calls from.
    fn serving(&self) -> impl Iterator<Item = &Queue> {
        self.servable
            .iter()
            .filter(|q| self.chosen.is_empty() || self.chosen.contains(&q.id))
    }

    /// The restriction to hand to call-next: `None` when nothing is chosen.
    fn restriction(&self) -> Option<&[QueueId]> {
        (!self.chosen.is_empty()).then_some(self.chosen.as_slice())
    }
}

async fn console_data(
    s: &WebState,
    staff: &Staff,
    headers: &HeaderMap,
) -> Result<ConsoleData, AppError> {
    let p = &staff.principal;
    let agent = match p.user_id {
        Some(u) => s.app.store.agent_by_user(staff.tenant.id, u).await?,
        None => None,
    };
    let counters: Vec<Counter> = s
        .app
        .counters(p, &staff.tenant)
        .await?
        .into_iter()
        .filter(|c| agent.as_ref().is_none_or(|a| a.site_id == c.site_id))
        .collect();
    let chosen = cookie(headers, COUNTER_COOKIE);
    let counter = counters
        .iter()
        .find(|c| Some(c.id.to_string()) == chosen)
        .cloned();
    let site = agent.as_ref().map(|a| a.site_id);
    let site_queues: Vec<Queue> = match &agent {
        Some(a) => s
            .app
            .queues(p, &staff.tenant)
            .await?
            .into_iter()
            .filter(|q| q.site_id == a.site_id)
            .collect(),
        None => Vec::new(),
    };
    let servable: Vec<Queue> = site_queues
        .iter()
        .filter(|q| {
            agent
                .as_ref()
                .is_some_and(|a| a.weight_for(q.service_id).is_some())
        })
        .cloned()
        .collect();
    // A remembered queue the agent no longer serves (skill removed) is simply dropped.
    let remembered = cookie(headers, QUEUES_COOKIE).unwrap_or_default();
    let chosen = servable
        .iter()
        .map(|q| q.id)
        .filter(|id| remembered.split('.').any(|x| x == id.to_string()))
        .collect();
    Ok(ConsoleData {
        agent,
        counters,
        counter,
        site,
        site_queues,
        servable,
        chosen,
    })
}

async fn console_live_html(
    s: &WebState,
    staff: &Staff,
    tr: &Tr,
    csrf: &str,
    d: &ConsoleData,
    flash: Option<String>,
) -> Result<String, AppError> {
    let p = &staff.principal;
    let t = &staff.tenant;
    let now = Utc::now();
    let Some(agent) = &d.agent else {
        return Ok(String::new());
    };
    let tickets = s
        .app
        .tickets(
            p,
            t,
            &TicketFilter {
                status: None,
                queue_id: None,
                limit: Some(1000),
            },
        )
        .await?;
    let mine: Vec<&Ticket> = tickets
        .iter()
        .map(|v| &v.ticket)
        .filter(|x| x.agent_id == Some(agent.id))
        .collect();
    let current = mine
        .iter()
        .filter(|x| x.status.is_at_counter())
        .max_by_key(|x| x.called_at)
        .map(|x| (*x).clone());
    let site = s.app.store.site(t.id, agent.site_id).await?;
    let today = site
        .as_ref()
        .map(|st| now.with_timezone(&st.timezone.0).date_naive());
    let served: Vec<f64> = mine
        .iter()
        .filter(|x| x.status == TicketStatus::Served && Some(x.local_date) == today)
        .filter_map(|x| x.service_secs())
        .collect();
    let avg = if served.is_empty() {
        "—".to_owned()
    } else {
        clock((served.iter().sum::<f64>() / served.len() as f64).round() as i64)
    };
    let mut waiting = Vec::new();
    for q in d.serving() {
        let o: QueueOverview = s.app.queue_overview(p, t, q.id).await?;
        for v in o.next {
            let TicketView { ticket, .. } = v;
            waiting.push((
                ticket.arrived_at,
                WaitingRow {
                    number: ticket.number.clone(),
                    queue: q.name.as_str().to_owned(),
                    waited: clock((now - ticket.arrived_at).num_seconds()),
                },
            ));
        }
    }
    waiting.sort_by_key(|(at, _)| *at);
    let summary = match current.as_ref().and_then(|c| c.contact_id) {
        Some(id) => s.app.store.contact_summary(t.id, id).await?,
        None => None,
    };
    let customer = summary
        .as_ref()
        .and_then(|c| c.name.as_ref())
        .map_or_else(|| "—".to_owned(), |n| n.as_str().to_owned());
    let language = summary
        .and_then(|c| c.locale)
        .map_or_else(|| "—".to_owned(), |l| l.as_str().to_owned());
    let since = current
        .as_ref()
        .and_then(|c| c.started_at.or(c.called_at))
        .map_or(0, |x| x.timestamp_millis());
    let live = ConsoleLive {
        tr: tr.clone(),
        csrf: csrf.to_owned(),
        current_timer: clock((now.timestamp_millis() - since) / 1000),
        current_since: since,
        current,
        customer,
        language,
        transfer_queues: d.site_queues.clone(),
        waiting: waiting.into_iter().map(|(_, w)| w).collect(),
        served_today: served.len(),
        avg_service: avg,
        flash,
    };
    live.render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

pub(crate) async fn console(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (tr, chosen) = negotiate(&headers, q.as_deref(), None);
    let (csrf, set) = csrf_token(&headers);
    let flash = q
        .as_deref()
        .and_then(|q| form_pairs(q.as_bytes()).remove("msg"))
        .filter(|m| m.len() < 40 && m.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(|m| tr.error(&m));
    let d = match console_data(&s, &staff, &headers).await {
        Ok(d) => d,
        Err(e) => return app_error(&tr, e),
    };
    let live = match console_live_html(&s, &staff, &tr, &csrf, &d, flash).await {
        Ok(h) => h,
        Err(e) => return app_error(&tr, e),
    };
    let queue_choices = d
        .servable
        .iter()
        .map(|q| QueueChoice {
            id: q.id.to_string(),
            name: q.name.as_str().to_owned(),
            prefix: q.prefix.to_string(),
            checked: d.chosen.contains(&q.id),
        })
        .collect();
    let page = ConsolePage {
        nav: Nav::of(&staff.principal, csrf),
        tr,
        queue_choices,
        site_id: d.site.map(|x| x.to_string()).unwrap_or_default(),
        agent: d.agent,
        counters: d.counters,
        counter: d.counter,
        live,
    };
    with_cookies(
        render(&page),
        set.into_iter().chain(lang_cookie(&headers, chosen)),
    )
}

/// The console's live region alone, fetched again by the page on every live event.
pub(crate) async fn console_live(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let (csrf, _) = csrf_token(&headers);
    let html = match console_data(&s, &staff, &headers).await {
        Ok(d) => console_live_html(&s, &staff, &tr, &csrf, &d, None).await,
        Err(e) => Err(e),
    };
    match html {
        Ok(h) => Html(h).into_response(),
        Err(e) => app_error(&tr, e),
    }
}

pub(crate) async fn console_counter(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let id = form.get("counter_id").cloned().unwrap_or_default();
    let counters = match s.app.counters(&staff.principal, &staff.tenant).await {
        Ok(c) => c,
        Err(e) => return app_error(&tr, e),
    };
    if !counters.iter().any(|c| c.id.to_string() == id) {
        return error_page(&tr, StatusCode::NOT_FOUND, "not_found");
    }
    with_cookies(
        Redirect::to("/console").into_response(),
        [set_cookie(&headers, COUNTER_COOKIE, &id, Some(365 * 86400))],
    )
}

/// "Queues I serve": remembers the ticked queues in a cookie, like the counter. Every id
/// must be a queue the agent serves (else nothing is remembered: 422 `invalid_id` for a
/// malformed id, 404 for one this tenant does not have, 422 `queue_not_served` for one of
/// another site or service); none ticked forgets the choice (all my queues).
pub(crate) async fn console_queues(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let d = match console_data(&s, &staff, &headers).await {
        Ok(d) => d,
        Err(e) => return app_error(&tr, e),
    };
    let mut chosen: Vec<QueueId> = Vec::new();
    for raw in form.all("queue_id") {
        let Ok(id) = raw.parse::<QueueId>() else {
            return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
        };
        if !d.servable.iter().any(|q| q.id == id) {
            let code = if d.site_queues.iter().any(|q| q.id == id) {
                "queue_not_served"
            } else {
                match s.app.store.queue(staff.tenant.id, id).await {
                    Ok(Some(_)) => "queue_not_served",
                    Ok(None) => "not_found",
                    Err(e) => return app_error(&tr, e.into()),
                }
            };
            let status = crate::error::ApiError::from_code(code).status();
            return error_page(&tr, status, code);
        }
        if !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    let value = chosen
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let age = if chosen.is_empty() { 0 } else { 365 * 86400 };
    with_cookies(
        Redirect::to("/console").into_response(),
        [set_cookie(&headers, QUEUES_COOKIE, &value, Some(age))],
    )
}

fn back(result: Result<(), AppError>) -> Response {
    match result {
        Ok(()) => Redirect::to("/console").into_response(),
        Err(e) => {
            let code = crate::error::ApiError::from(e).code();
            Redirect::to(&format!("/console?msg={code}")).into_response()
        }
    }
}

pub(crate) async fn console_call_next(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let d = match console_data(&s, &staff, &headers).await {
        Ok(d) => d,
        Err(e) => return app_error(&tr, e),
    };
    let (Some(agent), Some(counter)) = (&d.agent, &d.counter) else {
        return back(Err(AppError::Invalid {
            code: "counter_required",
            field: "counter_id",
            detail: "pick a counter first".into(),
        }));
    };
    let r = s
        .app
        .call_next(
            &staff.principal,
            &staff.tenant,
            agent.id,
            counter.id,
            d.restriction(),
            &staff.meta,
        )
        .await;
    back(r.map(drop))
}

pub(crate) async fn console_act(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let Some(id) = form
        .get("ticket_id")
        .and_then(|v| v.parse::<uuid::Uuid>().ok())
    else {
        return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    };
    let action = match form.get("action").map(String::as_str) {
        Some("recall") => TicketAction::Recall,
        Some("start") => TicketAction::Start,
        Some("close") => TicketAction::Close,
        Some("no_show") => TicketAction::NoShow,
        Some("resume") => TicketAction::Resume,
        Some("pause") => TicketAction::Pause {
            reason: form
                .get("reason")
                .map(|r| r.trim().chars().take(200).collect::<String>())
                .filter(|r| !r.is_empty()),
        },
        Some("transfer") => match form
            .get("to_queue_id")
            .and_then(|v| v.parse::<uuid::Uuid>().ok())
        {
            Some(q) => TicketAction::Transfer {
                to_queue_id: q.into(),
                keep_position: true,
            },
            None => return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_id"),
        },
        _ => return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
    };
    let r = s
        .app
        .act(
            &staff.principal,
            &staff.tenant,
            id.into(),
            action,
            &staff.meta,
        )
        .await;
    back(r.map(drop))
}

// ---- supervisor -------------------------------------------------------------------------

pub(crate) struct QueueRow {
    pub name: String,
    pub prefix: String,
    pub waiting: u32,
    pub longest: String,
    pub sla: String,
    /// `ok`, `warn` (80 % of the SLA) or `breach`.
    pub level: &'static str,
    pub served_today: usize,
    pub status: String,
}

pub(crate) struct AgentRow {
    pub name: String,
    pub status: String,
    pub ticket: String,
}

#[derive(Template)]
#[template(path = "supervisor_live.html")]
pub(crate) struct SupervisorLive {
    tr: Tr,
    queues: Vec<QueueRow>,
    agents: Vec<AgentRow>,
}

#[derive(Template)]
#[template(path = "supervisor.html")]
struct SupervisorPage {
    tr: Tr,
    nav: Nav,
    sites: Vec<Site>,
    site: Option<Site>,
    live: String,
}

/// The site a supervisor page shows: `?site=<id>` among the caller's sites, else the first.
fn chosen_site(sites: &[Site], q: Option<&str>) -> Option<Site> {
    let wanted = q.and_then(|q| form_pairs(q.as_bytes()).remove("site"));
    sites
        .iter()
        .find(|x| Some(x.id.to_string()) == wanted)
        .or_else(|| sites.first())
        .cloned()
}

async fn supervisor_html(
    s: &WebState,
    staff: &Staff,
    tr: &Tr,
    q: Option<&str>,
) -> Result<(Vec<Site>, Option<Site>, String), AppError> {
    let p = &staff.principal;
    p.require(Scope::ReadReports)?;
    let t = &staff.tenant;
    let sites = s.app.sites(p, t).await?;
    let Some(site) = chosen_site(&sites, q) else {
        return Ok((sites, None, String::new()));
    };
    let now = Utc::now();
    let today = now.with_timezone(&site.timezone.0).date_naive();
    let services = s.app.services(p, t).await?;
    let all = s
        .app
        .store
        .tickets(
            t.id,
            &TicketFilter {
                status: Some(TicketStatus::Served),
                queue_id: None,
                limit: Some(1000),
            },
        )
        .await?;
    let mut queues = Vec::new();
    for q in s
        .app
        .queues(p, t)
        .await?
        .into_iter()
        .filter(|q| q.site_id == site.id)
    {
        let o = s.app.queue_overview(p, t, q.id).await?;
        let sla = services
            .iter()
            .find(|x| x.id == q.service_id)
            .map_or(0, |x| x.sla_target_secs);
        let ratio = o.longest_wait_seconds as f64 / f64::from(sla.max(1));
        queues.push(QueueRow {
            name: q.name.as_str().to_owned(),
            prefix: q.prefix.to_string(),
            waiting: o.waiting,
            longest: clock(o.longest_wait_seconds as i64),
            sla: clock(i64::from(sla)),
            level: if ratio >= 1.0 {
                "breach"
            } else if ratio >= 0.8 {
                "warn"
            } else {
                "ok"
            },
            served_today: all
                .iter()
                .filter(|x| x.queue_id == q.id && x.local_date == today)
                .count(),
            status: tr.t(&format!("web-queue-status-{}", q.status.as_str())),
        });
    }
    let at_counter: Vec<Ticket> = s
        .app
        .store
        .tickets(
            t.id,
            &TicketFilter {
                status: None,
                queue_id: None,
                limit: Some(300),
            },
        )
        .await?
        .into_iter()
        .filter(|x| x.status.is_at_counter())
        .collect();
    let agents = s
        .app
        .agents(p, t)
        .await?
        .into_iter()
        .filter(|a| a.site_id == site.id)
        .map(|a| AgentRow {
            ticket: at_counter
                .iter()
                .find(|x| x.agent_id == Some(a.id))
                .map(|x| x.number.clone())
                .unwrap_or_default(),
            name: a.name.as_str().to_owned(),
            status: tr.t(&format!("web-agent-status-{}", a.status.as_str())),
        })
        .collect();
    let live = SupervisorLive {
        tr: tr.clone(),
        queues,
        agents,
    };
    let html = live
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok((sites, Some(site), html))
}

pub(crate) async fn supervisor(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (tr, chosen) = negotiate(&headers, q.as_deref(), None);
    let (csrf, set) = csrf_token(&headers);
    let (sites, site, live) = match supervisor_html(&s, &staff, &tr, q.as_deref()).await {
        Ok(x) => x,
        Err(e) => return app_error(&tr, e),
    };
    let page = SupervisorPage {
        nav: Nav::of(&staff.principal, csrf),
        tr,
        sites,
        site,
        live,
    };
    with_cookies(
        render(&page),
        set.into_iter().chain(lang_cookie(&headers, chosen)),
    )
}

pub(crate) async fn supervisor_live(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    match supervisor_html(&s, &staff, &tr, q.as_deref()).await {
        Ok((_, _, h)) => Html(h).into_response(),
        Err(e) => app_error(&tr, e),
    }
}

// ---- device pairing ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    tr: Tr,
    nav: Nav,
    sites: Vec<Site>,
    devices: Vec<Device>,
    /// The key of a device just created: shown once.
    created: Option<(Device, String, String)>,
}

async fn devices_page(
    s: &WebState,
    staff: &Staff,
    headers: &HeaderMap,
    tr: Tr,
    created: Option<(Device, String)>,
) -> Response {
    let (csrf, set) = csrf_token(headers);
    let p = &staff.principal;
    let (sites, devices) = match (
        s.app.sites(p, &staff.tenant).await,
        s.app.devices(p, &staff.tenant).await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return app_error(&tr, e),
    };
    let created = created.map(|(d, key)| {
        let path = match d.kind {
            DeviceKind::Display => "display",
            DeviceKind::Kiosk => "kiosk",
        };
        let url = format!("{}/{path}/{key}", origin(headers));
        (d, key, url)
    });
    let page = DevicesPage {
        tr,
        nav: Nav::of(p, csrf),
        sites,
        devices,
        created,
    };
    with_cookies(render(&page), set)
}

pub(crate) async fn devices(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    devices_page(&s, &staff, &headers, tr, None).await
}

pub(crate) async fn create_device(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let Some(site) = form
        .get("site_id")
        .and_then(|v| v.parse::<uuid::Uuid>().ok())
    else {
        return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    };
    let Some(kind) = form.get("kind").and_then(|k| DeviceKind::parse(k)) else {
        return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    };
    let name = form.get("name").cloned().unwrap_or_default();
    match s
        .app
        .create_device(
            &staff.principal,
            &staff.tenant,
            site.into(),
            &name,
            kind,
            &staff.meta,
        )
        .await
    {
        Ok(created) => devices_page(&s, &staff, &headers, tr, Some(created)).await,
        Err(e) => app_error(&tr, e),
    }
}

pub(crate) async fn revoke_device(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return error_page(&tr, StatusCode::NOT_FOUND, "not_found");
    };
    match s
        .app
        .revoke_device(&staff.principal, &staff.tenant, id.into(), &staff.meta)
        .await
    {
        Ok(_) => Redirect::to("/admin/devices").into_response(),
        Err(e) => app_error(&tr, e),
    }
}

// ---- announcements ------------------------------------------------------------------------

/// One row of the announcements table, with its times in the site's zone.
pub(crate) struct AnnouncementRow {
    pub id: String,
    pub text: String,
    pub starts: String,
    pub ends: String,
    /// `active`, `scheduled` or `ended`.
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "announcements.html")]
struct AnnouncementsPage {
    tr: Tr,
    nav: Nav,
    sites: Vec<Site>,
    site: Option<Site>,
    rows: Vec<AnnouncementRow>,
}

async fn announcements_page(
    s: &WebState,
    staff: &Staff,
    headers: &HeaderMap,
    tr: Tr,
    wanted: Option<&str>,
) -> Response {
    let (csrf, set) = csrf_token(headers);
    let p = &staff.principal;
    let t = &staff.tenant;
    if let Err(e) = p.require(Scope::ManageAnnouncements) {
        return app_error(&tr, e);
    }
    let sites = match s.app.sites(p, t).await {
        Ok(x) => x,
        Err(e) => return app_error(&tr, e),
    };
    let site = chosen_site(&sites, wanted);
    let mut rows = Vec::new();
    if let Some(site) = &site {
        let list = match s.app.announcements(p, t, site.id).await {
            Ok(x) => x,
            Err(e) => return app_error(&tr, e),
        };
        let now = s.app.now();
        let local = |at: Option<chrono::DateTime<Utc>>| {
            at.map_or_else(
                || "—".to_owned(),
                |x| {
                    x.with_timezone(&site.timezone.0)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                },
            )
        };
        rows = list
            .into_iter()
            .map(|a| AnnouncementRow {
                id: a.id.to_string(),
                status: if a.is_active(now) {
                    "active"
                } else if a.starts_at.is_some_and(|x| x > now) {
                    "scheduled"
                } else {
                    "ended"
                },
                starts: local(a.starts_at),
                ends: local(a.ends_at),
                text: a.text.into(),
            })
            .collect();
    }
    let page = AnnouncementsPage {
        tr,
        nav: Nav::of(p, csrf),
        sites,
        site,
        rows,
    };
    with_cookies(render(&page), set)
}

pub(crate) async fn announcements(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (tr, chosen) = negotiate(&headers, q.as_deref(), None);
    let res = announcements_page(&s, &staff, &headers, tr, q.as_deref()).await;
    with_cookies(res, lang_cookie(&headers, chosen))
}

/// A `datetime-local` field in the site's time zone; empty is `None`. In a DST gap or
/// fold the earlier instant is taken.
fn local_time(
    form: &Form,
    field: &'static str,
    zone: chrono_tz::Tz,
) -> Result<Option<chrono::DateTime<Utc>>, &'static str> {
    let Some(v) = form.get(field).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let naive = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| "invalid_request")?;
    use chrono::TimeZone as _;
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|x| Some(x.with_timezone(&Utc)))
        .ok_or("invalid_request")
}

pub(crate) async fn create_announcement(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let Some(site_id) = form.get("site_id").and_then(|v| v.parse::<SiteId>().ok()) else {
        return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    };
    let p = &staff.principal;
    let site = match s.app.store.site(staff.tenant.id, site_id).await {
        Ok(Some(x)) if p.may_see_site(x.id) => x,
        Ok(_) => return error_page(&tr, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return app_error(&tr, e.into()),
    };
    let window = local_time(&form, "starts_at", site.timezone.0)
        .and_then(|a| Ok((a, local_time(&form, "ends_at", site.timezone.0)?)));
    let (starts_at, ends_at) = match window {
        Ok(w) => w,
        Err(code) => return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, code),
    };
    let text = form.get("text").cloned().unwrap_or_default();
    match s
        .app
        .create_announcement(
            p,
            &staff.tenant,
            site.id,
            &text,
            starts_at,
            ends_at,
            &staff.meta,
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/announcements?site={}", site.id)).into_response(),
        Err(e) => app_error(&tr, e),
    }
}

pub(crate) async fn delete_announcement(
    State(s): State<WebState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let (Ok(id), Some(site)) = (
        id.parse::<AnnouncementId>(),
        form.get("site_id").and_then(|v| v.parse::<SiteId>().ok()),
    ) else {
        return error_page(&tr, StatusCode::NOT_FOUND, "not_found");
    };
    match s
        .app
        .delete_announcement(&staff.principal, &staff.tenant, site, id, &staff.meta)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/announcements?site={site}")).into_response(),
        Err(e) => app_error(&tr, e),
    }
}
