//! Signed checkpoints: now and then, each tenant's chain head signed with
//! the deployment's key ([`crate::signing`]), so a tail cut off the log, or
//! a log rewritten and sealed again, contradicts a signature the provider's
//! database cannot forge. `lockbox audit verify` checks every checkpoint
//! against the chain ([`check`]).
//!
//! A tenant whose chain moved since its last checkpoint gets a new one once
//! that one is `LOCKBOX_CHECKPOINT_MINUTES` old ([`write_due`]); an idle
//! tenant gets none. The checkpoint vouches for the chain's head: record
//! `seq` has hash `head_hash`, and the chain then held `record_count`
//! records (equal to `seq`: seqs run from 1 without gaps).
//!
//! The signed bytes are the ASCII tag `lockbox-checkpoint-v1`, then these
//! fields in this order, each as an 8-byte big-endian length followed by
//! its UTF-8 bytes (the framing of [`super::chain`]):
//!
//! 1. tenant id (lower-case hyphenated UUID)
//! 2. seq (decimal)
//! 3. head hash (64 lower-case hex digits)
//! 4. record count (decimal)
//! 5. time (RFC 3339, UTC, exactly six fractional digits, `Z`)
//! 6. key id (16 lower-case hex digits: the start of SHA-256 of the raw
//!    32-byte public key)
//!
//! The signature is Ed25519 (RFC 8032, pure, no pre-hash) over those bytes
//! with the key `key_id` names, dated no later than that key's retirement
//! (its `valid_until` in the keyring, give or take five minutes of clock
//! skew). The JSON download of a checkpoint carries
//! these fields by the names `tenant`, `seq`, `head_hash`, `record_count`,
//! `time`, `key_id`, plus `signature` (128 lower-case hex digits) and
//! `format` (`lockbox-checkpoint-v1`). Test vector: see the test
//! `the_signed_bytes_and_signature_match_the_documented_vector` below (and
//! the README).

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::{prelude::*, sql_types::Uuid as SqlUuid};
use serde::{Deserialize, Serialize};

use super::{chain, last_seal};
use crate::{
    identity::TenantId,
    schema::{audit_chain as ac, audit_checkpoints as cp},
    signing::{PublicKeys, Signer, Verdict},
};

pub const FORMAT: &str = "lockbox-checkpoint-v1";

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cp)]
pub struct Checkpoint {
    pub tenant_id: TenantId,
    pub seq: i64,
    pub head_hash: Vec<u8>,
    pub record_count: i64,
    pub created_at: DateTime<Utc>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

/// The JSON a customer downloads (field names in the module documentation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    pub format: String,
    pub tenant: String,
    pub seq: i64,
    pub head_hash: String,
    pub record_count: i64,
    pub time: String,
    pub key_id: String,
    pub signature: String,
}

