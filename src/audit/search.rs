//! Audit log search: filters, newest first, keyset pagination (no OFFSET:
//! a deep page costs what the first one does).

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use uuid::Uuid;

use super::Record;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Empty: every activity.
    pub activities: Vec<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Actor ids or display names (case-insensitive); empty: everyone.
    pub users: Vec<String>,
    /// Exact item (e.g. a request GUID).
    pub item: Option<String>,
    /// Free text searched in the parameters.
    pub text: Option<String>,
    /// The filter box over the results: text searched in every column.
    pub narrow: Option<String>,
}

/// Where the next page starts: strictly after this record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.occurred_at.timestamp_micros(), self.id)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (micros, id) = raw.split_once('.')?;
        Some(Self {
            occurred_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

/// `%text%` for ILIKE, with the pattern characters escaped.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// One page of the tenant's records matching `filter`, newest first, and
/// the cursor of the next page if there is one.
pub fn search(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<(Vec<Record>, Option<Cursor>)> {
    let users_lower: Vec<String> = filter
        .users
        .iter()
        .map(|u| u.trim().to_lowercase())
        .collect();
    let mut rows: Vec<Record> = diesel::sql_query(
        "SELECT * FROM audit_log \
         WHERE tenant_id = $1 \
           AND (cardinality($2::text[]) = 0 OR activity = ANY($2)) \
           AND ($3::timestamptz IS NULL OR occurred_at >= $3) \
           AND ($4::timestamptz IS NULL OR occurred_at <= $4) \
           AND (cardinality($5::text[]) = 0 OR actor_id = ANY($5) OR lower(actor_name) = ANY($6)) \
           AND ($7::text IS NULL OR item = $7) \
           AND ($8::text IS NULL OR parameters::text ILIKE $8) \
           AND ($9::timestamptz IS NULL OR (occurred_at, id) < ($9, $10)) \
           AND ($12::text IS NULL OR activity ILIKE $12 OR actor_name ILIKE $12 OR actor_id ILIKE $12 \
                OR ip ILIKE $12 OR item ILIKE $12 OR parameters::text ILIKE $12) \
         ORDER BY occurred_at DESC, id DESC \
         LIMIT $11",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<Text>, _>(&filter.activities)
    .bind::<Nullable<Timestamptz>, _>(filter.start)
    .bind::<Nullable<Timestamptz>, _>(filter.end)
    .bind::<Array<Text>, _>(&filter.users)
    .bind::<Array<Text>, _>(&users_lower)
    .bind::<Nullable<Text>, _>(filter.item.as_deref())
    .bind::<Nullable<Text>, _>(filter.text.as_deref().map(contains_pattern))
    .bind::<Nullable<Timestamptz>, _>(after.map(|c| c.occurred_at))
    .bind::<Nullable<Int8>, _>(after.map(|c| c.id))
    .bind::<BigInt, _>(limit + 1)
    .bind::<Nullable<Text>, _>(filter.narrow.as_deref().map(contains_pattern))
    .load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|r| Cursor {
            occurred_at: r.occurred_at,
            id: r.id,
        })
    } else {
        None
    };
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            occurred_at: DateTime::from_timestamp_micros(1_772_441_000_123_456).expect("valid"),
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("nonsense"), None);
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
