//! What the admin center's home shows of a tenant's audit log: the chain's
//! status (records, newest hash, newest signed checkpoint) and, for a few
//! requests at once, how many records of some activities each has and the
//! newest of them (e.g. the operator actions under each open window).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{Head, checkpoint::Checkpoint};
use crate::identity::{RequestId, TenantId};

/// The tenant's chain as a summary shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStatus {
    /// Sealed records, the newest hash and the records awaiting their seal.
    pub head: Head,
    /// The newest signed checkpoint, once one was written.
    pub checkpoint: Option<Checkpoint>,
}

/// The chain head and the newest checkpoint of `tenant`.
pub fn chain_status(conn: &mut PgConnection, tenant: TenantId) -> QueryResult<ChainStatus> {
    let (head, mut newest) = super::head_with_checkpoints(conn, tenant, 1)?;
    Ok(ChainStatus {
        head,
        checkpoint: newest.pop(),
    })
}

/// The records of some activities under one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// How many there are.
    pub count: i64,
    /// The newest few: (activity, when), newest first.
    pub newest: Vec<(String, DateTime<Utc>)>,
}

#[derive(QueryableByName)]
struct ActivityRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    request_id: RequestId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    activity: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    occurred_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// Per request: the count and the newest `$4` records, in one statement
/// (the request index finds each request's records).
const UNDER_REQUESTS: &str = "SELECT /* activity under requests */ request_id, activity, \
        occurred_at, total \
     FROM (SELECT r.request_id, r.activity, r.occurred_at, \
             count(*) OVER (PARTITION BY r.request_id) AS total, \
             row_number() OVER (PARTITION BY r.request_id \
                                ORDER BY r.occurred_at DESC, r.id DESC) AS n \
           FROM audit_records r \
           WHERE r.tenant_id = $1 AND r.request_id = ANY($2) AND r.activity = ANY($3)) a \
     WHERE a.n <= $4 \
     ORDER BY request_id, n";

/// For each of `tenant`'s `requests` (never another tenant's records):
/// how many records of `activities` it has, and the newest `newest` of
/// them. A request without any is absent from the map.
pub fn under_requests(
    conn: &mut PgConnection,
    tenant: TenantId,
    requests: &[RequestId],
    activities: &[&str],
    newest: i64,
) -> QueryResult<HashMap<RequestId, Activity>> {
    use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
    if requests.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<uuid::Uuid> = requests.iter().map(|r| r.0).collect();
    let activities: Vec<&str> = activities.to_vec();
    let rows: Vec<ActivityRow> = crate::db::prepared(
        diesel::sql_query(UNDER_REQUESTS)
            .bind::<SqlUuid, _>(tenant)
            .bind::<Array<SqlUuid>, _>(ids)
            .bind::<Array<Text>, _>(activities)
            .bind::<BigInt, _>(newest),
    )
    .load(conn)?;
    let mut out: HashMap<RequestId, Activity> = HashMap::new();
    for row in rows {
        let entry = out.entry(row.request_id).or_default();
        entry.count = row.total;
        entry.newest.push((row.activity, row.occurred_at));
    }
    Ok(out)
}