impl Checkpoint {
    /// The bytes the signature covers, as documented above.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(FORMAT.as_bytes());
        chain::field(
            &mut out,
            self.tenant_id.0.hyphenated().to_string().as_bytes(),
        );
        chain::field(&mut out, self.seq.to_string().as_bytes());
        chain::field(&mut out, crate::digest::hex(&self.head_hash).as_bytes());
        chain::field(&mut out, self.record_count.to_string().as_bytes());
        chain::field(&mut out, self.time().as_bytes());
        chain::field(&mut out, self.key_id.as_bytes());
        out
    }

    pub fn time(&self) -> String {
        self.created_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// A checkpoint of head (`seq`, `head_hash`) at `now`, signed.
    pub fn sign(
        signer: &Signer,
        tenant_id: TenantId,
        seq: i64,
        head_hash: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Self {
        // The database keeps microseconds: sign what it will give back.
        let created_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let mut checkpoint = Self {
            tenant_id,
            seq,
            head_hash,
            record_count: seq,
            created_at,
            key_id: signer.key_id().to_owned(),
            signature: Vec::new(),
        };
        checkpoint.signature = signer.sign(&checkpoint.signed_bytes()).to_vec();
        checkpoint
    }

    /// A downloaded checkpoint read back; `None` when a field is malformed.
    pub fn from_published(p: &Published) -> Option<Self> {
        use crate::digest::from_hex;
        if p.format != FORMAT {
            return None;
        }
        Some(Self {
            tenant_id: TenantId(p.tenant.parse().ok()?),
            seq: p.seq,
            head_hash: from_hex(&p.head_hash).filter(|h| h.len() == 32)?,
            record_count: p.record_count,
            created_at: DateTime::parse_from_rfc3339(&p.time)
                .ok()?
                .with_timezone(&Utc),
            key_id: p.key_id.clone(),
            signature: from_hex(&p.signature)?,
        })
    }

    pub fn published(&self) -> Published {
        Published {
            format: FORMAT.to_owned(),
            tenant: self.tenant_id.0.hyphenated().to_string(),
            seq: self.seq,
            head_hash: crate::digest::hex(&self.head_hash),
            record_count: self.record_count,
            time: self.time(),
            key_id: self.key_id.clone(),
            signature: crate::digest::hex(&self.signature),
        }
    }
}

#[derive(QueryableByName)]
struct DueTenant {
    #[diesel(sql_type = SqlUuid)]
    id: TenantId,
}

/// Writes a checkpoint for every tenant whose chain moved since its last
/// checkpoint, if that one is at least `every` old (or there is none);
/// returns how many it wrote. Safe with any number of lockbox processes:
/// per tenant, a lock serialises the writers and each decides anew under
/// it, and the (tenant, seq) key stays the arbiter of last resort.
pub fn write_due(
    conn: &mut PgConnection,
    signer: &Signer,
    now: DateTime<Utc>,
    every: chrono::Duration,
) -> QueryResult<u64> {
    write_due_then(conn, signer, now, every, &|_, _| Ok(()))
}

/// What a written checkpoint also causes, in its transaction (the server
/// queues its webhook event; this layer knows nothing of webhooks).
pub type OnWritten = dyn Fn(&mut PgConnection, &Checkpoint) -> QueryResult<()>;

/// [`write_due`], calling `on_written` inside each checkpoint's
/// transaction.
pub fn write_due_then(
    conn: &mut PgConnection,
    signer: &Signer,
    now: DateTime<Utc>,
    every: chrono::Duration,
    on_written: &OnWritten,
) -> QueryResult<u64> {
    // Per tenant two index probes: its newest seal, its newest checkpoint.
    let due: Vec<DueTenant> = diesel::sql_query(
        "SELECT t.id FROM tenants t \
         CROSS JOIN LATERAL (SELECT c.seq FROM audit_chain c WHERE c.tenant_id = t.id \
                             ORDER BY c.seq DESC LIMIT 1) h \
         LEFT JOIN LATERAL (SELECT k.seq, k.created_at FROM audit_checkpoints k \
                            WHERE k.tenant_id = t.id ORDER BY k.seq DESC LIMIT 1) k ON true \
         WHERE k.seq IS NULL OR (h.seq > k.seq AND k.created_at <= $1)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now - every)
    .load(conn)?;
    let (mut written, mut failed) = (0, None);
    for tenant in due {
        match write_for(conn, signer, tenant.id, now, every, on_written) {
            Ok(true) => written += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, error = %e, "could not write an audit checkpoint");
                failed.get_or_insert(e);
            }
        }
    }
    failed.map_or(Ok(written), Err)
}

/// One tenant's checkpoint, if it is due; whether one was written.
fn write_for(
    conn: &mut PgConnection,
    signer: &Signer,
    tenant_id: TenantId,
    now: DateTime<Utc>,
    every: chrono::Duration,
    on_written: &OnWritten,
) -> QueryResult<bool> {
    conn.transaction(|conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 2209184533))")
            .bind::<SqlUuid, _>(tenant_id)
            .execute(conn)?;
        let Some((seq, _, hash)) = last_seal(conn, tenant_id)? else {
            return Ok(false);
        };
        let last: Option<(i64, DateTime<Utc>)> = cp::table
            .filter(cp::tenant_id.eq(tenant_id))
            .order(cp::seq.desc())
            .select((cp::seq, cp::created_at))
            .first(conn)
            .optional()?;
        if let Some((last_seq, at)) = last
            && (seq <= last_seq || at > now - every)
        {
            return Ok(false);
        }
        let checkpoint = Checkpoint::sign(signer, tenant_id, seq, hash, now);
        let n = diesel::insert_into(cp::table)
            .values(&checkpoint)
            .on_conflict_do_nothing()
            .execute(conn)?;
        if n == 1 {
            on_written(conn, &checkpoint)?;
        }
        Ok(n == 1)
    })
}

/// The tenant's newest `limit` checkpoints, newest first.
pub fn list(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    limit: i64,
) -> QueryResult<Vec<Checkpoint>> {
    cp::table
        .filter(cp::tenant_id.eq(tenant_id))
        .order(cp::seq.desc())
        .limit(limit)
        .select(Checkpoint::as_select())
        .load(conn)
}

/// The tenant's checkpoint at `seq` (never another tenant's).
pub fn find(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    seq: i64,
) -> QueryResult<Option<Checkpoint>> {
    cp::table
        .filter(cp::tenant_id.eq(tenant_id))
        .filter(cp::seq.eq(seq))
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()
}

/// A checkpoint the log or the keyring contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    pub seq: i64,
    pub time: String,
    pub key_id: String,
    pub reason: String,
}

