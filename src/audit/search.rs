//! Audit log search: filters, newest first, keyset pagination (no OFFSET:
//! a deep page costs what the first one does).

use crate::identity::TenantId;
use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};

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
    /// The filter box over the results: text looked for in every column of
    /// the records a page (or an export batch) has already read — never a
    /// query of its own, so it cannot make a page scan the tenant's log.
    pub narrow: Option<String>,
}

impl Filter {
    /// Whether the search has no conditions of its own (the filter box
    /// only narrows what a page read).
    fn is_plain(&self) -> bool {
        self.activities.is_empty()
            && self.start.is_none()
            && self.end.is_none()
            && self.users.is_empty()
            && self.item.is_none()
            && self.text.is_none()
    }

    /// Whether the filter box keeps `record`: its text (case-insensitive)
    /// in the activity, actor, address, item or parameters.
    pub fn keeps<R: Found>(&self, record: &R) -> bool {
        let Some(narrow) = self.narrow.as_deref() else {
            return true;
        };
        let needle = narrow.to_lowercase();
        let (texts, parameters) = record.searched();
        texts
            .iter()
            .copied()
            .chain([parameters.as_str()])
            .any(|field| field.to_lowercase().contains(&needle))
    }
}

/// What a search reads of each record: the whole [`Record`] with its seal
/// (the API, the exports), or the [`Listed`] row a results page shows,
/// which leaves the seal out and so never joins `audit_chain` (that join
/// was half of what PostgreSQL spent on an Audit page). Both are read by
/// the same filters in the same order; only the relation differs.
pub trait Found:
    sealed::Sealed + diesel::deserialize::QueryableByName<diesel::pg::Pg> + Sized + 'static
{
    /// An unfiltered page (see [`plain_page`]): one prepared statement.
    fn load_plain(conn: &mut PgConnection, binds: PlainBinds) -> QueryResult<Vec<Self>>;
    /// The relation a filtered search reads.
    const FROM: &'static str;
    /// The seal's columns a free-text window adds (after `w.*`), and the
    /// join that reads them.
    const SEAL_COLUMNS: &'static str;
    const SEAL_JOIN: &'static str;
    fn cursor(&self) -> Cursor;
    /// The activity, actor name and id, address and item; the parameters
    /// as compact JSON (keys in order).
    fn searched(&self) -> ([&str; 5], String);
}

/// [`Found::cursor`] and [`Found::searched`] of a shape with the record's
/// fields by name; `$parameters` writes its parameters as compact JSON.
macro_rules! found_fields {
    ($parameters:expr) => {
        fn cursor(&self) -> Cursor {
            Cursor {
                occurred_at: self.occurred_at,
                id: self.id,
            }
        }
        fn searched(&self) -> ([&str; 5], String) {
            let r = self;
            let texts = [&r.activity, &r.actor_name, &r.actor_id, &r.ip, &r.item];
            (texts.map(String::as_str), $parameters(r))
        }
    };
}

/// Only this module's shapes: a [`Found`] names the SQL a search runs, and
/// each of those filters by tenant.
mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Record {}
    impl Sealed for super::Listed {}
}

/// A plain page's binds: the tenant, the cursor's time (none: the end of
/// time) and id, the limit.
type PlainBinds = (TenantId, Option<DateTime<Utc>>, i64, i64);

impl Found for Record {
    fn load_plain(conn: &mut PgConnection, (t, at, id, n): PlainBinds) -> QueryResult<Vec<Self>> {
        crate::db::prepared(
            diesel::sql_query(
                "SELECT * FROM audit_page($1, COALESCE($2, 'infinity'::timestamptz), $3, $4)",
            )
            .bind::<SqlUuid, _>(t)
            .bind::<Nullable<Timestamptz>, _>(at)
            .bind::<Int8, _>(id)
            .bind::<BigInt, _>(n),
        )
        .load(conn)
    }
    const FROM: &'static str = "audit_log";
    const SEAL_COLUMNS: &'static str = ", c.seq, c.prev_hash, c.hash";
    const SEAL_JOIN: &'static str =
        "LEFT JOIN audit_chain c ON c.tenant_id = w.tenant_id AND c.record_id = w.id";
    found_fields!(|r: &Self| r.parameters.to_string());
}

/// A record as a results page lists it: no seal (see [`Found`]), and the
/// parameters as text (see [`RawParameters`]). The fields in the order
/// [`Found::load_plain`] selects them.
#[derive(Debug, Clone, QueryableByName, Queryable)]
#[diesel(table_name = crate::schema::audit_records)]
pub struct Listed {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub ip: String,
    pub activity: String,
    pub item: String,
    pub parameters: RawParameters,
}

