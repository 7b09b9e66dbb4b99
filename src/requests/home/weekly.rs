//! Requests per week by outcome, for the admin center's chart: the last
//! [`WEEKS`] weeks (Monday 00:00 UTC to Monday, the current week last),
//! each request counted in the week it was filed, under the outcome its
//! state has now (time rules applied: a request whose deadline passed is
//! expired, whether or not the sweeper has recorded it).

use chrono::{DateTime, Datelike, Duration, Utc};
use diesel::prelude::*;

use super::super::machine::Status;
use crate::identity::TenantId;

/// How many weeks the chart covers, the current one included.
pub const WEEKS: usize = 12;

/// What became of a request, as the chart groups the states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Access was given: approved, ended or revoked.
    Approved,
    /// The customer denied it.
    Denied,
    /// Nobody decided in time.
    Expired,
    /// Cancelled, or rejected by the provider's manager.
    Withdrawn,
    /// Still waiting for a manager or the customer.
    Waiting,
}

impl Outcome {
    /// In the order of the chart's stacks (bottom first) and columns.
    pub const ALL: [Outcome; 5] = [
        Outcome::Approved,
        Outcome::Denied,
        Outcome::Expired,
        Outcome::Withdrawn,
        Outcome::Waiting,
    ];

    pub fn of(status: Status) -> Self {
        match status {
            Status::Approved | Status::Ended | Status::Revoked => Outcome::Approved,
            Status::Denied => Outcome::Denied,
            Status::Expired => Outcome::Expired,
            Status::Cancelled | Status::Rejected => Outcome::Withdrawn,
            Status::PendingManager | Status::PendingCustomer => Outcome::Waiting,
        }
    }

    /// A stable name (CSS classes, pattern ids, translation keys).
    pub fn slug(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Denied => "denied",
            Outcome::Expired => "expired",
            Outcome::Withdrawn => "withdrawn",
            Outcome::Waiting => "waiting",
        }
    }

    fn index(self) -> usize {
        Outcome::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// One week's requests by outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekCounts {
    /// Monday 00:00 UTC.
    pub start: DateTime<Utc>,
    counts: [i64; Outcome::ALL.len()],
}

impl WeekCounts {
    pub fn count(&self, outcome: Outcome) -> i64 {
        self.counts[outcome.index()]
    }

    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }
}

/// The start (Monday 00:00 UTC) of the week `at` falls in.
pub fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let monday = at.date_naive() - Duration::days(i64::from(at.weekday().num_days_from_monday()));
    monday.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The first instant the chart at `now` covers.
pub fn first_week(now: DateTime<Utc>) -> DateTime<Utc> {
    week_start(now) - Duration::weeks(WEEKS as i64 - 1)
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    week: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Counts per week index (whole weeks since `$2`) and state now (`$4`),
/// read from the tenant's (tenant_id, created_at) index.
const OUTCOMES: &str = "SELECT /* requests per week */ \
        floor(extract(epoch FROM (a.created_at - $2)) / 604800)::int AS week, \
        request_effective_status(a.status, a.expires_at, a.ends_at, $4) AS status, \
        count(*) AS n \
     FROM access_requests a \
     WHERE a.tenant_id = $1 AND a.created_at >= $2 AND a.created_at < $3 \
     GROUP BY 1, 2";

/// `tenant`'s requests of the last [`WEEKS`] weeks by week and outcome at
/// `now`, oldest week first; weeks without requests count zero.
pub fn outcomes(
    conn: &mut PgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> QueryResult<Vec<WeekCounts>> {
    use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
    let first = first_week(now);
    let end = week_start(now) + Duration::weeks(1);
    let rows: Vec<CountRow> = crate::db::prepared(
        diesel::sql_query(OUTCOMES)
            .bind::<SqlUuid, _>(tenant)
            .bind::<Timestamptz, _>(first)
            .bind::<Timestamptz, _>(end)
            .bind::<Timestamptz, _>(now),
    )
    .load(conn)?;
    Ok(tally(first, &rows_of(rows)))
}

fn rows_of(rows: Vec<CountRow>) -> Vec<(usize, Status, i64)> {
    rows.into_iter()
        .filter_map(|r| {
            let week = usize::try_from(r.week).ok()?;
            Some((week, Status::from_db(&r.status)?, r.n))
        })
        .collect()
}

/// The weeks from `first`, with the counted (week index, state, count)
/// rows added in.
fn tally(first: DateTime<Utc>, rows: &[(usize, Status, i64)]) -> Vec<WeekCounts> {
    let mut weeks: Vec<WeekCounts> = (0..WEEKS)
        .map(|i| WeekCounts {
            start: first + Duration::weeks(i as i64),
            counts: [0; Outcome::ALL.len()],
        })
        .collect();
    for &(week, status, n) in rows {
        if let Some(w) = weeks.get_mut(week) {
            w.counts[Outcome::of(status).index()] += n;
        }
    }
    weeks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .expect("valid")
    }

    #[test]
    fn a_week_starts_on_monday_at_midnight_utc() {
        let monday = at("2026-03-02T00:00:00Z");
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(at("2026-03-08T23:59:59Z")), monday);
        assert_eq!(
            week_start(at("2026-03-09T00:00:00Z")),
            at("2026-03-09T00:00:00Z")
        );
        assert_eq!(
            first_week(at("2026-03-04T12:00:00Z")),
            at("2025-12-15T00:00:00Z")
        );
    }

    #[test]
    fn every_state_has_one_outcome_and_every_outcome_a_state() {
        for outcome in Outcome::ALL {
            assert!(
                Status::ALL.iter().any(|s| Outcome::of(*s) == outcome),
                "{outcome:?}"
            );
        }
        assert_eq!(Outcome::of(Status::Revoked), Outcome::Approved);
        assert_eq!(Outcome::of(Status::Rejected), Outcome::Withdrawn);
    }

    #[test]
    fn counts_land_in_their_week_and_outcome() {
        let first = at("2025-12-15T00:00:00Z");
        let weeks = tally(
            first,
            &[
                (0, Status::Ended, 2),
                (0, Status::Approved, 1),
                (11, Status::Expired, 3),
                (12, Status::Denied, 9),
            ],
        );
        assert_eq!(weeks.len(), WEEKS);
        assert_eq!(weeks[0].count(Outcome::Approved), 3);
        assert_eq!(weeks[11].count(Outcome::Expired), 3);
        assert_eq!(weeks[11].start, at("2026-03-02T00:00:00Z"));
        assert_eq!(
            weeks.iter().map(WeekCounts::total).sum::<i64>(),
            6,
            "week 12 is outside"
        );
    }
}
