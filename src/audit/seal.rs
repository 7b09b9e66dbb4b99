//! The sealer: gives committed records their place in their tenant's chain.
//!
//! A change inserts its record in its own transaction under the tenant's
//! lock taken *shared* ([`super::append`]), so one tenant's changes commit
//! side by side instead of one fsync after another. Sealing appends to
//! `audit_chain`, in record id order, each record's seq, its predecessor's
//! hash and its hash ([`super::chain`]), a batch per transaction.
//!
//! Id order is commit-safe because of the watermark: the sealer takes the
//! tenant's lock *exclusively* for an instant (`audit_watermark`), which
//! waits for every append in flight, and reads the greatest committed id;
//! every later append draws a greater id. So the records up to the
//! watermark are final and no record can appear behind a seal.
//!
//! Any number of lockbox processes may seal at once: a second lock (one per
//! tenant, sealers only) queues them, and the unique (tenant, record) and
//! (tenant, seq) keys of `audit_chain` are the arbiters of last resort.

use crate::identity::{RequestId, TenantId};
use diesel::{prelude::*, sql_types::Uuid as SqlUuid};

use super::{chain, last_seal};
use crate::schema::{audit_chain as ac, audit_records as ar};

/// Records sealed per transaction.
pub const BATCH: i64 = 1_000;

/// How often a lockbox server looks for records to seal (the setting's
/// default lives with the settings, which know no domain).
pub use crate::config::AUDIT_SEAL_INTERVAL as INTERVAL;

mod sql {
    use diesel::sql_types::Uuid;

    diesel::define_sql_function! {
        /// Migration 000006: the greatest id up to which every record of
        /// the tenant is committed (none: the tenant has no records).
        fn audit_watermark(tenant: Uuid) -> Nullable<BigInt>;
    }
}

/// Seals every record of `tenant_id` committed before the call and returns
/// how many it sealed; 0 too when an open transaction that appended to the
/// tenant holds the watermark up for more than a moment (the next round
/// seals it). Call it outside a transaction: the watermark's exclusive lock
/// must end with its own statement, or appends would wait, and the batches
/// need READ COMMITTED snapshots taken after it.
pub fn seal_tenant(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<u64> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    if AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some()
    {
        return Err(diesel::result::Error::AlreadyInTransaction);
    }
    let watermark: Option<i64> =
        diesel::select(sql::audit_watermark(tenant_id)).get_result(conn)?;
    let Some(watermark) = watermark else {
        return Ok(0);
    };
    let mut sealed = 0;
    loop {
        let n = conn
            .build_transaction()
            .read_committed()
            .run(|conn| seal_batch(conn, tenant_id, watermark))?;
        sealed += n;
        if n < BATCH as u64 {
            return Ok(sealed);
        }
    }
}

/// A record waiting for its seal: the fields its hash covers.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ar)]
struct Unsealed {
    id: i64,
    tenant_id: TenantId,
    occurred_at: chrono::DateTime<chrono::Utc>,
    actor_id: String,
    actor_name: String,
    ip: String,
    activity: String,
    item: String,
    parameters: serde_json::Value,
    request_id: Option<RequestId>,
}

chain::chained_from_fields!(Unsealed);

/// Seals up to [`BATCH`] records after the chain's head, none past
/// `watermark`, in one transaction.
fn seal_batch(conn: &mut PgConnection, tenant_id: TenantId, watermark: i64) -> QueryResult<u64> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 5829104471))")
        .bind::<SqlUuid, _>(tenant_id)
        .execute(conn)?;
    let (mut seq, sealed_through, mut prev) = match last_seal(conn, tenant_id)? {
        Some((seq, record, hash)) => (seq, record, hash),
        // Ids start at 1, but a record inserted by hand could have any.
        None => (0, i64::MIN, chain::GENESIS.to_vec()),
    };
    // From the table, not the view: past the head nothing has a seal, and
    // a join would only give the planner a way to go wrong.
    let records: Vec<Unsealed> = ar::table
        .filter(ar::tenant_id.eq(tenant_id))
        .filter(ar::id.gt(sealed_through))
        .filter(ar::id.le(watermark))
        .order(ar::id.asc())
        .limit(BATCH)
        .select(Unsealed::as_select())
        .load(conn)?;
    if records.is_empty() {
        return Ok(0);
    }
    let mut seals = Vec::with_capacity(records.len());
    for record in &records {
        seq += 1;
        let hash = chain::hash(&prev, &record.chained(seq)).to_vec();
        seals.push((
            ac::tenant_id.eq(tenant_id),
            ac::seq.eq(seq),
            ac::record_id.eq(record.id),
            ac::prev_hash.eq(std::mem::replace(&mut prev, hash.clone())),
            ac::hash.eq(hash),
        ));
    }
    diesel::insert_into(ac::table)
        .values(&seals)
        .execute(conn)?;
    Ok(seals.len() as u64)
}

#[derive(QueryableByName)]
struct PendingTenant {
    #[diesel(sql_type = SqlUuid)]
    id: TenantId,
}

/// Seals what is pending for every tenant; returns how many records. A
/// tenant that fails does not hold up the others; the first failure is
/// returned after all had their turn.
pub fn seal_pending(conn: &mut PgConnection) -> QueryResult<u64> {
    // Per tenant two index probes: its newest record and its newest seal.
    let tenants: Vec<PendingTenant> = crate::db::prepared(diesel::sql_query(
        "SELECT t.id FROM tenants t \
         WHERE EXISTS (SELECT 1 FROM audit_records r WHERE r.tenant_id = t.id AND r.id > \
             coalesce((SELECT c.record_id FROM audit_chain c WHERE c.tenant_id = t.id \
                       ORDER BY c.seq DESC LIMIT 1), '-9223372036854775808'::bigint))",
    ))
    .load(conn)?;
    let (mut sealed, mut failed) = (0, None);
    for tenant in tenants {
        match seal_tenant(conn, tenant.id) {
            Ok(n) => sealed += n,
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, error = %e, "could not seal audit records");
                failed.get_or_insert(e);
            }
        }
    }
    failed.map_or(Ok(sealed), Err)
}