/// A record's parameters as PostgreSQL wrote them (jsonb's text: keys in
/// jsonb's order, shortest first). A results page only summarises them,
/// and building fifty `serde_json::Value` trees was a quarter of what
/// reading a page's rows cost this process.
#[derive(Debug, Clone, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Jsonb)]
pub struct RawParameters(String);

impl RawParameters {
    /// The JSON text.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The parameters parsed (`null` if the text were not JSON, which
    /// PostgreSQL's jsonb never writes).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Jsonb, diesel::pg::Pg> for RawParameters {
    /// jsonb's binary form is a version byte (1) and the text.
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((1, text)) => Ok(Self(std::str::from_utf8(text)?.to_owned())),
            _ => Err("unsupported jsonb version".into()),
        }
    }
}

impl Found for Listed {
    /// The columns a page shows, read by position: by name, finding the
    /// column of each of a page's 400 values was 4 % of an Audit page's
    /// instructions (callgrind; issue 20).
    fn load_plain(conn: &mut PgConnection, (t, at, id, n): PlainBinds) -> QueryResult<Vec<Self>> {
        type Row = (
            Int8,
            Timestamptz,
            Text,
            Text,
            Text,
            Text,
            Text,
            diesel::sql_types::Jsonb,
        );
        crate::db::prepared(
            diesel::dsl::sql::<Row>(
                "SELECT id, occurred_at, actor_id, actor_name, ip, activity, item, parameters \
                 FROM audit_records_page(",
            )
            .bind::<SqlUuid, _>(t)
            .sql(", COALESCE(")
            .bind::<Nullable<Timestamptz>, _>(at)
            .sql(", 'infinity'::timestamptz), ")
            .bind::<Int8, _>(id)
            .sql(", ")
            .bind::<BigInt, _>(n)
            .sql(")"),
        )
        .load(conn)
    }
    const FROM: &'static str = "audit_records";
    const SEAL_COLUMNS: &'static str = "";
    const SEAL_JOIN: &'static str = "";
    found_fields!(|r: &Self| r.parameters.value().to_string());
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

