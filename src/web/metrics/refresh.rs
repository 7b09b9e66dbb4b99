//! The gauges that need the database, read by a background task at a fixed
//! interval (`LOCKBOX_METRICS_REFRESH_SECONDS`) rather than per scrape: a
//! scrape then costs no query at all. One refresh is one read-only snapshot
//! of four statements: three counts by status and one for the stuck-work
//! moments — never a statement per tenant.

use chrono::{DateTime, Utc};
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_types::Nullable, sql_types::Timestamptz,
};

use super::registry::Metrics;
use crate::db::{self, DbError, PgPool};

/// The moments stuck-work ages are computed from.
#[derive(QueryableByName)]
struct Moments {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest_mail: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest_webhook: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest_unsealed: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    newest_checkpoint: Option<DateTime<Utc>>,
}

/// The oldest unsealed record is found per tenant with the sealer's own
/// two index probes (its newest chained record, its first record after
/// that), inside the one statement.
const MOMENTS: &str = "SELECT \
    (SELECT min(created_at) FROM outbox WHERE status = 'pending') AS oldest_mail, \
    (SELECT min(created_at) FROM webhook_deliveries WHERE status = 'pending') AS oldest_webhook, \
    (SELECT min(u.occurred_at) FROM tenants t CROSS JOIN LATERAL \
        (SELECT r.occurred_at FROM audit_records r WHERE r.tenant_id = t.id AND r.id > \
            coalesce((SELECT c.record_id FROM audit_chain c WHERE c.tenant_id = t.id \
                      ORDER BY c.seq DESC LIMIT 1), '-9223372036854775808'::bigint) \
         ORDER BY r.id LIMIT 1) u) AS oldest_unsealed, \
    (SELECT max(created_at) FROM audit_checkpoints) AS newest_checkpoint";

type Counts = Vec<(String, i64)>;

fn read(conn: &mut PgConnection) -> diesel::QueryResult<(Counts, Counts, Counts, Moments)> {
    db::snapshot(conn, |conn| {
        Ok((
            crate::notify::outbox::counts(conn)?,
            crate::webhooks::counts(conn)?,
            crate::requests::queries::counts_by_status(conn)?,
            diesel::sql_query(MOMENTS).get_result(conn)?,
        ))
    })
}

/// One refresh: reads and sets the database-derived gauges.
pub async fn refresh(pool: &PgPool, metrics: &Metrics) -> Result<(), DbError> {
    let (outbox, hooks, requests, moments) =
        db::blocking(pool, |conn| read(conn).map_err(DbError::from)).await?;
    set(
        &metrics.outbox_messages,
        &["pending", "sent", "failed"],
        &outbox,
    );
    set(
        &metrics.webhook_deliveries,
        &["pending", "delivered", "failed"],
        &hooks,
    );
    let states = crate::requests::Status::ALL.map(|s| s.as_db());
    set(&metrics.requests, &states, &requests);
    metrics.set_marks(|m| {
        m.oldest_mail = moments.oldest_mail;
        m.oldest_webhook = moments.oldest_webhook;
        m.oldest_unsealed = moments.oldest_unsealed;
        m.newest_checkpoint = moments.newest_checkpoint;
    });
    Ok(())
}

/// A gauge per value of its label, zero when `counts` lacks it.
fn set(gauges: &prometheus::IntGaugeVec, values: &[&str], counts: &Counts) {
    for v in values {
        let n = counts.iter().find(|(s, _)| s == v).map_or(0, |(_, n)| *n);
        gauges.with_label_values(&[*v]).set(n);
    }
}
