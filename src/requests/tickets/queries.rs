//! Reading tickets: one ticket within the caller's scope, the tenant's list
//! (open first, newest first), the provider's queue of open tickets, the
//! open tickets a new request may cite, and a conversation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::{Message, Severity, Ticket, TicketCursor, TicketScope};
use crate::{
    identity::{TenantId, UserId},
    requests::Workload,
    schema::{service_request_messages as m, service_requests as sr, tenants},
};

type Row = (
    (
        Uuid,
        TenantId,
        String,
        String,
        String,
        String,
        String,
        String,
    ),
    (
        UserId,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
    ),
    String,
);

macro_rules! joined {
    () => {
        sr::table.inner_join(tenants::table).select((
            (
                sr::id,
                sr::tenant_id,
                sr::number,
                sr::title,
                sr::description,
                sr::workload,
                sr::severity,
                sr::status,
            ),
            (
                sr::opened_by,
                sr::opener_name,
                sr::opened_at,
                sr::closed_at,
                sr::closed_by_name,
            ),
            tenants::name,
        ))
    };
}

fn from_row(
    ((id, tenant_id, number, title, description, w, s, status), o, tenant_name): Row,
) -> Ticket {
    let (opened_by, opener_name, opened_at, closed_at, closed_by_name) = o;
    Ticket {
        id,
        tenant_id,
        tenant_name,
        number,
        title,
        description,
        // CHECK-constrained to these values.
        workload: Workload::from_db(&w).unwrap_or(Workload::Exchange),
        severity: Severity::from_db(&s).unwrap_or(Severity::C),
        open: status == "open",
        opened_by,
        opener_name,
        opened_at,
        closed_at,
        closed_by_name,
    }
}

/// Ticket `number` of `tenant` (every tenant for `None`), if `scope` lets
/// the caller see it.
pub fn find(
    conn: &mut PgConnection,
    scope: TicketScope,
    tenant: Option<TenantId>,
    number: &str,
) -> QueryResult<Option<Ticket>> {
    let mut query = joined!().filter(sr::number.eq(number)).into_boxed();
    if let Some(t) = tenant {
        query = query.filter(sr::tenant_id.eq(t));
    }
    query = match scope {
        TicketScope::Provider => query,
        TicketScope::Tenant(t) => query.filter(sr::tenant_id.eq(t)),
        TicketScope::Opener(t, u) => query
            .filter(sr::tenant_id.eq(t))
            .filter(sr::opened_by.eq(u)),
    };
    Ok(query.first::<Row>(conn).optional()?.map(from_row))
}

/// The ticket a request cited (whatever its state now).
pub fn by_id(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Ticket>> {
    Ok(joined!()
        .filter(sr::id.eq(id))
        .first::<Row>(conn)
        .optional()?
        .map(from_row))
}

/// A page of the tickets `scope` sees of a tenant: open first, then newest
/// first; keyset after `after`.
pub fn list_for_tenant(
    conn: &mut PgConnection,
    scope: TicketScope,
    after: Option<TicketCursor>,
    limit: i64,
) -> QueryResult<(Vec<Ticket>, Option<TicketCursor>)> {
    use diesel::{dsl::sql, sql_types::Bool};
    let mut query = joined!()
        .order((
            sql::<Bool>("service_requests.status = 'open'").desc(),
            sr::opened_at.desc(),
            sr::id.desc(),
        ))
        .limit(limit + 1)
        .into_boxed();
    query = match scope {
        TicketScope::Provider => query,
        TicketScope::Tenant(t) => query.filter(sr::tenant_id.eq(t)),
        TicketScope::Opener(t, u) => query
            .filter(sr::tenant_id.eq(t))
            .filter(sr::opened_by.eq(u)),
    };
    if let Some(c) = after {
        let older = sr::opened_at
            .lt(c.at)
            .or(sr::opened_at.eq(c.at).and(sr::id.lt(c.id)));
        query = if c.rank == 0 {
            query.filter(sr::status.eq("closed").or(sr::status.eq("open").and(older)))
        } else {
            query.filter(sr::status.eq("closed").and(older))
        };
    }
    let rows: Vec<Row> = query.load(conn)?;
    Ok(page(rows, limit, |t| TicketCursor {
        rank: i32::from(!t.open),
        at: t.opened_at,
        id: t.id,
    }))
}

/// Filters of the provider's support queue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub tenant: Option<TenantId>,
    pub workload: Option<Workload>,
    pub severity: Option<Severity>,
}

/// A page of every tenant's open tickets, oldest first (the provider's
/// support queue).
pub fn open_queue(
    conn: &mut PgConnection,
    filter: &QueueFilter,
    after: Option<TicketCursor>,
    limit: i64,
) -> QueryResult<(Vec<Ticket>, Option<TicketCursor>)> {
    let mut query = joined!()
        .filter(sr::status.eq("open"))
        .order((sr::opened_at.asc(), sr::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(t) = filter.tenant {
        query = query.filter(sr::tenant_id.eq(t));
    }
    if let Some(w) = filter.workload {
        query = query.filter(sr::workload.eq(w.as_db()));
    }
    if let Some(s) = filter.severity {
        query = query.filter(sr::severity.eq(s.as_db()));
    }
    if let Some(c) = after {
        query = query.filter(
            sr::opened_at
                .gt(c.at)
                .or(sr::opened_at.eq(c.at).and(sr::id.gt(c.id))),
        );
    }
    let rows: Vec<Row> = query.load(conn)?;
    Ok(page(rows, limit, |t| TicketCursor {
        rank: 0,
        at: t.opened_at,
        id: t.id,
    }))
}

fn page(
    rows: Vec<Row>,
    limit: i64,
    cursor: impl Fn(&Ticket) -> TicketCursor,
) -> (Vec<Ticket>, Option<TicketCursor>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    let tickets: Vec<Ticket> = rows.into_iter().take(limit).map(from_row).collect();
    let next = more.then(|| tickets.last().map(&cursor)).flatten();
    (tickets, next)
}

/// The open tickets of `tenant` a new request may cite: (number, title),
/// newest first.
pub fn open_for_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> QueryResult<Vec<(String, String)>> {
    sr::table
        .filter(sr::tenant_id.eq(tenant))
        .filter(sr::status.eq("open"))
        .order((sr::opened_at.desc(), sr::id.desc()))
        .select((sr::number, sr::title))
        .limit(200)
        .load(conn)
}

/// Every tenant's open tickets for the new-request form: (tenant, number,
/// title), newest first.
pub fn open_by_tenant(conn: &mut PgConnection) -> QueryResult<Vec<(TenantId, String, String)>> {
    sr::table
        .filter(sr::status.eq("open"))
        .order((sr::opened_at.desc(), sr::id.desc()))
        .select((sr::tenant_id, sr::number, sr::title))
        .limit(500)
        .load(conn)
}

/// A ticket's conversation, oldest first (newest last).
pub fn messages(conn: &mut PgConnection, ticket: Uuid) -> QueryResult<Vec<Message>> {
    let rows: Vec<(DateTime<Utc>, String, String, String)> = m::table
        .filter(m::ticket_id.eq(ticket))
        .order(m::id.asc())
        .select((m::created_at, m::author_kind, m::author_name, m::body))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, author_kind, author_name, body)| Message {
            at,
            author_kind,
            author_name,
            body,
        })
        .collect())
}
