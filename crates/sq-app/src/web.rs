//! Use cases of the web views (issue 5): staff sessions, paired devices (displays and
//! kiosks) and the public ticket tracker's tokens.
//!
//! **Sessions are signed cookies, not stored rows.** A login goes through [`App::login`]
//! (same throttling, same timing-safe check, same audit trail as the API), then the browser
//! gets `user id + expiry + HMAC`. Every request re-reads the user, so a role change applies
//! at once, and no session table has to be written on each page view or swept. The price:
//! logging out clears the cookie but cannot invalidate a copied one before its expiry
//! ([`SESSION_TTL`], a working day). The API's 15-minute access tokens were not used as
//! the cookie because refreshing them from concurrent page, fetch and WebSocket requests
//! would trip refresh-token reuse detection and log people out.
//!
//! **Device keys** are random secrets shown once; only their SHA-256 is stored and a
//! revoked key stops working on the next request.
//!
//! **Announcements** are lines of a site's display ticker, optionally limited to a window
//! of time. Each write publishes [`Change::Announcements`] on the change bus, so open
//! displays (on every node) show it without a reload.
//!
//! **Tracker tokens** are `tenant id + ticket id + HMAC`: unguessable without the server
//! key, checkable without a lookup table, and they never expire (a ticket is one day).

use crate::auth::{random_token, sha256_hex};
use crate::{App, AppError, Change, Principal, RequestMeta, Result, TicketView};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use sq_domain::auth::Scope;
use sq_domain::model::{Site, Tenant};
use sq_domain::ticket::Actor;
use sq_domain::*;
use sq_store::{Announcement, Device, DeviceKind, NewAnnouncement, NewDevice};

/// How long a staff session lasts (a long shift).
pub const SESSION_TTL: Duration = Duration::hours(12);

const DEVICE_KEY_PREFIX: &str = "sqd_";

/// A paired device, resolved from its key.
#[derive(Clone, Debug)]
pub struct DeviceSession {
    pub device: Device,
    pub tenant: Tenant,
    pub site: Site,
    /// Limited to the device's site: read for displays, read + issue for kiosks.
    pub principal: Principal,
}

