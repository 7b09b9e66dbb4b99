//! The chain head a customer checks the log against — how many records
//! are sealed, the newest hash, how many wait for their seal — with the
//! tenant's newest signed checkpoints, read in one statement: the Audit
//! page and the home's audit card show both on every view, and each
//! round trip costs a page more than the reading does (issue 20).

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};

use super::checkpoint::Checkpoint;
use crate::identity::TenantId;

/// The tenant's chain head: how many records are sealed, the newest hash,
/// and how many records wait for their seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub count: i64,
    pub hash: Option<String>,
    pub pending: i64,
}

/// One row of [`HEAD_WITH_CHECKPOINTS`]: the head, with one checkpoint
/// or (when there is none) none.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Nullable<BigInt>)]
    head_seq: Option<i64>,
    #[diesel(sql_type = Nullable<Bytea>)]
    head_hash: Option<Vec<u8>>,
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    seq: Option<i64>,
    #[diesel(sql_type = Nullable<Bytea>)]
    checkpoint_hash: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    record_count: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    created_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    key_id: Option<String>,
    #[diesel(sql_type = Nullable<Bytea>)]
    signature: Option<Vec<u8>>,
}

/// The newest seal and the count of the records after it, then the newest
/// `$2` checkpoints beside it (at least one row: a head without
/// checkpoints has them NULL). Seals are appended in record id order, so
/// the records after the newest seal's are exactly the ones waiting for
/// theirs, and the count only runs over that tail of the primary key. One
/// statement reads one snapshot (even at READ COMMITTED), so the seal, the
/// count and the checkpoints agree without a REPEATABLE READ transaction
/// around them. The head is MATERIALIZED so its count runs once, not once
/// per checkpoint row.
const HEAD_WITH_CHECKPOINTS: &str = "WITH h AS MATERIALIZED ( \
       SELECT s.seq, s.hash, \
         (SELECT count(*) FROM audit_records r WHERE r.tenant_id = $1 \
            AND r.id > COALESCE(s.record_id, -9223372036854775808)) AS pending \
       FROM (SELECT 1) AS one LEFT JOIN LATERAL \
         (SELECT seq, record_id, hash FROM audit_chain WHERE tenant_id = $1 \
          ORDER BY seq DESC LIMIT 1) AS s ON true) \
     SELECT /* audit head */ h.seq AS head_seq, h.hash AS head_hash, h.pending, \
       c.seq, c.head_hash AS checkpoint_hash, c.record_count, c.created_at, \
       c.key_id, c.signature \
     FROM h LEFT JOIN LATERAL \
       (SELECT seq, head_hash, record_count, created_at, key_id, signature \
        FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq DESC LIMIT $2) AS c \
       ON true \
     ORDER BY c.seq DESC";

/// The head and the newest `newest` checkpoints, newest first (see
/// [`HEAD_WITH_CHECKPOINTS`]).
pub fn head_with_checkpoints(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    newest: i64,
) -> QueryResult<(Head, Vec<Checkpoint>)> {
    let rows: Vec<Row> = crate::db::prepared(
        diesel::sql_query(HEAD_WITH_CHECKPOINTS)
            .bind::<SqlUuid, _>(tenant_id)
            .bind::<BigInt, _>(newest),
    )
    .load(conn)?;
    let Some(first) = rows.first() else {
        return Err(diesel::result::Error::NotFound);
    };
    // seq numbers a tenant's chain from 1 without gaps (verified), so the
    // newest seq is the count.
    let head = Head {
        count: first.head_seq.unwrap_or(0),
        hash: first.head_hash.as_deref().map(crate::digest::hex),
        pending: first.pending,
    };
    let checkpoints = rows
        .into_iter()
        .filter_map(|r| {
            Some(Checkpoint {
                tenant_id,
                seq: r.seq?,
                head_hash: r.checkpoint_hash?,
                record_count: r.record_count?,
                created_at: r.created_at?,
                key_id: r.key_id?,
                signature: r.signature?,
            })
        })
        .collect();
    Ok((head, checkpoints))
}

/// The head alone.
pub fn head(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<Head> {
    head_with_checkpoints(conn, tenant_id, 0).map(|(head, _)| head)
}