    /// The cursor [`Cursor::encode`] wrote, or `None`; a time PostgreSQL
    /// could not compare with (outside the years 1–9999) is no cursor of
    /// ours.
    pub fn decode(raw: &str) -> Option<Self> {
        use chrono::Datelike;
        let (micros, id) = raw.split_once('.')?;
        let occurred_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        if !(1..=9999).contains(&occurred_at.year()) {
            return None;
        }
        Some(Self {
            occurred_at,
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

/// Every filter but the free text, over `audit_records` columns. The binds
/// are the same for every query of a search (see [`Query::load`]).
const FILTERS: &str = "tenant_id = $1 \
     AND (cardinality($2::text[]) = 0 OR activity = ANY($2)) \
     AND ($3::timestamptz IS NULL OR occurred_at >= $3) \
     AND ($4::timestamptz IS NULL OR occurred_at <= $4) \
     AND (cardinality($5::text[]) = 0 OR actor_id = ANY($5) OR lower(actor_name) = ANY($6)) \
     AND ($7::text IS NULL OR item = $7) \
     AND ($9::timestamptz IS NULL OR (occurred_at, id) < ($9, $10))";
/// The free text: the expression of the trigram index (migration 000007).
const TEXT: &str = "($8::text IS NULL OR parameters::text ILIKE $8)";
const NEWEST_FIRST: &str = "ORDER BY occurred_at DESC, id DESC";

/// How many of the newest candidates a free-text search reads in order
/// before it asks the trigram index for the older ones.
const TEXT_WINDOW: i64 = 2_000;

/// The values of a search's binds: the filter, the cursor, a limit.
struct Query<'a> {
    tenant_id: TenantId,
    filter: &'a Filter,
    users_lower: Vec<String>,
    after: Option<Cursor>,
    limit: i64,
}

impl Query<'_> {
    fn load<T: diesel::deserialize::QueryableByName<diesel::pg::Pg> + 'static>(
        &self,
        conn: &mut PgConnection,
        sql: &str,
    ) -> QueryResult<Vec<T>> {
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(self.tenant_id)
            .bind::<Array<Text>, _>(&self.filter.activities)
            .bind::<Nullable<Timestamptz>, _>(self.filter.start)
            .bind::<Nullable<Timestamptz>, _>(self.filter.end)
            .bind::<Array<Text>, _>(&self.filter.users)
            .bind::<Array<Text>, _>(&self.users_lower)
            .bind::<Nullable<Text>, _>(self.filter.item.as_deref())
            .bind::<Nullable<Text>, _>(self.filter.text.as_deref().map(contains_pattern))
            .bind::<Nullable<Timestamptz>, _>(self.after.map(|c| c.occurred_at))
            .bind::<Nullable<Int8>, _>(self.after.map(|c| c.id))
            .bind::<BigInt, _>(self.limit)
            .bind::<BigInt, _>(TEXT_WINDOW)
            .load(conn)
    }
}

/// The page of an unfiltered search (the audit page as it opens, and its
/// next pages): `audit_page` (migration 000600), or `audit_records_page`
/// for [`Listed`] rows (migration 2026-11-30-000100), reads it in index order
/// and stops at the page's end, whatever the statistics say; one prepared
/// statement for the first page and every next one (the first starts
/// before the end of time). Filtered searches are planned for their values
/// on every call instead: a generic plan could not know which index a rare
/// value wants.
fn plain_page<R: Found>(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<Vec<R>> {
    let (before_at, before_id) = match after {
        Some(c) => (Some(c.occurred_at), c.id),
        None => (None, i64::MAX),
    };
    R::load_plain(conn, (tenant_id, before_at, before_id, limit))
}

/// The oldest candidate of a free-text window, and how many it held.
#[derive(QueryableByName)]
struct WindowEnd {
    #[diesel(sql_type = Timestamptz)]
    occurred_at: DateTime<Utc>,
    #[diesel(sql_type = Int8)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One page of the tenant's records matching `filter`, newest first, and
/// the cursor of the next page if there is one. The filter box
/// ([`Filter::narrow`]) then keeps those of the page's records it matches;
/// the next page starts after the page, kept or not.
pub fn search<R: Found>(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<(Vec<R>, Option<Cursor>)> {
    let mut query = Query {
        tenant_id,
        filter,
        users_lower: filter
            .users
            .iter()
            .map(|u| u.trim().to_lowercase())
            .collect(),
        after,
        limit: limit + 1,
    };
    let mut rows: Vec<R> = if filter.is_plain() {
        plain_page(conn, tenant_id, after, limit + 1)?
    } else if filter.text.is_none() {
        // An ordered scan of an index on (tenant, occurred_at, id) that
        // stops at the page's end, or, for a rare activity, item or user,
        // the index on it (the planner knows which from the statistics).
        query.load(
            conn,
            &format!(
                "SELECT * FROM {} WHERE {FILTERS} AND {TEXT} {NEWEST_FIRST} LIMIT $11",
                R::FROM
            ),
        )?
    } else {
        // Its steps must see the same records, or the window could move.
        crate::db::snapshot(conn, |conn| text_search(conn, &mut query))?
    };
    let next = if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(Found::cursor)
    } else {
        None
    };
    rows.retain(|r| filter.keeps(r));
    Ok((rows, next))
}

/// Free text in two steps, so that neither a common nor a rare term costs
/// a scan of the tenant. First the newest [`TEXT_WINDOW`] candidates, read
/// in order (a LIMIT in a subquery keeps the planner from the trigram
/// index, which is slow for common terms); a common term fills the page
/// there. Only a term rare among them goes on to the older records, where
/// the planner may use the trigram index.
fn text_search<R: Found>(conn: &mut PgConnection, query: &mut Query<'_>) -> QueryResult<Vec<R>> {
    let mut rows: Vec<R> = query.load(
        conn,
        &format!(
            "SELECT w.*{} \
             FROM (SELECT * FROM audit_records WHERE {FILTERS} {NEWEST_FIRST} LIMIT $12) w {} \
             WHERE {TEXT} {NEWEST_FIRST} LIMIT $11",
            R::SEAL_COLUMNS,
            R::SEAL_JOIN
        ),
    )?;
    if rows.len() as i64 >= query.limit {
        return Ok(rows);
    }
    let end: Option<WindowEnd> = query
        .load(
            conn,
            &format!(
                "SELECT occurred_at, id, count(*) OVER () AS n \
                 FROM (SELECT occurred_at, id FROM audit_records WHERE {FILTERS} {NEWEST_FIRST} LIMIT $12) w \
                 ORDER BY occurred_at, id LIMIT 1"
            ),
        )?
        .pop();
    match end {
        Some(end) if end.n >= TEXT_WINDOW => {
            query.after = Some(Cursor {
                occurred_at: end.occurred_at,
                id: end.id,
            });
            query.limit -= rows.len() as i64;
            rows.extend(query.load::<R>(
                conn,
                &format!(
                    "SELECT * FROM {} WHERE {FILTERS} AND {TEXT} {NEWEST_FIRST} LIMIT $11",
                    R::FROM
                ),
            )?);
            Ok(rows)
        }
        // The window held every candidate: nothing older to look at.
        _ => Ok(rows),
    }
}

#[cfg(test)]
mod tests;
