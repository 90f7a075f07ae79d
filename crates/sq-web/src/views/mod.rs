//! Server-rendered web views (issue 5, ARCHITECTURE.md §8): staff login, agent console,
//! supervisor, device pairing, and the device and public pages (display, kiosk, ticket
//! tracker). Templates are askama files in `templates/` at the repository root; the small
//! JavaScript and CSS are compiled in and served from `/static/`; live updates come over
//! WebSocket from the [`live`] hub.
//!
//! Every action goes through the same [`sq_app::App`] use cases as the API, with the same
//! principal rules. Forms carry a CSRF token (double submit: an HttpOnly SameSite=Strict
//! cookie and a hidden field that must match); a POST without it is refused with 403
//! before anything is read or changed.

mod pages;
mod public;

pub mod live;

use crate::WebState;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use sq_app::{AppError, Principal};
use sq_i18n::{FluentArgs, Prefs};
use std::collections::HashMap;

/// The session cookie (signed user id + expiry, see `sq_app` web module).
pub const SESSION_COOKIE: &str = "sq_session";
/// The CSRF double-submit cookie; forms echo it in [`CSRF_FIELD`].
pub const CSRF_COOKIE: &str = "sq_csrf";
pub const CSRF_FIELD: &str = "_csrf";
const LANG_COOKIE: &str = "sq_lang";
/// Languages with a full set of web strings.
pub const LANGUAGES: &[&str] = &["en", "fr", "ar", "sw", "pt"];

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/login") }))
        .route("/static/app.js", get(asset_js))
        .route("/static/app.css", get(asset_css))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/console", get(pages::console))
        .route("/console/live", get(pages::console_live))
        .route("/console/counter", post(pages::console_counter))
        .route("/console/queues", post(pages::console_queues))
        .route("/console/call-next", post(pages::console_call_next))
        .route("/console/act", post(pages::console_act))
        .route("/supervisor", get(pages::supervisor))
        .route("/supervisor/live", get(pages::supervisor_live))
        .route(
            "/admin/devices",
            get(pages::devices).post(pages::create_device),
        )
        .route("/admin/devices/{id}/revoke", post(pages::revoke_device))
        .route(
            "/admin/announcements",
            get(pages::announcements).post(pages::create_announcement),
        )
        .route(
            "/admin/announcements/{id}/delete",
            post(pages::delete_announcement),
        )
        .route("/live/ws", get(live::staff_ws))
        .route("/live/events", get(live::staff_events))
        .route("/display/{key}", get(public::display))
        .route("/display/{key}/ws", get(live::display_ws))
        .route("/display/{key}/events", get(live::display_events))
        .route("/kiosk/{key}", get(public::kiosk))
        .route("/kiosk/{key}/ticket", post(public::kiosk_issue))
        .route("/kiosk/{key}/ticket/{token}", get(public::kiosk_ticket))
        .route("/t/{token}", get(public::tracker))
        .route("/t/{token}/live", get(public::tracker_live))
        .route("/t/{token}/cancel", post(public::tracker_cancel))
        .route("/t/{token}/ws", get(live::tracker_ws))
        .route("/t/{token}/events", get(live::tracker_events))
}

async fn asset_js() -> Response {
    asset(
        include_str!("../../../../templates/static/app.js"),
        "text/javascript",
    )
}

async fn asset_css() -> Response {
    asset(
        include_str!("../../../../templates/static/app.css"),
        "text/css",
    )
}

fn asset(body: &'static str, mime: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

// ---- localisation -----------------------------------------------------------------

/// The strings of one page in one language. Templates call `tr.t("web-…")`.
#[derive(Clone, Debug)]
pub struct Tr {
    prefs: Prefs,
}

impl Tr {
    pub fn new(prefs: Prefs) -> Self {
        Self { prefs }
    }

    pub fn for_language(lang: &str) -> Self {
        Self::new(crate::error::catalog().negotiate(&[lang]))
    }

    pub fn lang(&self) -> &str {
        self.prefs.language()
    }

    /// `rtl` for Arabic, else `ltr`.
    pub fn dir(&self) -> &'static str {
        if self.lang() == "ar" { "rtl" } else { "ltr" }
    }

    pub fn t(&self, id: &str) -> String {
        crate::error::catalog().message(&self.prefs, id, None)
    }

    /// A message with one argument.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), value.to_owned());
        crate::error::catalog().message(&self.prefs, id, Some(&args))
    }

    /// A message with two arguments.
    pub fn t2(&self, id: &str, a: (&str, &str), b: (&str, &str)) -> String {
        let mut args = FluentArgs::new();
        args.set(a.0.to_owned(), a.1.to_owned());
        args.set(b.0.to_owned(), b.1.to_owned());
        crate::error::catalog().message(&self.prefs, id, Some(&args))
    }

    /// The localised message of an error code (`error-…` from errors.ftl, or web.ftl).
    pub fn error(&self, code: &str) -> String {
        let id = format!("error-{code}");
        if crate::error::catalog().has_message(&id) {
            self.t(&id)
        } else {
            self.t("web-error-generic")
        }
    }
}

