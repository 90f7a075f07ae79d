//! The OpenAPI 3.1 document (`/api/v1/openapi.json`) and a small page that renders it
//! (`/api/docs`) with a few lines of JavaScript: no CDN, it works offline.
//!
//! Scopes are declared once per operation, as the scopes of its security requirement;
//! [`Conventions`] copies them into the description and an `x-required-scopes` extension,
//! and adds the error responses every operation of its kind can return, so the handler
//! attributes only list what is specific to them.

use crate::api::ApiDoc;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use std::sync::LazyLock;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Adds the security schemes, scope notes and common error responses.
#[derive(Debug)]
pub(crate) struct Conventions;

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build(),
        )
        .build()
        .into()
}

/// The scopes of an operation's first security requirement, if it has one.
fn scopes(op: &Operation) -> Option<Vec<String>> {
    let req = op.security.as_ref()?.first()?;
    let v = serde_json::to_value(req).ok()?;
    let scopes = v.as_object()?.values().next()?.as_array()?;
    Some(
        scopes
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
    )
}

fn annotate(path: &str, op: &mut Operation) {
    let secured = match scopes(op) {
        Some(scopes) => {
            let note = if scopes.is_empty() {
                "**Scope:** any authenticated caller.".to_owned()
            } else {
                let list: Vec<String> = scopes.iter().map(|s| format!("`{s}`")).collect();
                format!("**Scope:** {}.", list.join(", "))
            };
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{note}\n\n{d}"),
                _ => note,
            });
            op.extensions
                .get_or_insert_with(Extensions::default)
                .merge(Extensions::from_iter([(
                    "x-required-scopes",
                    serde_json::json!(scopes),
                )]));
            // An API key is accepted in `X-Api-Key` as well as in `Authorization`.
            if let Some(sec) = op.security.as_mut()
                && let Some(first) = sec.first()
                && let Ok(v) = serde_json::to_value(first)
                && let Some(obj) = v.as_object()
                && let Some((_, s)) = obj.iter().next()
            {
                let s: Vec<String> = serde_json::from_value(s.clone()).unwrap_or_default();
                sec.push(utoipa::openapi::security::SecurityRequirement::new(
                    "api_key", s,
                ));
            }
            true
        }
        None => false,
    };
    let r = &mut op.responses.responses;
    let mut add = |status: &str, text: &str| {
        r.entry(status.to_owned())
            .or_insert_with(|| error_response(text));
    };
    if op.request_body.is_some() {
        add("400", "`malformed_json`: the body is not JSON.");
        add(
            "413",
            "`payload_too_large`: the body is over the limit (64 KiB).",
        );
        add("415", "`unsupported_media_type`: send `application/json`.");
        add(
            "422",
            "A value was refused: `invalid_*` (e.g. `invalid_phone`), `invalid_request`, \
             `invalid_id`, `weak_password`…; `field` names it.",
        );
    } else if path.contains("{id}") || path.ends_with("/tickets") {
        add("422", "`invalid_id` (or another `invalid_*` query value).");
    }
    if secured {
        add(
            "401",
            "`unauthenticated` (no credentials) or `invalid_token`.",
        );
        add("403", "`forbidden`: the caller lacks the scope.");
    }
    if path.contains("{tenant}") {
        add(
            "404",
            "`not_found`: unknown tenant or id, including any of another tenant.",
        );
    }
    add(
        "500",
        "`internal_error` (the cause is logged, never returned).",
    );
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description =
            Some("An access token from `POST /api/v1/auth/token`, or an API key (`sqk_…`).".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "An API key (`sqk_…`) from `POST /api/v1/tenants/{tenant}/api-keys`.",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                annotate(path, op);
            }
        }
    }
}

/// The document, rendered once.
pub(crate) fn openapi_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    });
    &JSON
}

pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json())
}

