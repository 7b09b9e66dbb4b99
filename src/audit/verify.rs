//! Recomputes a tenant's chain from its first record and names the first
//! record that does not fit: a changed field (hash mismatch), a removed or
//! re-ordered record (sequence gap or wrong predecessor).

use diesel::prelude::*;
use uuid::Uuid;

use super::{Record, chain};
use crate::schema::audit_records as ar;

/// Records read per round trip while verifying.
const BATCH: i64 = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub id: i64,
    pub seq: i64,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub records: i64,
    pub head: Option<String>,
    pub broken: Option<Broken>,
}

/// Checks every record of `tenant_id`, in chain order.
pub fn verify_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Report> {
    let mut prev = chain::GENESIS.to_vec();
    let mut expected_seq = 1;
    let mut records = 0;
    loop {
        let batch: Vec<Record> = ar::table
            .filter(ar::tenant_id.eq(tenant_id))
            .filter(ar::seq.ge(expected_seq))
            .order(ar::seq.asc())
            .limit(BATCH)
            .select(Record::as_select())
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            let fault = if r.seq != expected_seq {
                Some("a record is missing before this one (sequence gap)")
            } else if r.prev_hash != prev {
                Some("its predecessor hash does not match the previous record")
            } else if chain::hash(&r.prev_hash, &r.chained()).as_slice() != r.hash.as_slice() {
                Some("its content does not match its hash (the record was changed)")
            } else {
                None
            };
            if let Some(reason) = fault {
                return Ok(Report {
                    records,
                    head: None,
                    broken: Some(Broken {
                        id: r.id,
                        seq: r.seq,
                        reason,
                    }),
                });
            }
            prev.clone_from(&r.hash);
            expected_seq += 1;
            records += 1;
        }
    }
    let last = (records > 0).then(|| crate::auth::token::hex(&prev));
    Ok(Report {
        records,
        head: last,
        broken: None,
    })
}