/// Checks every checkpoint of the tenant: its signature against `keys`,
/// and that the chain, whose first `verified` records verified, still has
/// record `seq` with hash `head_hash`. Returns how many agree and the first
/// that does not. Run it on the snapshot the chain was verified on.
pub fn check(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    keys: &PublicKeys,
    verified: i64,
) -> QueryResult<(i64, Option<Contradiction>)> {
    let all: Vec<Checkpoint> = cp::table
        .filter(cp::tenant_id.eq(tenant_id))
        .order(cp::seq.asc())
        .select(Checkpoint::as_select())
        .load(conn)?;
    let mut agree = 0;
    for c in all {
        let contradiction = |reason: String| Contradiction {
            seq: c.seq,
            time: c.time(),
            key_id: c.key_id.clone(),
            reason,
        };
        let verdict = keys.verify_at(&c.key_id, &c.signed_bytes(), &c.signature, c.created_at);
        let reason = match verdict {
            Verdict::UnknownKey => Some(format!(
                "it is signed with key {}, which the keyring does not hold",
                c.key_id
            )),
            Verdict::Invalid => Some(
                "its signature does not verify (the checkpoint was altered or forged)".to_owned(),
            ),
            Verdict::OutsideValidity => Some(format!(
                "it is dated outside the validity period of its key {} (a retired key must \
                 not sign any more, nor a key before it existed)",
                c.key_id
            )),
            Verdict::Valid if c.record_count != c.seq => {
                Some("its record count does not match its seq".to_owned())
            }
            Verdict::Valid if c.seq > verified => Some(format!(
                "the chain ends at seq {verified}, before this checkpoint's record \
                 (records were removed from its end)"
            )),
            Verdict::Valid => {
                let hash: Option<Vec<u8>> = ac::table
                    .filter(ac::tenant_id.eq(tenant_id))
                    .filter(ac::seq.eq(c.seq))
                    .select(ac::hash)
                    .first(conn)
                    .optional()?;
                (hash.as_deref() != Some(c.head_hash.as_slice())).then(|| {
                    "the chain's record at this seq has another hash (the log was rewritten)"
                        .to_owned()
                })
            }
        };
        match reason {
            Some(reason) => return Ok((agree, Some(contradiction(reason)))),
            None => agree += 1,
        }
    }
    Ok((agree, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented test vector (README, "Signing key and checkpoints"):
    /// the Ed25519 seed 32 bytes of 0x42, tenant
    /// 01234567-89ab-cdef-0123-456789abcdef, seq 7, head hash the bytes
    /// 0x00..0x1f, time 2026-03-02T09:00:00.5Z. OpenSSL
    /// (`openssl pkeyutl -sign -rawin`) gives the same signature.
    fn vector() -> (Signer, Checkpoint) {
        let signer = Signer::from_seed([0x42; 32]);
        let head_hash = (0u8..32).collect();
        let at = DateTime::parse_from_rfc3339("2026-03-02T09:00:00.5Z")
            .expect("valid")
            .with_timezone(&Utc);
        let tenant = TenantId(uuid::Uuid::from_u128(
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        ));
        let c = Checkpoint::sign(&signer, tenant, 7, head_hash, at);
        (signer, c)
    }

    #[test]
    fn the_signed_bytes_and_signature_match_the_documented_vector() {
        let (signer, c) = vector();
        let bytes = c.signed_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with(
                "lockbox-checkpoint-v1\0\0\0\0\0\0\0\x2401234567-89ab-cdef-0123-456789abcdef"
            ),
            "{text:?}"
        );
        assert_eq!(crate::digest::hex(&signer.public_key()), PUBLIC_KEY);
        assert_eq!(c.key_id, KEY_ID);
        assert_eq!(crate::digest::hex(&bytes), SIGNED_BYTES);
        assert_eq!(crate::digest::hex(&c.signature), SIGNATURE);
        let keys = PublicKeys {
            keys: vec![crate::signing::PublicKeyEntry {
                key_id: KEY_ID.into(),
                public_key: base64_of(&signer.public_key()),
                valid_from: c.created_at,
                valid_until: None,
            }],
        };
        assert_eq!(keys.verify(&c.key_id, &bytes, &c.signature), Verdict::Valid);
        let mut moved = c.clone();
        moved.seq = 6;
        moved.record_count = 6;
        assert_eq!(
            keys.verify(&moved.key_id, &moved.signed_bytes(), &moved.signature),
            Verdict::Invalid
        );
    }

    fn base64_of(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    const PUBLIC_KEY: &str = "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12";
    const KEY_ID: &str = "3097e2dee2cb4a34";
    const SIGNED_BYTES: &str = concat!(
        "6c6f636b626f782d636865636b706f696e742d7631",
        "0000000000000024",
        "30313233343536372d383961622d636465662d303132332d343536373839616263646566",
        "0000000000000001",
        "37",
        "0000000000000040",
        "30303031303230333034303530363037303830393061306230633064306530663130313131323133313431353136313731383139316131623163316431653166",
        "0000000000000001",
        "37",
        "000000000000001b",
        "323032362d30332d30325430393a30303a30302e3530303030305a",
        "0000000000000010",
        "33303937653264656532636234613334",
    );
    const SIGNATURE: &str = concat!(
        "6f82c4642385d2a1e2007aac6038a736067442e709d4fe28979ca6fae1abaecb",
        "db4269c4cd1012b2d74e6937e52f5621f0c90d48e1ddf32942bc451cccd89e05",
    );
}
