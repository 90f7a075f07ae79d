//! Device and public pages: the display screen and the kiosk (opened with a paired
//! device's key) and the ticket tracker (opened from the kiosk's QR code or a message
//! link, with an unguessable token). None of them needs a login; each is limited to what
//! its key or token grants.

use super::*;
use axum::extract::{Path, RawQuery, State};
use sq_app::{DeviceSession, TicketView};
use sq_domain::model::{Service, Site};
use sq_domain::ticket::{TicketAction, TicketStatus};
use sq_domain::*;
use sq_store::{DeviceKind, IssueTicket};

async fn device(
    s: &WebState,
    key: &str,
    kind: DeviceKind,
    headers: &HeaderMap,
) -> Result<DeviceSession, Response> {
    s.app.device_session(key, kind).await.map_err(|e| {
        let (tr, _) = negotiate(headers, None, None);
        app_error(&tr, e)
    })
}

// ---- display ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "display.html")]
struct DisplayPage {
    tr: Tr,
    site: Site,
    key: String,
    /// The site's active announcements, in publication order.
    ticker: Vec<String>,
    /// The localised welcome line shown when there are none.
    ticker_fallback: String,
    speech_lang: String,
}

pub(crate) async fn display(
    State(s): State<WebState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let d = match device(&s, &key, DeviceKind::Display, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    // A display speaks the site's language unless asked otherwise (?lang=).
    let (tr, _) = negotiate(
        &HeaderMap::new(),
        q.as_deref(),
        Some(d.site.locale.as_str()),
    );
    let ticker = match s.app.ticker(&d.principal, &d.tenant, d.site.id).await {
        Ok(t) => t,
        Err(e) => return app_error(&tr, e),
    };
    let ticker_fallback = tr.t1("web-display-ticker", "site", d.site.name.as_str());
    let page = DisplayPage {
        speech_lang: d.site.locale.as_str().to_owned(),
        tr,
        ticker,
        ticker_fallback,
        key,
        site: d.site,
    };
    render(&page)
}

// ---- kiosk --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "kiosk.html")]
struct KioskPage {
    tr: Tr,
    site: Site,
    key: String,
    csrf: String,
    services: Vec<Service>,
}

pub(crate) async fn kiosk(
    State(s): State<WebState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let d = match device(&s, &key, DeviceKind::Kiosk, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (tr, chosen) = negotiate(&headers, q.as_deref(), Some(d.site.locale.as_str()));
    let (csrf, set) = csrf_token(&headers);
    let services = match s.app.services(&d.principal, &d.tenant).await {
        Ok(v) => v.into_iter().filter(|x| x.site_id == d.site.id).collect(),
        Err(e) => return app_error(&tr, e),
    };
    let page = KioskPage {
        tr,
        site: d.site,
        key,
        csrf,
        services,
    };
    with_cookies(
        render(&page),
        set.into_iter().chain(lang_cookie(&headers, chosen)),
    )
}

pub(crate) async fn kiosk_issue(
    State(s): State<WebState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    crate::extract::Meta(meta): crate::extract::Meta,
    CsrfForm(form): CsrfForm,
) -> Response {
    let d = match device(&s, &key, DeviceKind::Kiosk, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (tr, _) = negotiate(&headers, None, Some(d.site.locale.as_str()));
    let Some(service) = form
        .get("service_id")
        .and_then(|v| v.parse::<uuid::Uuid>().ok())
    else {
        return error_page(&tr, StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    };
    let req = IssueTicket {
        service_id: service.into(),
        channel: Channel::Kiosk,
        priority: 0,
        contact: None,
    };
    match s
        .app
        .issue_ticket(&d.principal, &d.tenant, req, &meta)
        .await
    {
        Ok(v) => {
            let token = s.app.tracker_token(d.tenant.id, v.ticket.id);
            Redirect::to(&format!("/kiosk/{key}/ticket/{token}")).into_response()
        }
        Err(e) => app_error(&tr, e),
    }
}

/// A ticket as the kiosk and the tracker show it.
pub(crate) struct TicketInfo {
    pub number: String,
    pub status: TicketStatus,
    pub status_text: String,
    pub position: Option<u32>,
    pub eta: Option<String>,
    pub queue: String,
    pub counter: Option<String>,
}

async fn info(s: &WebState, tr: &Tr, tenant: TenantId, v: &TicketView) -> TicketInfo {
    let queue = s
        .app
        .store
        .queue(tenant, v.ticket.queue_id)
        .await
        .ok()
        .flatten()
        .map(|q| q.name.as_str().to_owned())
        .unwrap_or_default();
    let counter = match v.ticket.counter_id {
        Some(c) => s
            .app
            .store
            .counter(tenant, c)
            .await
            .ok()
            .flatten()
            .map(|c| c.name.as_str().to_owned()),
        None => None,
    };
    TicketInfo {
        number: v.ticket.number.clone(),
        status: v.ticket.status,
        status_text: tr.t(&format!("web-ticket-status-{}", v.ticket.status.as_str())),
        position: v.position,
        eta: v.eta.map(|e| {
            let (lo, hi) = (minutes(e.min_seconds), minutes(e.max_seconds));
            if lo == hi {
                tr.t1("web-eta-about", "min", &lo.to_string())
            } else {
                tr.t2(
                    "web-eta-range",
                    ("min", &lo.to_string()),
                    ("max", &hi.to_string()),
                )
            }
        }),
        queue,
        counter,
    }
}

#[derive(Template)]
#[template(path = "kiosk_ticket.html")]
struct KioskTicketPage {
    tr: Tr,
    key: String,
    site: Site,
    t: TicketInfo,
    tracker_url: String,
    qr_svg: String,
    /// Click-to-chat that makes a WhatsApp chat follow this ticket, when the tenant has one.
    whatsapp_url: Option<String>,
}

/// The tracker link as an SVG QR code (inline: nothing to fetch, prints sharp).
pub(crate) fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

pub(crate) async fn kiosk_ticket(
    State(s): State<WebState>,
    Path((key, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let d = match device(&s, &key, DeviceKind::Kiosk, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (tr, _) = negotiate(&headers, None, Some(d.site.locale.as_str()));
    let (tenant, view, _) = match s.app.tracked_ticket(&token).await {
        // A kiosk shows tickets of its own site only.
        Ok(x) if x.1.ticket.site_id == d.site.id => x,
        Ok(_) => return error_page(&tr, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return app_error(&tr, e),
    };
    let tracker_url = format!("{}/t/{token}", origin(&headers));
    let whatsapp_url = match &s.messaging {
        Some(m) => m.whatsapp_follow_link(tenant.id, &token).await,
        None => None,
    };
    let page = KioskTicketPage {
        whatsapp_url,
        t: info(&s, &tr, tenant.id, &view).await,
        qr_svg: qr_svg(&tracker_url),
        tracker_url,
        tr,
        key,
        site: d.site,
    };
    render(&page)
}

// ---- tracker ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "tracker_live.html")]
struct TrackerLive {
    tr: Tr,
    t: TicketInfo,
    token: String,
    csrf: String,
    flash: Option<String>,
}

#[derive(Template)]
#[template(path = "tracker.html")]
struct TrackerPage {
    tr: Tr,
    token: String,
    live: String,
}

async fn tracker_live_html(
    s: &WebState,
    headers: &HeaderMap,
    tr: &Tr,
    token: &str,
    csrf: &str,
    flash: Option<String>,
) -> Result<String, AppError> {
    let (tenant, view, _) = s.app.tracked_ticket(token).await?;
    let _ = headers;
    let live = TrackerLive {
        t: info(s, tr, tenant.id, &view).await,
        tr: tr.clone(),
        token: token.to_owned(),
        csrf: csrf.to_owned(),
        flash,
    };
    live.render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

pub(crate) async fn tracker(
    State(s): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (tr, chosen) = negotiate(&headers, q.as_deref(), None);
    let (csrf, set) = csrf_token(&headers);
    let flash = q
        .as_deref()
        .and_then(|q| form_pairs(q.as_bytes()).remove("msg"))
        .filter(|m| m == "cancelled")
        .map(|_| tr.t("web-tracker-cancelled"));
    match tracker_live_html(&s, &headers, &tr, &token, &csrf, flash).await {
        Ok(live) => {
            let page = TrackerPage { tr, token, live };
            with_cookies(
                render(&page),
                set.into_iter().chain(lang_cookie(&headers, chosen)),
            )
        }
        Err(e) => app_error(&tr, e),
    }
}

pub(crate) async fn tracker_live(
    State(s): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let (csrf, _) = csrf_token(&headers);
    match tracker_live_html(&s, &headers, &tr, &token, &csrf, None).await {
        Ok(h) => Html(h).into_response(),
        Err(e) => app_error(&tr, e),
    }
}

pub(crate) async fn tracker_cancel(
    State(s): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    crate::extract::Meta(meta): crate::extract::Meta,
    CsrfForm(_): CsrfForm,
) -> Response {
    let (tr, _) = negotiate(&headers, None, None);
    let (tenant, view, principal) = match s.app.tracked_ticket(&token).await {
        Ok(x) => x,
        Err(e) => return app_error(&tr, e),
    };
    match s
        .app
        .act(
            &principal,
            &tenant,
            view.ticket.id,
            TicketAction::Cancel,
            &meta,
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/t/{token}?msg=cancelled")).into_response(),
        Err(e) => app_error(&tr, e),
    }
}