/// The language of a page: `?lang=`, then the `sq_lang` cookie, then `fallback` (a site's
/// language for devices), then `Accept-Language`.
pub(crate) fn negotiate(
    headers: &HeaderMap,
    query: Option<&str>,
    fallback: Option<&str>,
) -> (Tr, Option<String>) {
    let catalog = crate::error::catalog();
    let asked = query
        .and_then(|q| form_pairs(q.as_bytes()).remove("lang"))
        .filter(|l| LANGUAGES.contains(&l.as_str()));
    if let Some(l) = &asked {
        return (Tr::for_language(l), Some(l.clone()));
    }
    if let Some(l) = cookie(headers, LANG_COOKIE).filter(|l| LANGUAGES.contains(&l.as_str())) {
        return (Tr::for_language(&l), None);
    }
    if let Some(l) = fallback {
        return (Tr::new(catalog.negotiate(&[l])), None);
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (Tr::new(catalog.negotiate_accept_language(accept)), None)
}

// ---- cookies and CSRF ----------------------------------------------------------------

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure over TLS.
pub(crate) fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if over_tls(headers) {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("x=; Path=/"))
}

fn new_token() -> String {
    let mut buf = [0u8; 24];
    rand::Rng::fill(&mut rand::rng(), &mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// The CSRF token of this browser, and the cookie to set when it had none.
pub(crate) fn csrf_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE).filter(|c| c.len() >= 16) {
        Some(t) => (t, None),
        None => {
            let t = new_token();
            let c = set_cookie(headers, CSRF_COOKIE, &t, None);
            (t, Some(c))
        }
    }
}

pub(crate) fn form_pairs(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A posted form's fields in order, repeated names kept (a set of checkboxes).
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The value of a field (the last one, when the name repeats).
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Every value of a repeated field, in the order sent.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A posted form whose CSRF field matched the cookie. Anything else is answered 403
/// `csrf_invalid` before the handler runs, so nothing is changed.
#[derive(Debug)]
pub(crate) struct CsrfForm(pub Form);

impl<S: Send + Sync> axum::extract::FromRequest<S> for CsrfForm {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let (tr, _) = negotiate(&headers, req.uri().query(), None);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| error_page(&tr, StatusCode::BAD_REQUEST, "invalid_request"))?;
        let form = Form::parse(&bytes);
        let cookie = cookie(&headers, CSRF_COOKIE).unwrap_or_default();
        let sent = form.get(CSRF_FIELD).map(String::as_str).unwrap_or_default();
        let ok = !cookie.is_empty()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                cookie.as_bytes(),
                sent.as_bytes(),
            ));
        if ok {
            Ok(Self(form))
        } else {
            Err(error_page(&tr, StatusCode::FORBIDDEN, "csrf_invalid"))
        }
    }
}

// ---- the signed-in staff member ------------------------------------------------------

/// A signed-in staff member (session cookie). Without a valid session a page redirects to
/// `/login`.
#[derive(Clone, Debug)]
pub(crate) struct Staff {
    pub principal: Principal,
    pub tenant: sq_domain::model::Tenant,
    pub meta: sq_app::RequestMeta,
}

impl FromRequestParts<WebState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(to_login)?;
        let principal = state
            .app
            .web_session(&token)
            .await
            .map_err(|_| to_login())?;
        // Web views work inside one tenant: the staff member's own. A platform account
        // has none; a page says so rather than looping back to the login.
        let Some(tid) = principal.tenant_id else {
            let (tr, _) = negotiate(&parts.headers, parts.uri.query(), None);
            return Err(error_page(&tr, StatusCode::FORBIDDEN, "platform_login"));
        };
        let tenant = state
            .app
            .store
            .tenant(tid)
            .await
            .ok()
            .flatten()
            .ok_or_else(to_login)?;
        let Ok(crate::extract::Meta(meta)) =
            crate::extract::Meta::from_request_parts(parts, state).await;
        Ok(Self {
            principal,
            tenant,
            meta,
        })
    }
}

// ---- rendering ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    tr: &'a Tr,
    message: String,
    status: u16,
}

/// An HTML error page with the localised message of `code`.
pub(crate) fn error_page(tr: &Tr, status: StatusCode, code: &str) -> Response {
    let page = ErrorPage {
        tr,
        message: tr.error(code),
        status: status.as_u16(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    res
}

/// Renders a template as an HTML response (500 on a template error, which is a bug).
pub(crate) fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// An error of a use case as a page.
pub(crate) fn app_error(tr: &Tr, e: AppError) -> Response {
    let api = crate::error::ApiError::from(e);
    error_page(tr, api.status(), api.code())
}

/// Adds `Set-Cookie` headers to a response.
pub(crate) fn with_cookies(
    mut res: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The page's language choice is remembered when it came from `?lang=`.
pub(crate) fn lang_cookie(headers: &HeaderMap, chosen: Option<String>) -> Option<HeaderValue> {
    chosen.map(|l| set_cookie(headers, LANG_COOKIE, &l, Some(365 * 86400)))
}

/// `https://host` or `http://host` of the request, for links printed on paper (QR codes).
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if over_tls(headers) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Whole minutes, at least 1, for ETA ranges.
pub(crate) fn minutes(secs: u32) -> u32 {
    secs.div_ceil(60).max(1)
}

/// `mm:ss` or `h:mm:ss` of a duration in seconds.
pub(crate) fn clock(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}
