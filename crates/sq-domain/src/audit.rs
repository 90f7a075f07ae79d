//! The audit log's hash chain. Each row stores the hash of its tenant's previous row, so
//! changing or deleting any row breaks every later link; [`verify`] names the first one.

use crate::ids::*;
use crate::ticket::Actor;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who asked, from where: passed by the edge (HTTP, CLI) into every state-changing command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditContext {
    pub actor: Actor,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: DateTime<Utc>,
}

impl AuditContext {
    pub fn system(at: DateTime<Utc>) -> Self {
        Self {
            actor: Actor::System,
            ip: None,
            user_agent: None,
            at,
        }
    }
}

/// One state change, before it is chained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub tenant_id: TenantId,
    /// `ticket.call`, `service.create`, …: a stable contract.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ctx: AuditContext,
}

impl AuditEntry {
    pub fn new(
        tenant_id: TenantId,
        action: impl Into<String>,
        entity_type: impl Into<String>,
        entity_id: impl ToString,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        ctx: &AuditContext,
    ) -> Self {
        Self {
            tenant_id,
            action: action.into(),
            entity_type: entity_type.into(),
            entity_id: entity_id.to_string(),
            before,
            after,
            ctx: ctx.clone(),
        }
    }
}

/// A stored row: the entry, its position in the tenant's chain and both hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: AuditId,
    /// 1, 2, 3… per tenant.
    pub seq: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The `prev_hash` of a tenant's first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over a canonical, length-prefixed encoding of every field, so no two different
/// rows can encode alike. JSON values are hashed in their compact serde_json form, which is
/// key-ordered (serde_json's map is a BTreeMap here) and so stable across backends.
pub fn chain_hash(prev_hash: &str, seq: i64, id: AuditId, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    field(id.0.as_bytes());
    field(e.tenant_id.0.as_bytes());
    field(e.action.as_bytes());
    field(e.entity_type.as_bytes());
    field(e.entity_id.as_bytes());
    field(json(&e.before).as_bytes());
    field(json(&e.after).as_bytes());
    field(e.ctx.actor.to_string().as_bytes());
    field(e.ctx.ip.as_deref().unwrap_or("").as_bytes());
    field(e.ctx.user_agent.as_deref().unwrap_or("").as_bytes());
    // Microseconds: both backends store them exactly.
    field(
        e.ctx
            .at
            .to_rfc3339_opts(SecondsFormat::Micros, true)
            .as_bytes(),
    );
    hex::encode(h.finalize())
}

/// Chains a new entry after `prev` (the tenant's last row, if any).
pub fn chain(prev: Option<(i64, &str)>, id: AuditId, entry: AuditEntry) -> AuditRecord {
    let (seq, prev_hash) = match prev {
        Some((s, h)) => (s + 1, h.to_owned()),
        None => (1, GENESIS.to_owned()),
    };
    let mut entry = entry;
    entry.ctx.at = truncate_micros(entry.ctx.at);
    let hash = chain_hash(&prev_hash, seq, id, &entry);
    AuditRecord {
        id,
        seq,
        entry,
        prev_hash,
        hash,
    }
}

/// Databases keep microseconds; truncating first makes the hash survive a round trip.
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    #[error("audit row {seq} ({id}) does not match its hash: it was changed")]
    Altered { seq: i64, id: AuditId },
    #[error(
        "audit row {seq} ({id}) does not follow row {expected_prev_seq}: a row is missing or was reordered"
    )]
    Unlinked {
        seq: i64,
        id: AuditId,
        expected_prev_seq: i64,
    },
}

/// Verifies a tenant's rows, given in `seq` order. Returns how many rows were checked.
pub fn verify(rows: &[AuditRecord]) -> Result<usize, BrokenLink> {
    let mut prev_hash = GENESIS.to_owned();
    let mut prev_seq = 0;
    for r in rows {
        if r.seq != prev_seq + 1 || r.prev_hash != prev_hash {
            return Err(BrokenLink::Unlinked {
                seq: r.seq,
                id: r.id,
                expected_prev_seq: prev_seq,
            });
        }
        if chain_hash(&r.prev_hash, r.seq, r.id, &r.entry) != r.hash {
            return Err(BrokenLink::Altered {
                seq: r.seq,
                id: r.id,
            });
        }
        prev_hash = r.hash.clone();
        prev_seq = r.seq;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<AuditRecord> {
        let tenant = TenantId::new();
        let ctx = AuditContext::system(Utc::now());
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let e = AuditEntry::new(
                tenant,
                "service.create",
                "service",
                i,
                None,
                Some(serde_json::json!({"i": i})),
                &ctx,
            );
            let prev = out.last().map(|r| (r.seq, r.hash.as_str()));
            let r = chain(prev, AuditId::new(), e);
            out.push(r);
        }
        out
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&rows(5)), Ok(5));
    }

    #[test]
    fn altered_row_is_named() {
        let mut r = rows(5);
        r[2].entry.after = Some(serde_json::json!({"i": 99}));
        assert_eq!(
            verify(&r),
            Err(BrokenLink::Altered {
                seq: 3,
                id: r[2].id
            })
        );
    }

    #[test]
    fn deleted_row_is_named() {
        let mut r = rows(5);
        r.remove(1);
        assert!(matches!(
            verify(&r),
            Err(BrokenLink::Unlinked { seq: 3, .. })
        ));
    }
}