pub(crate) async fn page() -> Html<&'static str> {
    Html(PAGE)
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SmartQueue API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 64rem; padding: 1rem 1.5rem; color: #1d232a; }
  h1 { margin-bottom: .2rem } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
  details { border: 1px solid #ddd; border-radius: 6px; margin: .4rem 0; }
  summary { cursor: pointer; padding: .45rem .7rem; display: flex; gap: .6rem; align-items: baseline; }
  summary::before { content: "▸"; color: #888; } details[open] > summary::before { content: "▾"; }
  summary::-webkit-details-marker { display: none; } summary { list-style: none; }
  .m { display: inline-block; min-width: 3.6rem; font: bold 12px monospace; text-transform: uppercase; }
  .get { color: #0b6e4f } .post { color: #8a4b08 } .put, .patch { color: #3a4ba8 } .delete { color: #a01818 }
  code, .path { font-family: ui-monospace, monospace; } .path { white-space: nowrap; }
  .scope { margin-left: auto; font-size: 12px; color: #555; white-space: nowrap; }
  .body { padding: 0 1rem .6rem; } table { border-collapse: collapse; margin: .3rem 0; }
  td, th { border: 1px solid #e3e3e3; padding: .2rem .5rem; text-align: left; vertical-align: top; font-size: 13px; }
  .muted { color: #666 }
</style>
</head>
<body>
<h1>SmartQueue API</h1>
<p class="muted">Rendered from <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<div id="intro"></div>
<p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> (an access token from
<code>POST /api/v1/auth/token</code>, or an API key <code>sqk_…</code>) or <code>X-Api-Key: sqk_…</code>.
Every error is an <code>ErrorEnvelope</code>:
<code>{"error": {"code": "invalid_phone", "message": "…", "field": "contact.phone"}}</code>;
clients branch on <code>code</code>, people read <code>message</code> (in the language of
<code>Accept-Language</code>).</p>
<div id="ops">Loading…</div>
<script>
"use strict";
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};
let spec;
// `code` and **bold** from the descriptions, without ever parsing them as HTML.
function md(text) {
  const span = el("span");
  text.split(/(`[^`]*`|\*\*[^*]*\*\*)/).forEach(part => {
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) span.append(el("code", {}, part.slice(1, -1)));
    else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) span.append(el("b", {}, part.slice(2, -2)));
    else span.append(part);
  });
  return span;
}
const openAll = new URLSearchParams(location.search).has("open");
const deref = s => (s && s.$ref) ? spec.components.schemas[s.$ref.split("/").pop()] : s;
const refName = s => s && s.$ref ? s.$ref.split("/").pop() : null;
function typeOf(s) {
  if (!s) return "";
  if (s.$ref) return refName(s);
  if (s.oneOf) return s.oneOf.map(typeOf).join(" | ");
  if (s.allOf) return s.allOf.map(typeOf).join(" & ");
  if (s.enum) return s.enum.map(v => JSON.stringify(v)).join(" | ");
  let t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "object");
  if (s.items) t = typeOf(s.items) + "[]" + (Array.isArray(s.type) && s.type.includes("null") ? " | null" : "");
  return t + (s.format ? " (" + s.format + ")" : "");
}
function schemaTable(s, seen = new Set()) {
  const name = refName(s);
  if (name && seen.has(name)) return el("span", {}, name);
  if (name) seen.add(name);
  const d = deref(s);
  if (!d) return el("span");
  if (d.type === "array" && d.items) {
    const w = el("div", {}, "array of ");
    w.append(schemaTable(d.items, seen));
    return w;
  }
  const parts = d.allOf ? d.allOf.map(deref) : [d];
  const props = Object.assign({}, ...parts.map(p => (p && p.properties) || {}));
  const required = new Set(parts.flatMap(p => (p && p.required) || []));
  if (!Object.keys(props).length) return el("code", {}, typeOf(s));
  const t = el("table", {}, el("tr", {}, el("th", {}, name || "field"), el("th", {}, "type"), el("th", {}, "")));
  for (const [k, v] of Object.entries(props)) {
    const desc = (deref(v) || {}).description || v.description || "";
    t.append(el("tr", {}, el("td", {}, el("code", {}, k + (required.has(k) ? "" : "?"))),
      el("td", {}, typeOf(v)), el("td", {}, md(desc))));
  }
  return t;
}
function operation(path, method, op) {
  const scopes = op["x-required-scopes"];
  const scope = scopes === undefined ? "public" : (scopes.length ? scopes.join(", ") : "any caller");
  const d = el("details", {}, el("summary", {},
    el("span", { class: "m " + method }, method), " ", el("span", { class: "path" }, path), " ",
    el("span", { class: "muted" }, md(op.summary || "")), el("span", { class: "scope" }, "scope: " + scope)));
  if (openAll) d.open = true;
  const b = el("div", { class: "body" });
  for (const para of (op.description || "").split("\n\n")) if (para) b.append(el("p", {}, md(para)));
  const params = (op.parameters || []).map(p => p.name + " (" + p.in + ")");
  if (params.length) b.append(el("p", {}, "Parameters: ", el("code", {}, params.join(", "))));
  const rb = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  if (rb) { b.append(el("h4", {}, "Request body")); b.append(schemaTable(rb.schema)); }
  b.append(el("h4", {}, "Responses"));
  const rt = el("table");
  for (const [status, r] of Object.entries(op.responses || {})) {
    const c = r.content && r.content["application/json"];
    rt.append(el("tr", {}, el("td", {}, status), el("td", {}, md(r.description || "")),
      el("td", {}, !c ? "" : refName(c.schema) === "ErrorEnvelope" ? el("code", {}, "ErrorEnvelope") : schemaTable(c.schema))));
  }
  b.append(rt);
  d.append(b);
  return d;
}
fetch("/api/v1/openapi.json").then(r => r.json()).then(s => {
  spec = s;
  document.getElementById("intro").append(el("p", {}, md(s.info.description || "")));
  const byTag = new Map((s.tags || []).map(t => [t.name, []]));
  for (const [path, item] of Object.entries(s.paths))
    for (const m of ["get", "post", "put", "patch", "delete"])
      if (item[m]) {
        const tag = (item[m].tags || ["other"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push(operation(path, m, item[m]));
      }
  const root = document.getElementById("ops");
  root.textContent = "";
  for (const [tag, ops] of byTag) {
    if (!ops.length) continue;
    const t = (s.tags || []).find(x => x.name === tag);
    root.append(el("h2", {}, tag), el("p", { class: "muted" }, (t && t.description) || ""), ...ops);
  }
}).catch(e => { document.getElementById("ops").textContent = "Could not load the spec: " + e; });
</script>
</body>
</html>
"##;
