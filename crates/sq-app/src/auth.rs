//! Authentication: argon2 passwords, short-lived JWT access tokens, rotating refresh tokens
//! (a replayed one revokes its family) and hashed, scoped API keys.

use crate::{App, AppError, RequestMeta, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sq_domain::auth::Scope;
use sq_domain::model::{Tenant, User};
use sq_domain::ticket::Actor;
use sq_domain::*;
use sq_store::{ApiKey, NewApiKey, NewRefreshToken, NewUser, RefreshOutcome};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

const API_KEY_PREFIX: &str = "sqk_";

#[derive(Clone)]
pub struct AuthConfig {
    pub jwt_secret: Vec<u8>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish()
    }
}

impl AuthConfig {
    pub fn new(jwt_secret: Vec<u8>) -> Self {
        Self {
            jwt_secret,
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(30),
        }
    }
}

/// A login to create: the password in clear (hashed here, never stored).
#[derive(Clone)]
pub struct NewLogin {
    pub email: String,
    pub password: String,
    pub role: Role,
    pub site_id: Option<SiteId>,
}

impl std::fmt::Debug for NewLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLogin")
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Who is calling, resolved from a token or API key.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub actor: Actor,
    pub user_id: Option<UserId>,
    /// `None` only for super admins (platform-wide).
    pub tenant_id: Option<TenantId>,
    pub role: Option<Role>,
    pub scopes: Vec<Scope>,
    /// Devices are limited to one site.
    pub site_id: Option<SiteId>,
}

impl Principal {
    /// The platform itself (CLI seeding, jobs).
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            user_id: None,
            tenant_id: None,
            role: Some(Role::SuperAdmin),
            scopes: Scope::ALL.to_vec(),
            site_id: None,
        }
    }

    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(scope.as_str()))
        }
    }

    pub fn may_access(&self, tenant: TenantId) -> bool {
        match self.tenant_id {
            Some(t) => t == tenant,
            None => self.role == Some(Role::SuperAdmin),
        }
    }

    /// Devices see one site only; anything else of theirs is "not found".
    pub fn may_see_site(&self, site: SiteId) -> bool {
        self.site_id.is_none_or(|s| s == site)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    tid: Option<TenantId>,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<SiteId>,
    iat: i64,
    exp: i64,
}

/// Login throttling, in memory: per e-mail (failures) and per client address (attempts).
/// A restart forgets it, which is acceptable for throttling; several web nodes each keep
/// their own window (documented).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    windows: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl LoginLimiter {
    const WINDOW: Duration = Duration::minutes(15);
    const MAX_FAILURES_PER_EMAIL: usize = 5;
    const MAX_ATTEMPTS_PER_IP: usize = 30;

    fn over(&self, key: &str, max: usize, now: DateTime<Utc>) -> Option<u64> {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let q = w.entry(key.to_owned()).or_default();
        while q.front().is_some_and(|t| *t <= now - Self::WINDOW) {
            q.pop_front();
        }
        (q.len() >= max).then(|| {
            let oldest = *q.front().unwrap_or(&now);
            (oldest + Self::WINDOW - now).num_seconds().max(1) as u64
        })
    }

    fn record(&self, key: &str, now: DateTime<Utc>) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.entry(key.to_owned()).or_default().push_back(now);
    }

    fn forget(&self, key: &str) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Hashes a password with argon2id (default parameters) off the async threads.
pub async fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < 8 {
        return Err(AppError::Invalid {
            code: "weak_password",
            field: "password",
            detail: "at least 8 characters".into(),
        });
    }
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(|e| AppError::Internal(e.to_string()))
}