impl App {
    fn mac(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 16] {
        let mut m = hmac::Hmac::<Sha256>::new_from_slice(&self.auth.jwt_secret)
            .expect("HMAC takes any key length");
        m.update(label);
        for p in parts {
            m.update(p);
        }
        let full = m.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// Logs a staff member in for the web views: `(principal, session cookie value)`.
    pub async fn web_login(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<(Principal, String)> {
        let pair = self.login(email, password, meta).await?;
        let p = self.authenticate(&pair.access_token).await?;
        if p.role == Some(Role::Device) {
            return Err(AppError::Forbidden("call:tickets"));
        }
        let uid = p.user_id.ok_or(AppError::InvalidCredentials)?;
        let exp = (self.now() + SESSION_TTL).timestamp();
        let mut raw = Vec::with_capacity(40);
        raw.extend_from_slice(uid.0.as_bytes());
        raw.extend_from_slice(&exp.to_be_bytes());
        let mac = self.mac(b"sq-web-session\0", &[&raw]);
        raw.extend_from_slice(&mac);
        Ok((p, B64.encode(raw)))
    }

    /// Resolves a session cookie; anything forged, expired or of a vanished user is
    /// `invalid_token`.
    pub async fn web_session(&self, token: &str) -> Result<Principal> {
        let raw = B64.decode(token).map_err(|_| AppError::InvalidToken)?;
        if raw.len() != 40 {
            return Err(AppError::InvalidToken);
        }
        let (body, mac) = raw.split_at(24);
        let want = self.mac(b"sq-web-session\0", &[body]);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(mac, &want[..])) {
            return Err(AppError::InvalidToken);
        }
        let uid = uuid::Uuid::from_slice(&body[..16]).map_err(|_| AppError::InvalidToken)?;
        let exp = i64::from_be_bytes(body[16..24].try_into().expect("8 bytes"));
        if exp <= self.now().timestamp() {
            return Err(AppError::InvalidToken);
        }
        let user = self
            .store
            .user(uid.into())
            .await?
            .ok_or(AppError::InvalidToken)?;
        Ok(Principal {
            actor: Actor::User(user.id),
            user_id: Some(user.id),
            tenant_id: user.tenant_id,
            role: Some(user.role),
            scopes: user.role.scopes().to_vec(),
            site_id: None,
        })
    }

    // ---- devices ------------------------------------------------------------------

    /// Pairs a display or kiosk with a site; the key is returned once.
    pub async fn create_device(
        &self,
        p: &Principal,
        t: &Tenant,
        site_id: SiteId,
        name: &str,
        kind: DeviceKind,
        meta: &RequestMeta,
    ) -> Result<(Device, String)> {
        p.require(Scope::ManageTenant)?;
        if !p.may_access(t.id) {
            return Err(AppError::NotFound("tenant"));
        }
        let name: Name = name.parse().map_err(|e| AppError::invalid("name", e))?;
        let key = format!("{DEVICE_KEY_PREFIX}{}", random_token(24));
        let d = NewDevice {
            site_id,
            name,
            kind,
            prefix: key[..DEVICE_KEY_PREFIX.len() + 6].to_owned(),
            key_hash: sha256_hex(&key),
        };
        let device = self
            .store
            .create_device(t.id, d, &self.ctx(p, meta))
            .await?;
        Ok((device, key))
    }

    pub async fn devices(&self, p: &Principal, t: &Tenant) -> Result<Vec<Device>> {
        p.require(Scope::ManageTenant)?;
        if !p.may_access(t.id) {
            return Err(AppError::NotFound("tenant"));
        }
        Ok(self.store.devices(t.id).await?)
    }

    pub async fn revoke_device(
        &self,
        p: &Principal,
        t: &Tenant,
        id: DeviceId,
        meta: &RequestMeta,
    ) -> Result<Device> {
        p.require(Scope::ManageTenant)?;
        if !p.may_access(t.id) {
            return Err(AppError::NotFound("tenant"));
        }
        Ok(self
            .store
            .revoke_device(t.id, id, &self.ctx(p, meta))
            .await?)
    }

    /// Resolves a device key of the expected kind; unknown, revoked or of the other
    /// kind is `not_found` (the page simply does not exist for that key).
    pub async fn device_session(&self, key: &str, kind: DeviceKind) -> Result<DeviceSession> {
        if !key.starts_with(DEVICE_KEY_PREFIX) || key.len() > 128 {
            return Err(AppError::NotFound("device"));
        }
        let device = self
            .store
            .device_by_key_hash(&sha256_hex(key))
            .await?
            .filter(|d| d.kind == kind)
            .ok_or(AppError::NotFound("device"))?;
        let tenant = self
            .store
            .tenant(device.tenant_id)
            .await?
            .ok_or(AppError::NotFound("device"))?;
        let site = self
            .store
            .site(tenant.id, device.site_id)
            .await?
            .ok_or(AppError::NotFound("device"))?;
        let scopes = match kind {
            DeviceKind::Display => vec![Scope::ReadQueue],
            // Kiosks issue tickets through their own page (ARCHITECTURE §8).
            DeviceKind::Kiosk => vec![Scope::ReadQueue, Scope::WriteQueue],
        };
        let principal = Principal {
            actor: Actor::Device(device.id),
            user_id: None,
            tenant_id: Some(tenant.id),
            role: Some(Role::Device),
            scopes,
            site_id: Some(site.id),
        };
        Ok(DeviceSession {
            device,
            tenant,
            site,
            principal,
        })
    }

    // ---- announcements (display tickers) -------------------------------------------

    /// The site, if the principal manages this tenant's announcements and may see it.
    async fn announcing_site(&self, p: &Principal, t: &Tenant, site: SiteId) -> Result<Site> {
        p.require(Scope::ManageAnnouncements)?;
        if !p.may_access(t.id) || !p.may_see_site(site) {
            return Err(AppError::NotFound("site"));
        }
        self.store
            .site(t.id, site)
            .await?
            .ok_or(AppError::NotFound("site"))
    }

    /// Publishes an announcement on a site's displays, from `starts_at` (or now) until
    /// `ends_at` (or until deleted). The text is parsed here (`invalid_announcement`); an
    /// end not after the start is `invalid_time_window`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_announcement(
        &self,
        p: &Principal,
        t: &Tenant,
        site: SiteId,
        text: &str,
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
        meta: &RequestMeta,
    ) -> Result<Announcement> {
        self.announcing_site(p, t, site).await?;
        let text: AnnouncementText = text.parse().map_err(|e| AppError::invalid("text", e))?;
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e <= s
        {
            return Err(AppError::Invalid {
                code: "invalid_time_window",
                field: "ends_at",
                detail: "ends_at must be after starts_at".into(),
            });
        }
        let a = NewAnnouncement {
            site_id: site,
            text,
            starts_at,
            ends_at,
        };
        let created = self
            .store
            .create_announcement(t.id, a, &self.ctx(p, meta))
            .await?;
        self.bus.publish(Change::Announcements(t.id, site));
        Ok(created)
    }

    /// Every announcement of a site (past, current and scheduled), for the people who
    /// manage them.
    pub async fn announcements(
        &self,
        p: &Principal,
        t: &Tenant,
        site: SiteId,
    ) -> Result<Vec<Announcement>> {
        self.announcing_site(p, t, site).await?;
        Ok(self.store.announcements(t.id, site, None).await?)
    }

