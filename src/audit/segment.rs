//! The stretch of a tenant's chain that vouches for one request: from the
//! newest signed checkpoint at or before the request's first sealed record
//! to the oldest at or after its last (the chain's head while there is
//! none yet), with those checkpoints. Verified on its own, it proves every
//! record of the request sits, unchanged, in a chain the deployment's key
//! signed on both sides: what an evidence pack carries.

use diesel::{
    dsl::{max, min},
    prelude::*,
};

use super::{Record, checkpoint::Checkpoint, last_seal, view::audit_log as log};
use crate::{
    identity::{RequestId, TenantId},
    schema::audit_checkpoints as cp,
};

/// Records of the segment, oldest first, and the checkpoints within it.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    pub records: Vec<Record>,
    pub checkpoints: Vec<Checkpoint>,
    /// Whether a checkpoint vouches for the segment's end and every record
    /// of the request is sealed: until then the newest records are not
    /// signed (the next checkpoint round signs them).
    pub signed: bool,
}

/// The segment around `request`'s sealed records (empty when it has none).
pub fn around_request(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    request: RequestId,
) -> QueryResult<Segment> {
    let (lo, hi): (Option<i64>, Option<i64>) = log::table
        .filter(log::tenant_id.eq(tenant_id))
        .filter(log::request_id.eq(request))
        .select((min(log::seq), max(log::seq)))
        .first(conn)?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(Segment::default());
    };
    let unsealed: i64 = log::table
        .filter(log::tenant_id.eq(tenant_id))
        .filter(log::request_id.eq(request))
        .filter(log::seq.is_null())
        .count()
        .get_result(conn)?;
    let before: Option<i64> = cp::table
        .filter(cp::tenant_id.eq(tenant_id))
        .filter(cp::seq.le(lo))
        .select(max(cp::seq))
        .first(conn)?;
    let after: Option<i64> = cp::table
        .filter(cp::tenant_id.eq(tenant_id))
        .filter(cp::seq.ge(hi))
        .select(min(cp::seq))
        .first(conn)?;
    let start = before.unwrap_or(1);
    let end = match after {
        Some(seq) => seq,
        None => last_seal(conn, tenant_id)?.map_or(hi, |(seq, _, _)| seq),
    };
    let records = log::table
        .filter(log::tenant_id.eq(tenant_id))
        .filter(log::seq.between(start, end))
        .order(log::seq.asc())
        .select(Record::as_select())
        .load(conn)?;
    let checkpoints = cp::table
        .filter(cp::tenant_id.eq(tenant_id))
        .filter(cp::seq.between(start, end))
        .order(cp::seq.asc())
        .select(Checkpoint::as_select())
        .load(conn)?;
    Ok(Segment {
        records,
        checkpoints,
        signed: after.is_some() && unsealed == 0,
    })
}
