//! Webhook endpoints: a tenant's (Settings › Webhooks, by a global
//! administrator; adding, removing and the automatic disabling are
//! recorded in the tenant's audit log) and the provider's (`lockbox
//! webhook add`, `tenant_id` NULL, receiving every tenant's events).
//!
//! The secret is shown once, when the endpoint is added, and stored only
//! sealed ([`seal`], the authenticator secrets' AEAD and key, bound to the
//! endpoint's id); the worker opens it to sign ([`open`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::{
    EventGroup,
    guard::{self, Refused, Rules},
    sign,
};
use crate::{
    audit,
    auth::totp::Sealer,
    identity::TenantId,
    schema::{webhook_deliveries as wd, webhook_endpoints as we},
};

/// The longest URL accepted.
pub const MAX_URL: usize = 2000;
/// Endpoints a tenant may register.
pub const MAX_PER_TENANT: i64 = 20;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = we)]
pub struct Endpoint {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Endpoint {
    /// The rules its deliveries follow.
    pub fn rules(&self, allow_http_loopback: bool) -> Rules {
        Rules {
            trusted: self.tenant_id.is_none(),
            allow_http_loopback,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{0}")]
    Url(Refused),
    #[error("the URL is longer than {MAX_URL} characters")]
    UrlTooLong,
    #[error("choose at least one event")]
    NoEvents,
    #[error("an organization may register at most {MAX_PER_TENANT} endpoints")]
    TooMany,
    #[error("no such endpoint")]
    NotFound,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Checks what was typed: the URL (scheme, a literal address) and the
/// events. Shared by the settings page and the CLI.
pub fn check(url: &str, events: &[EventGroup], rules: Rules) -> Result<String, EndpointError> {
    if url.trim().len() > MAX_URL {
        return Err(EndpointError::UrlTooLong);
    }
    let parsed = guard::check_saved(url, rules).map_err(EndpointError::Url)?;
    if events.is_empty() {
        return Err(EndpointError::NoEvents);
    }
    Ok(parsed.to_string())
}

fn binding(id: Uuid) -> Vec<u8> {
    format!("lockbox webhook secret v1|{id}").into_bytes()
}

/// The endpoint's secret, sealed for storage.
pub fn seal(sealer: &Sealer, id: Uuid, secret: &str) -> Vec<u8> {
    sealer.seal_bound(&binding(id), secret.as_bytes())
}

/// The endpoint's secret from storage (`None`: it does not open).
pub fn open(sealer: &Sealer, id: Uuid, sealed: &[u8]) -> Option<String> {
    String::from_utf8(sealer.open_bound(&binding(id), sealed)?).ok()
}

fn insert(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: Option<TenantId>,
    url: &str,
    events: &[EventGroup],
    now: DateTime<Utc>,
) -> QueryResult<(Endpoint, String)> {
    let (id, secret) = (Uuid::new_v4(), sign::new_secret());
    let endpoint = diesel::insert_into(we::table)
        .values((
            we::id.eq(id),
            we::tenant_id.eq(tenant.map(|t| t.0)),
            we::url.eq(url),
            we::events.eq(events.iter().map(|e| e.as_db()).collect::<Vec<_>>()),
            we::secret.eq(seal(sealer, id, &secret)),
            we::created_at.eq(now),
        ))
        .returning(Endpoint::as_returning())
        .get_result(conn)?;
    Ok((endpoint, secret))
}

fn record(
    conn: &mut PgConnection,
    tenant: TenantId,
    activity: &'static str,
    e: &Endpoint,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> QueryResult<()> {
    audit::append(
        conn,
        audit::Entry {
            tenant_id: tenant,
            occurred_at: now,
            actor,
            activity,
            item: e.id.to_string(),
            parameters: json!({"Host": origin(&e.url), "UrlSha256": url_sha256(&e.url), "Events": e.events}),
            request_id: None,
        },
    )?;
    Ok(())
}

/// The URL's `scheme://host:port`: what logs and the audit log show of an
/// endpoint. The whole URL may be a bearer secret (chat services' incoming
/// webhooks carry their token in the path), so it is recorded only as
/// [`url_sha256`].
pub fn origin(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(
        |_| "invalid URL".to_owned(),
        |u| {
            let host = u.host_str().unwrap_or("");
            match u.port_or_known_default() {
                Some(port) => format!("{}://{host}:{port}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        },
    )
}

/// The SHA-256 of the whole URL, in hex: who knows the URL can tell it is
/// the one recorded, nobody can read it back.
pub fn url_sha256(url: &str) -> String {
    crate::digest::hex(&crate::digest::sha256(url.as_bytes()))
}

/// What a global administrator typed: the URL and the event groups.
#[derive(Debug, Clone, Copy)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub events: &'a [EventGroup],
}

/// Registers a tenant's endpoint (checked as [`check`]) and records it;
/// returns it with its secret, shown once.
pub fn add_for_tenant(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    NewEndpoint { url, events }: NewEndpoint<'_>,
    allow_http_loopback: bool,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<(Endpoint, String), EndpointError> {
    let rules = Rules {
        trusted: false,
        allow_http_loopback,
    };
    let url = check(url, events, rules)?;
    conn.transaction(|conn| {
        // Concurrent adds of one tenant wait for each other here, so the
        // count below cannot be outrun.
        crate::schema::tenants::table
            .find(tenant.0)
            .select(crate::schema::tenants::id)
            .for_update()
            .first::<Uuid>(conn)?;
        let count: i64 = we::table
            .filter(we::tenant_id.eq(tenant.0))
            .count()
            .get_result(conn)?;
        if count >= MAX_PER_TENANT {
            return Err(EndpointError::TooMany);
        }
        let (endpoint, secret) = insert(conn, sealer, Some(tenant), &url, events, now)?;
        record(
            conn,
            tenant,
            audit::activity::NEW_WEBHOOK_ENDPOINT,
            &endpoint,
            now,
            actor,
        )?;
        Ok((endpoint, secret))
    })
}

/// Registers a provider endpoint (trusted: any http or https URL).
pub fn add_for_provider(
    conn: &mut PgConnection,
    sealer: &Sealer,
    url: &str,
    events: &[EventGroup],
    now: DateTime<Utc>,
) -> Result<(Endpoint, String), EndpointError> {
    let rules = Rules {
        trusted: true,
        allow_http_loopback: false,
    };
    let url = check(url, events, rules)?;
    Ok(insert(conn, sealer, None, &url, events, now)?)
}

/// The tenant's endpoints, oldest first.
pub fn list_for_tenant(conn: &mut PgConnection, tenant: TenantId) -> QueryResult<Vec<Endpoint>> {
    we::table
        .filter(we::tenant_id.eq(tenant.0))
        .order(we::created_at.asc())
        .select(Endpoint::as_select())
        .load(conn)
}

/// The provider's endpoints, oldest first.
pub fn list_for_provider(conn: &mut PgConnection) -> QueryResult<Vec<Endpoint>> {
    we::table
        .filter(we::tenant_id.is_null())
        .order(we::created_at.asc())
        .select(Endpoint::as_select())
        .load(conn)
}

/// The tenant's endpoint `id` (another tenant's: not found).
pub fn find_for_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Endpoint, EndpointError> {
    we::table
        .filter(we::id.eq(id))
        .filter(we::tenant_id.eq(tenant.0))
        .select(Endpoint::as_select())
        .first(conn)
        .optional()?
        .ok_or(EndpointError::NotFound)
}

/// Removes the tenant's endpoint `id` with its deliveries, and records it.
pub fn remove_for_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<Endpoint, EndpointError> {
    conn.transaction(|conn| {
        let endpoint = find_for_tenant(conn, tenant, id)?;
        diesel::delete(wd::table.filter(wd::endpoint_id.eq(id))).execute(conn)?;
        diesel::delete(we::table.find(id)).execute(conn)?;
        record(
            conn,
            tenant,
            audit::activity::REMOVE_WEBHOOK_ENDPOINT,
            &endpoint,
            now,
            actor,
        )?;
        Ok(endpoint)
    })
}

/// Removes the provider endpoint `id` with its deliveries.
pub fn remove_for_provider(conn: &mut PgConnection, id: Uuid) -> Result<Endpoint, EndpointError> {
    conn.transaction(|conn| {
        let endpoint = we::table
            .filter(we::id.eq(id))
            .filter(we::tenant_id.is_null())
            .select(Endpoint::as_select())
            .first(conn)
            .optional()?
            .ok_or(EndpointError::NotFound)?;
        diesel::delete(wd::table.filter(wd::endpoint_id.eq(id))).execute(conn)?;
        diesel::delete(we::table.find(id)).execute(conn)?;
        Ok(endpoint)
    })
}

/// Disables an endpoint that failed for the whole failure period (its
/// pending deliveries fail with it) and, for a tenant's, records it as the
/// system's doing. Returns whether this call disabled it (once, however
/// many workers notice).
pub(super) fn disable(
    conn: &mut PgConnection,
    e: &Endpoint,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let changed = diesel::update(we::table.find(e.id).filter(we::enabled.eq(true)))
        .set((we::enabled.eq(false), we::disabled_at.eq(now)))
        .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    diesel::update(
        wd::table
            .filter(wd::endpoint_id.eq(e.id))
            .filter(wd::status.eq("pending")),
    )
    .set(wd::status.eq("failed"))
    .execute(conn)?;
    if let Some(tenant) = e.tenant_id {
        record(
            conn,
            TenantId(tenant),
            audit::activity::DISABLE_WEBHOOK_ENDPOINT,
            e,
            now,
            &audit::Actor::system(),
        )?;
    }
    Ok(true)
}

/// One delivery as the settings page and the CLI show it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wd)]
pub struct DeliveryRow {
    pub message_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The endpoint's newest deliveries.
pub fn recent_deliveries(
    conn: &mut PgConnection,
    endpoint: Uuid,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    wd::table
        .filter(wd::endpoint_id.eq(endpoint))
        .order(wd::created_at.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)
}
