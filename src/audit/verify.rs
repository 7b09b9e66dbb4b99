//! Recomputes a tenant's chain from its first record and names the first
//! record that does not fit: a changed field (hash mismatch), a removed or
//! re-ordered record (sequence gap or wrong predecessor), a record slipped
//! in behind the seals, or a seal whose record is gone.

use crate::identity::TenantId;
use diesel::prelude::*;

use super::{Record, chain, last_seal, view::audit_log as log};

/// Records read per round trip while verifying.
const BATCH: i64 = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub id: i64,
    /// The chain position it claims, if it is sealed.
    pub seq: Option<i64>,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Sealed records that verify.
    pub records: i64,
    /// Records after the last seal, waiting for theirs (the sealer runs
    /// every moment, so a lasting number here means no lockbox is running).
    pub pending: i64,
    /// When the oldest of them was recorded.
    pub oldest_pending: Option<chrono::DateTime<chrono::Utc>>,
    pub head: Option<String>,
    pub broken: Option<Broken>,
    /// Signed checkpoints that agree with the chain (checked only with
    /// [`verify_tenant_with_checkpoints`]).
    pub checkpoints: i64,
    /// The first checkpoint the chain (or the keyring) contradicts.
    pub contradicted: Option<super::checkpoint::Contradiction>,
}

/// Why `r`, the next sealed record in id order, breaks the chain, if it
/// does. `prev` is the hash of the chain so far.
fn fault(
    r: &Record,
    (seq, prev_hash, hash): (i64, &[u8], &[u8]),
    expected_seq: i64,
    prev: &[u8],
) -> Option<&'static str> {
    if seq != expected_seq {
        Some("a record is missing before this one (sequence gap)")
    } else if prev_hash != prev {
        Some("its predecessor hash does not match the previous record")
    } else if chain::hash(prev_hash, &r.chained(seq)).as_slice() != hash {
        Some("its content does not match its hash (the record was changed)")
    } else {
        None
    }
}

/// Checks every record of `tenant_id`, in chain (record id) order, on one
/// snapshot: a sealer at work meanwhile changes nothing it sees.
pub fn verify_tenant(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<Report> {
    crate::db::snapshot(conn, |conn| walk(conn, tenant_id))
}

/// [`verify_tenant`], and every signed checkpoint of the tenant against the
/// chain and `keys` ([`super::checkpoint::check`]), on the same snapshot: a
/// chain cut short, or rewritten and sealed again, contradicts one.
pub fn verify_tenant_with_checkpoints(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    keys: &crate::signing::PublicKeys,
) -> QueryResult<Report> {
    crate::db::snapshot(conn, |conn| {
        let mut report = walk(conn, tenant_id)?;
        // Past a break the chain's hashes prove nothing; the break is
        // reported already. Signatures are checked either way.
        let verified = report.records;
        let (agree, contradicted) = super::checkpoint::check(conn, tenant_id, keys, verified)?;
        report.checkpoints = agree;
        report.contradicted = contradicted;
        Ok(report)
    })
}

fn walk(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<Report> {
    let mut prev = chain::GENESIS.to_vec();
    let (mut records, mut pending, mut from) = (0, 0, i64::MIN);
    // The first record without a seal: only records after the last seal
    // may lack one.
    let mut first_unsealed: Option<(i64, chrono::DateTime<chrono::Utc>)> = None;
    let broken = |records, pending, broken| Report {
        records,
        pending,
        oldest_pending: None,
        head: None,
        broken: Some(broken),
        checkpoints: 0,
        contradicted: None,
    };
    loop {
        let batch: Vec<Record> = log::table
            .filter(log::tenant_id.eq(tenant_id))
            .filter(log::id.ge(from))
            .order(log::id.asc())
            .limit(BATCH)
            .select(Record::as_select())
            .load(conn)?;
        let Some(last) = batch.last() else { break };
        let last_id = last.id;
        for r in &batch {
            let (Some(seq), Some(prev_hash), Some(hash)) = (r.seq, &r.prev_hash, &r.hash) else {
                first_unsealed.get_or_insert((r.id, r.occurred_at));
                pending += 1;
                continue;
            };
            if let Some((id, _)) = first_unsealed {
                let reason = "it has no seal but a later record has (it was slipped in behind the seals, or its seal removed)";
                return Ok(broken(
                    records,
                    pending,
                    Broken {
                        id,
                        seq: None,
                        reason,
                    },
                ));
            }
            if let Some(reason) = fault(r, (seq, prev_hash, hash), records + 1, &prev) {
                return Ok(broken(
                    records,
                    pending,
                    Broken {
                        id: r.id,
                        seq: Some(seq),
                        reason,
                    },
                ));
            }
            prev.clone_from(hash);
            records += 1;
        }
        match last_id.checked_add(1) {
            Some(next) => from = next,
            None => break,
        }
    }
    // A seal past the last sealed record: its record was removed.
    if let Some((seq, record, _)) = last_seal(conn, tenant_id)?
        && seq != records
    {
        let reason = "the chain's newest seal has no record (the record was removed)";
        return Ok(broken(
            records,
            pending,
            Broken {
                id: record,
                seq: Some(seq),
                reason,
            },
        ));
    }
    let head = (records > 0).then(|| crate::digest::hex(&prev));
    Ok(Report {
        records,
        pending,
        oldest_pending: first_unsealed.map(|(_, at)| at),
        head,
        broken: None,
        checkpoints: 0,
        contradicted: None,
    })
}
