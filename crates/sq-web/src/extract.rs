//! Extractors whose rejections speak the API's error envelope: the caller ([`Auth`],
//! [`Scoped`]), request metadata for the audit log ([`Meta`]) and wrappers of axum's JSON,
//! path and query extractors ([`ApiJson`], [`ApiPath`], [`ApiQuery`]).

use crate::WebState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, Path, Query, RawPathParams, Request,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use sq_app::{AppError, Principal, RequestMeta};
use sq_domain::model::Tenant;
use std::net::SocketAddr;

/// The authenticated caller: `Authorization: Bearer <jwt | sqk_…>` or `X-Api-Key: sqk_…`.
/// Missing → 401 `unauthenticated`; unknown, expired or malformed → 401 `invalid_token`.
#[derive(Clone, Debug)]
pub struct Auth(pub Principal);

fn presented_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| ApiError::from(AppError::InvalidToken))?;
        let (scheme, token) = v.split_once(' ').unwrap_or((v, ""));
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(AppError::InvalidToken.into());
        }
        return Ok(Some(token));
    }
    match headers.get("x-api-key") {
        Some(v) => v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Some)
            .ok_or_else(|| AppError::InvalidToken.into()),
        None => Ok(None),
    }
}

impl FromRequestParts<WebState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let token = presented_token(&parts.headers)?.ok_or(AppError::Unauthenticated)?;
        Ok(Self(state.app.authenticate(token).await?))
    }
}

/// Where the request came from, for the audit log. The address is the TCP peer (the
/// binary serves with `ConnectInfo`); forwarded headers are not trusted.
#[derive(Clone, Debug, Default)]
pub struct Meta(pub RequestMeta);

const MAX_USER_AGENT: usize = 256;

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Ok(Self(RequestMeta { ip, user_agent }))
    }
}

/// A caller inside a tenant: the principal, the tenant named by the `{tenant}` path
/// segment (another tenant's slug is 404 `not_found`, never 403) and the request metadata.
#[derive(Clone, Debug)]
pub struct Scoped {
    pub principal: Principal,
    pub tenant: Tenant,
    pub meta: RequestMeta,
}

impl FromRequestParts<WebState> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let Ok(Meta(meta)) = Meta::from_request_parts(parts, state).await;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound("tenant"))?;
        let slug = params
            .iter()
            .find_map(|(k, v)| (k == "tenant").then_some(v))
            .ok_or(AppError::NotFound("tenant"))?;
        let tenant = state.app.tenant_for(&principal, slug).await?;
        Ok(Self {
            principal,
            tenant,
            meta,
        })
    }
}

/// A JSON body. Not JSON → 400 `malformed_json`; valid JSON of the wrong shape → 422
/// `invalid_request` (or `invalid_id` for an `…_id` field) with the JSON path as `field`;
/// wrong content type → 415; over the body limit → 413.
#[derive(Clone, Debug)]
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body means `T::default()` (optional bodies).
#[derive(Clone, Debug)]
pub struct ApiJsonOrEmpty<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

async fn body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from_code("payload_too_large")
        } else {
            ApiError::from_code("invalid_request")
        }
    })
}

/// Parses a JSON body, naming the offending field when the JSON is valid but does not fit.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => data_error(path, &inner),
            _ => ApiError::from_code("malformed_json"),
        }
    })?;
    de.end()
        .map_err(|_| ApiError::from_code("malformed_json"))?;
    Ok(value)
}

fn data_error(path: String, e: &serde_json::Error) -> ApiError {
    let msg = e.to_string();
    let mut field = (path != ".").then_some(path);
    let missing = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next());
    if let Some(name) = missing {
        field = Some(match field {
            Some(parent) => format!("{parent}.{name}"),
            None => name.to_owned(),
        });
    }
    let is_id = missing.is_none()
        && field
            .as_deref()
            .and_then(|f| f.rsplit('.').next())
            .is_some_and(|last| last.ends_with("_id"));
    let code = if is_id {
        "invalid_id"
    } else {
        "invalid_request"
    };
    ApiError::from_code(code).with_field(field.unwrap_or_default())
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::from_code("unsupported_media_type"));
        }
        let bytes = body(req, state).await?;
        parse_json(&bytes).map(Self)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for ApiJsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(req.headers());
        let bytes = body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(ApiError::from_code("unsupported_media_type"));
        }
        parse_json(&bytes).map(Self)
    }
}

/// Path parameters. An id that is not a UUID → 422 `invalid_id` naming the parameter.
#[derive(Clone, Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Self(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(match e.into_kind() {
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::InvalidUtf8InPathParam { key }
                | ErrorKind::DeserializeError { key, .. } => {
                    ApiError::from_code("invalid_id").with_field(key)
                }
                _ => ApiError::from_code("invalid_id"),
            }),
            Err(e) => {
                tracing::error!(error = %e, "path parameters missing: routing bug");
                Err(ApiError::from_code("internal_error"))
            }
        }
    }
}

/// Query parameters. Fields are taken as strings and parsed by the handler, so each bad
/// value gets its own code; anything else → 422 `invalid_request`.
#[derive(Clone, Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|_| ApiError::from_code("invalid_request"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        service_id: uuid::Uuid,
        #[serde(default)]
        skills: Vec<Skill>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Skill {
        service_id: uuid::Uuid,
        weight: u8,
    }

    const ID: &str = "0190f4b6-7c1e-7000-8000-000000000001";

    fn err(json: &str) -> (&'static str, Option<String>) {
        let e = parse_json::<Body>(json.as_bytes()).unwrap_err();
        (e.code(), e.field().map(str::to_owned))
    }

    #[test]
    fn json_errors_name_their_field() {
        assert_eq!(err("{"), ("malformed_json", None));
        let trailing = format!(r#"{{"name":"a","service_id":"{ID}"}} x"#);
        assert_eq!(err(&trailing), ("malformed_json", None));
        assert_eq!(err("{}"), ("invalid_request", Some("name".into())));
        assert_eq!(
            err(r#"{"name": "a", "service_id": "nope"}"#),
            ("invalid_id", Some("service_id".into()))
        );
        let bad_weight = format!(
            r#"{{"name":"a","service_id":"{ID}","skills":[{{"service_id":"{ID}","weight":300}}]}}"#
        );
        assert_eq!(
            err(&bad_weight),
            ("invalid_request", Some("skills[0].weight".into()))
        );
        let missing = format!(r#"{{"name":"a","service_id":"{ID}","skills":[{{"weight":3}}]}}"#);
        assert_eq!(
            err(&missing),
            ("invalid_request", Some("skills[0].service_id".into()))
        );
        assert!(
            parse_json::<Body>(format!(r#"{{"name":"a","service_id":"{ID}"}}"#).as_bytes()).is_ok()
        );
    }

    #[test]
    fn tokens_come_from_bearer_or_x_api_key() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h).unwrap(), None);
        h.insert("x-api-key", "sqk_abc".parse().unwrap());
        assert_eq!(presented_token(&h).unwrap(), Some("sqk_abc"));
        h.insert(header::AUTHORIZATION, "bearer tok".parse().unwrap());
        assert_eq!(presented_token(&h).unwrap(), Some("tok"));
        h.insert(header::AUTHORIZATION, "Basic dXNlcg==".parse().unwrap());
        assert_eq!(presented_token(&h).unwrap_err().code(), "invalid_token");
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(presented_token(&h).unwrap_err().code(), "invalid_token");
    }
}