    /// Deletes one of a site's announcements; one of another site (or tenant) is
    /// `not_found`, and then nothing is deleted.
    pub async fn delete_announcement(
        &self,
        p: &Principal,
        t: &Tenant,
        site: SiteId,
        id: AnnouncementId,
        meta: &RequestMeta,
    ) -> Result<Announcement> {
        self.announcing_site(p, t, site).await?;
        let listed = self.store.announcements(t.id, site, None).await?;
        if !listed.iter().any(|a| a.id == id) {
            return Err(AppError::NotFound("announcement"));
        }
        let gone = self
            .store
            .delete_announcement(t.id, id, &self.ctx(p, meta))
            .await?;
        self.bus.publish(Change::Announcements(t.id, site));
        Ok(gone)
    }

    /// What a site's displays show now: the active announcements' texts, in publication
    /// order (empty: the displays fall back to their welcome line). Displays read it with
    /// their device principal (`read:queue`, their site).
    pub async fn ticker(&self, p: &Principal, t: &Tenant, site: SiteId) -> Result<Vec<String>> {
        p.require(Scope::ReadQueue)?;
        if !p.may_access(t.id) || !p.may_see_site(site) {
            return Err(AppError::NotFound("site"));
        }
        Ok(self
            .store
            .announcements(t.id, site, Some(self.now()))
            .await?
            .into_iter()
            .map(|a| a.text.into())
            .collect())
    }

    // ---- tracker ------------------------------------------------------------------

    /// The public tracker token of a ticket.
    pub fn tracker_token(&self, tenant: TenantId, ticket: TicketId) -> String {
        let mut raw = Vec::with_capacity(48);
        raw.extend_from_slice(tenant.0.as_bytes());
        raw.extend_from_slice(ticket.0.as_bytes());
        let mac = self.mac(b"sq-tracker\0", &[&raw]);
        raw.extend_from_slice(&mac);
        B64.encode(raw)
    }

    /// The ticket behind a tracker token, with its live position, and a principal that may
    /// read it and cancel it (and nothing else: its site only). Bad tokens are `not_found`.
    pub async fn tracked_ticket(&self, token: &str) -> Result<(Tenant, TicketView, Principal)> {
        let nf = || AppError::NotFound("ticket");
        let raw = B64.decode(token).map_err(|_| nf())?;
        if raw.len() != 48 {
            return Err(nf());
        }
        let (body, mac) = raw.split_at(32);
        let want = self.mac(b"sq-tracker\0", &[body]);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(mac, &want[..])) {
            return Err(nf());
        }
        let tid = TenantId::from(uuid::Uuid::from_slice(&body[..16]).map_err(|_| nf())?);
        let kid = TicketId::from(uuid::Uuid::from_slice(&body[16..]).map_err(|_| nf())?);
        let tenant = self.store.tenant(tid).await?.ok_or_else(nf)?;
        let ticket = self.store.ticket(tid, kid).await?.ok_or_else(nf)?;
        let principal = Principal {
            actor: ticket.contact_id.map_or(Actor::System, Actor::Contact),
            user_id: None,
            tenant_id: Some(tid),
            role: None,
            scopes: vec![Scope::ReadQueue, Scope::WriteQueue],
            site_id: Some(ticket.site_id),
        };
        let view = self.view(&tenant, ticket).await?;
        Ok((tenant, view, principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthConfig, SystemClock};
    use std::sync::Arc;

    async fn app() -> (App, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = sq_store_sqlite::SqliteStore::open(&dir.path().join("t.db"))
            .await
            .unwrap();
        let app = App::new(
            Arc::new(store),
            Arc::new(SystemClock),
            AuthConfig::new(b"k".to_vec()),
        );
        (app, dir)
    }

    #[tokio::test]
    async fn forged_or_truncated_tokens_are_refused() {
        let (app, _d) = app().await;
        let tok = app.tracker_token(TenantId::new(), TicketId::new());
        // Well-formed but unknown ticket: not found, same as a forged MAC.
        assert!(matches!(
            app.tracked_ticket(&tok).await,
            Err(AppError::NotFound("ticket"))
        ));
        let mut forged = B64.decode(&tok).unwrap();
        forged[40] ^= 1;
        let forged = B64.encode(forged);
        assert!(matches!(
            app.tracked_ticket(&forged).await,
            Err(AppError::NotFound("ticket"))
        ));
        assert!(app.tracked_ticket("short").await.is_err());
        assert!(matches!(
            app.web_session("AAAA").await,
            Err(AppError::InvalidToken)
        ));
        assert!(matches!(
            app.device_session("sqd_nope", DeviceKind::Display).await,
            Err(AppError::NotFound("device"))
        ));
    }
}