async fn verify_password(password: &str, hash: &str) -> bool {
    let (pw, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(pw.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Verified against when the e-mail is unknown, so both paths cost the same (no user
/// enumeration by timing).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$QjnSmtF6Xw3cM7wR5bPLDGd1Q9UOydF9mm8n9gfA6yk";

impl App {
    /// Exchanges e-mail and password for a token pair.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<TokenPair> {
        let now = self.now();
        let ip_key = format!("ip:{}", meta.ip.as_deref().unwrap_or("-"));
        let email_key = format!("email:{}", email.trim().to_lowercase());
        for (key, max) in [
            (&ip_key, LoginLimiter::MAX_ATTEMPTS_PER_IP),
            (&email_key, LoginLimiter::MAX_FAILURES_PER_EMAIL),
        ] {
            if let Some(retry_after_secs) = self.limiter.over(key, max, now) {
                return Err(AppError::TooManyAttempts { retry_after_secs });
            }
        }
        self.limiter.record(&ip_key, now);
        let record = match email.parse::<Email>() {
            Ok(e) => self.store.user_by_email(&e).await?,
            Err(_) => None,
        };
        let hash = record
            .as_ref()
            .map_or(DUMMY_HASH, |r| r.password_hash.as_str());
        let ok = verify_password(password, hash).await;
        match record {
            Some(r) if ok => {
                self.limiter.forget(&email_key);
                self.issue_tokens(&r.user, uuid::Uuid::new_v4()).await
            }
            _ => {
                self.limiter.record(&email_key, now);
                Err(AppError::InvalidCredentials)
            }
        }
    }

    async fn issue_tokens(&self, user: &User, family: uuid::Uuid) -> Result<TokenPair> {
        let refresh = random_token(32);
        self.store
            .store_refresh_token(NewRefreshToken {
                token_hash: sha256_hex(&refresh),
                user_id: user.id,
                family,
                expires_at: self.now() + self.auth.refresh_ttl,
            })
            .await?;
        Ok(TokenPair {
            access_token: self.access_token(user)?,
            refresh_token: refresh,
            token_type: "Bearer".into(),
            expires_in: self.auth.access_ttl.num_seconds(),
        })
    }

    fn access_token(&self, user: &User) -> Result<String> {
        let now = self.now().timestamp();
        let claims = Claims {
            sub: user.id,
            tid: user.tenant_id,
            role: user.role,
            site: user.site_id,
            iat: now,
            exp: now + self.auth.access_ttl.num_seconds(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.auth.jwt_secret),
        )
        .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Rotates a refresh token. A token that was already used is refused and its whole
    /// family revoked: whoever holds a copy (thief or owner) must log in again.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let new = random_token(32);
        let outcome = self
            .store
            .rotate_refresh_token(
                &sha256_hex(refresh_token),
                &sha256_hex(&new),
                self.now() + self.auth.refresh_ttl,
                self.now(),
            )
            .await?;
        let user_id = match outcome {
            RefreshOutcome::Rotated { user_id } => user_id,
            RefreshOutcome::Reused => return Err(AppError::TokenReused),
            RefreshOutcome::Expired | RefreshOutcome::Unknown => {
                return Err(AppError::InvalidToken);
            }
        };
        let user = self
            .store
            .user(user_id)
            .await?
            .ok_or(AppError::InvalidToken)?;
        Ok(TokenPair {
            access_token: self.access_token(&user)?,
            refresh_token: new,
            token_type: "Bearer".into(),
            expires_in: self.auth.access_ttl.num_seconds(),
        })
    }

    /// Resolves a bearer token: an API key (`sqk_…`) or a JWT access token.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        if token.starts_with(API_KEY_PREFIX) {
            let key = self
                .store
                .api_key_by_hash(&sha256_hex(token))
                .await?
                .ok_or(AppError::InvalidToken)?;
            return Ok(Principal {
                actor: Actor::ApiKey(key.id),
                user_id: None,
                tenant_id: Some(key.tenant_id),
                role: None,
                scopes: key.scopes,
                site_id: None,
            });
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.auth.jwt_secret),
            &validation,
        )
        .map_err(|_| AppError::InvalidToken)?;
        let c = data.claims;
        Ok(Principal {
            actor: Actor::User(c.sub),
            user_id: Some(c.sub),
            tenant_id: c.tid,
            role: Some(c.role),
            scopes: c.role.scopes().to_vec(),
            site_id: if c.role == Role::Device { c.site } else { None },
        })
    }

    /// Creates a login. Only super admins create super admins; admins create users of
    /// their own tenant.
    pub async fn create_user(
        &self,
        p: &Principal,
        tenant: Option<&Tenant>,
        login: NewLogin,
        meta: &RequestMeta,
    ) -> Result<User> {
        let NewLogin {
            email,
            password,
            role,
            site_id,
        } = login;
        match tenant {
            Some(t) => {
                p.require(Scope::ManageTenant)?;
                if !p.may_access(t.id) {
                    return Err(AppError::NotFound("tenant"));
                }
                if role == Role::SuperAdmin {
                    p.require(Scope::ManagePlatform)?;
                }
            }
            None => p.require(Scope::ManagePlatform)?,
        }
        let email: Email = email.parse().map_err(|e| AppError::invalid("email", e))?;
        if let (Some(t), Some(site)) = (tenant, site_id)
            && self.store.site(t.id, site).await?.is_none()
        {
            return Err(AppError::NotFound("site"));
        }
        if role == Role::Device && site_id.is_none() {
            return Err(AppError::Invalid {
                code: "site_required",
                field: "site_id",
                detail: "devices belong to one site".into(),
            });
        }
        let password_hash = hash_password(&password).await?;
        let u = NewUser {
            tenant_id: tenant.map(|t| t.id),
            email,
            password_hash,
            role,
            site_id,
        };
        Ok(self.store.create_user(u, &self.ctx(p, meta)).await?)
    }

    /// Creates an API key; the secret is returned once and only its hash is stored.
    pub async fn create_api_key(
        &self,
        p: &Principal,
        tenant: &Tenant,
        name: &str,
        scopes: Vec<Scope>,
        meta: &RequestMeta,
    ) -> Result<(ApiKey, String)> {
        p.require(Scope::ManageTenant)?;
        if scopes.is_empty() {
            return Err(AppError::Invalid {
                code: "scopes_required",
                field: "scopes",
                detail: "at least one scope".into(),
            });
        }
        // A key can never hold more than its creator.
        if let Some(s) = scopes.iter().find(|s| !p.scopes.contains(s)) {
            return Err(AppError::Forbidden(s.as_str()));
        }
        let name: Name = name.parse().map_err(|e| AppError::invalid("name", e))?;
        let secret = format!("{API_KEY_PREFIX}{}", random_token(24));
        let key = NewApiKey {
            name,
            prefix: secret[..API_KEY_PREFIX.len() + 6].to_owned(),
            key_hash: sha256_hex(&secret),
            scopes,
            created_by: p.user_id,
        };
        let stored = self
            .store
            .create_api_key(tenant.id, key, &self.ctx(p, meta))
            .await?;
        Ok((stored, secret))
    }

    /// Revokes one of the tenant's API keys: it stops authenticating at once.
    pub async fn revoke_api_key(
        &self,
        p: &Principal,
        tenant: &Tenant,
        id: ApiKeyId,
        meta: &RequestMeta,
    ) -> Result<ApiKey> {
        p.require(Scope::ManageTenant)?;
        if !p.may_access(tenant.id) {
            return Err(AppError::NotFound("tenant"));
        }
        Ok(self
            .store
            .revoke_api_key(tenant.id, id, &self.ctx(p, meta))
            .await?)
    }

    /// The tenant's API keys, without their secrets (only hashes are stored).
    pub async fn api_keys(&self, p: &Principal, tenant: &Tenant) -> Result<Vec<ApiKey>> {
        p.require(Scope::ManageTenant)?;
        if !p.may_access(tenant.id) {
            return Err(AppError::NotFound("tenant"));
        }
        Ok(self.store.api_keys(tenant.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dummy_hash_is_a_valid_argon2_string() {
        // If this fails, unknown e-mails would answer faster than wrong passwords.
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("x", DUMMY_HASH).await);
    }

    #[test]
    fn limiter_blocks_after_the_limit_and_recovers() {
        let l = LoginLimiter::default();
        let t0 = Utc::now();
        for _ in 0..LoginLimiter::MAX_FAILURES_PER_EMAIL {
            assert!(
                l.over("k", LoginLimiter::MAX_FAILURES_PER_EMAIL, t0)
                    .is_none()
            );
            l.record("k", t0);
        }
        assert!(
            l.over("k", LoginLimiter::MAX_FAILURES_PER_EMAIL, t0)
                .is_some()
        );
        assert!(
            l.over(
                "k",
                LoginLimiter::MAX_FAILURES_PER_EMAIL,
                t0 + Duration::minutes(16)
            )
            .is_none()
        );
    }
}
