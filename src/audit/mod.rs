//! The audit log the customer uses to check that the provider kept its
//! word. Records are appended in the same transaction as the change they
//! describe ([`append`] takes the caller's connection, inside its
//! transaction), chained per tenant by the sealer moments later ([`seal`],
//! [`chain`]), never updated or deleted (triggers refuse it), searchable
//! ([`search`]), exportable ([`export`]) and verifiable ([`verify`]), its
//! heads signed now and then with the deployment's key ([`checkpoint`]).

pub mod chain;
pub mod checkpoint;
pub mod export;
mod head;
pub mod offline;
pub mod overview;
pub mod receipt;
pub mod seal;
pub mod search;
pub mod segment;
pub mod verify;

use crate::identity::{RequestId, StaffId, TenantId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::schema::audit_chain as ac;
use view::audit_log as log;

/// The `audit_log` view (migration 000006): every record with its seal once
/// it has one. Reads go through it; diesel's print-schema leaves views out,
/// so it is declared here.
pub mod view {
    diesel::table! {
        audit_log (tenant_id, id) {
            id -> Int8,
            tenant_id -> Uuid,
            occurred_at -> Timestamptz,
            actor_id -> Text,
            actor_name -> Text,
            ip -> Text,
            activity -> Text,
            item -> Text,
            parameters -> Jsonb,
            request_id -> Nullable<Uuid>,
            seq -> Nullable<Int8>,
            prev_hash -> Nullable<Bytea>,
            hash -> Nullable<Bytea>,
        }
    }
}

/// Activity names, after the cmdlets and events customers know.
pub mod activity {
    /// A customer's approve / deny / cancel / revoke.
    pub const SET_REQUEST: &str = "Set-AccessToCustomerDataRequest";
    pub const NEW_REQUEST: &str = "New-AccessToCustomerDataRequest";
    pub const APPROVE_REQUEST: &str = "Approve-AccessToCustomerDataRequest";
    pub const REJECT_REQUEST: &str = "Reject-AccessToCustomerDataRequest";
    pub const CANCEL_REQUEST: &str = "Cancel-AccessToCustomerDataRequest";
    pub const EXPIRE_REQUEST: &str = "Expire-AccessToCustomerDataRequest";
    pub const END_REQUEST: &str = "End-AccessToCustomerDataRequest";
    pub const SET_ORGANIZATION_CONFIG: &str = "Set-OrganizationConfig";
    pub const ADD_ROLE_MEMBER: &str = "Add-RoleGroupMember";
    pub const REMOVE_ROLE_MEMBER: &str = "Remove-RoleGroupMember";
    pub const NEW_USER: &str = "New-User";
    pub const NEW_ORGANIZATION: &str = "New-Organization";
    pub const USER_LOGGED_IN: &str = "UserLoggedIn";
    pub const USER_LOGIN_FAILED: &str = "UserLoginFailed";
    /// An operator operation refused by the enforcement point.
    pub const ACCESS_DENIED: &str = "AccessDenied";
    pub const NEW_API_TOKEN: &str = "New-ApiToken";
    pub const REMOVE_API_TOKEN: &str = "Remove-ApiToken";
    /// Two-factor sign-in: an authenticator enrolled (or replaced), removed
    /// by its user, reset by a global administrator; a wrong code; a
    /// recovery code used.
    pub const NEW_AUTHENTICATOR: &str = "New-Authenticator";
    pub const REMOVE_AUTHENTICATOR: &str = "Remove-Authenticator";
    pub const RESET_AUTHENTICATOR: &str = "Reset-Authenticator";
    pub const SECOND_FACTOR_FAILED: &str = "UserSecondFactorFailed";
    pub const RECOVERY_CODE_USED: &str = "UserRecoveryCodeUsed";
    /// The deployment's signing key was rotated (`lockbox key rotate`).
    pub const SET_SIGNING_KEY: &str = "Set-LockboxSigningKey";
    /// Service requests (tickets): opened, a message added, closed.
    pub const NEW_SERVICE_REQUEST: &str = "New-ServiceRequest";
    pub const ADD_SERVICE_REQUEST_MESSAGE: &str = "Add-ServiceRequestMessage";
    pub const CLOSE_SERVICE_REQUEST: &str = "Close-ServiceRequest";
    /// An approver's question on a pending request, the engineer's answer.
    pub const REQUEST_INFORMATION: &str = "Request-AccessToCustomerDataRequestInformation";
    pub const SUBMIT_INFORMATION: &str = "Submit-AccessToCustomerDataRequestInformation";
    /// Webhook endpoints: added, removed by a global administrator,
    /// disabled by the system after failing for three days.
    pub const NEW_WEBHOOK_ENDPOINT: &str = "New-WebhookEndpoint";
    pub const REMOVE_WEBHOOK_ENDPOINT: &str = "Remove-WebhookEndpoint";
    pub const DISABLE_WEBHOOK_ENDPOINT: &str = "Disable-WebhookEndpoint";

    /// What a provider operator did, or tried, under a request: the
    /// pre-approved operations (`crate::content::OPERATIONS`, whose names a
    /// test holds to these) and the enforcement point's refusals. The
    /// request page's list, the evidence pack and the admin center's home
    /// read this one list.
    pub const OPERATOR_ACTIONS: &[&str] = &[
        "Get-MailboxStatistics",
        "Get-MessageTrace",
        "Search-Mailbox",
        "Get-SiteUsage",
        "Get-SiteDocuments",
        "Get-DocumentVersions",
        "Get-DriveUsage",
        "Get-DriveFileVersions",
        ACCESS_DENIED,
    ];

    /// Every activity lockbox records, for the search page's picker.
    pub const ALL: &[&str] = &[
        SET_REQUEST,
        NEW_REQUEST,
        APPROVE_REQUEST,
        REJECT_REQUEST,
        CANCEL_REQUEST,
        EXPIRE_REQUEST,
        END_REQUEST,
        SET_ORGANIZATION_CONFIG,
        ADD_ROLE_MEMBER,
        REMOVE_ROLE_MEMBER,
        NEW_USER,
        NEW_ORGANIZATION,
        SET_SIGNING_KEY,
        USER_LOGGED_IN,
        USER_LOGIN_FAILED,
        ACCESS_DENIED,
        NEW_API_TOKEN,
        REMOVE_API_TOKEN,
        NEW_SERVICE_REQUEST,
        ADD_SERVICE_REQUEST_MESSAGE,
        CLOSE_SERVICE_REQUEST,
        REQUEST_INFORMATION,
        SUBMIT_INFORMATION,
        NEW_WEBHOOK_ENDPOINT,
        REMOVE_WEBHOOK_ENDPOINT,
        DISABLE_WEBHOOK_ENDPOINT,
        NEW_AUTHENTICATOR,
        REMOVE_AUTHENTICATOR,
        RESET_AUTHENTICATOR,
        SECOND_FACTOR_FAILED,
        RECOVERY_CODE_USED,
        // Operator operations (see crate::content::OPERATIONS).
        "Get-MailboxStatistics",
        "Get-MessageTrace",
        "Search-Mailbox",
        "Get-SiteUsage",
        "Get-SiteDocuments",
        "Get-DocumentVersions",
        "Get-DriveUsage",
        "Get-DriveFileVersions",
    ];
}

/// The fixed display name of provider staff in a customer's audit log.
pub const PROVIDER_OPERATOR: &str = "Provider Operator";

/// Who did something, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub ip: String,
}

impl Actor {
    /// Time-based transitions.
    pub fn system() -> Self {
        Self {
            id: String::new(),
            name: "System".into(),
            ip: String::new(),
        }
    }

    /// Provider staff: named "Provider Operator", identified by staff id.
    pub fn provider_operator(staff_id: StaffId, ip: &str) -> Self {
        Self {
            id: staff_id.public_id(),
            name: PROVIDER_OPERATOR.into(),
            ip: ip.into(),
        }
    }

    /// The command line, run by the provider's operators.
    pub fn command_line() -> Self {
        Self {
            id: "cli".into(),
            name: PROVIDER_OPERATOR.into(),
            ip: String::new(),
        }
    }

    pub fn customer(user_id: UserId, name: &str, ip: &str) -> Self {
        Self {
            id: user_id.to_string(),
            name: name.into(),
            ip: ip.into(),
        }
    }
}

/// A record to append.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub tenant_id: TenantId,
    pub occurred_at: DateTime<Utc>,
    pub actor: &'a Actor,
    pub activity: &'a str,
    pub item: String,
    pub parameters: serde_json::Value,
    pub request_id: Option<RequestId>,
}

/// A record as the log shows it. `seq`, `prev_hash` and `hash` are its seal:
/// `None` for the moment between its commit and the sealer's next round.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Serialize)]
#[diesel(table_name = log)]
pub struct Record {
    pub id: i64,
    pub tenant_id: TenantId,
    pub seq: Option<i64>,
    /// Exported as the chain encodes it: six fractional digits, `Z`.
    #[serde(serialize_with = "as_canonical_time")]
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub ip: String,
    pub activity: String,
    pub item: String,
    pub parameters: serde_json::Value,
    pub request_id: Option<RequestId>,
    #[serde(serialize_with = "as_hex")]
    pub prev_hash: Option<Vec<u8>>,
    #[serde(serialize_with = "as_hex")]
    pub hash: Option<Vec<u8>>,
}

fn as_canonical_time<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

fn as_hex<S: serde::Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(bytes) => s.serialize_str(&crate::digest::hex(bytes)),
        None => s.serialize_none(),
    }
}

chain::chained_from_fields!(Record);

/// Appends a record and returns its id. Call it inside the transaction that
/// makes the change it describes: both commit or neither does.
///
/// One prepared INSERT: the table's trigger (migration 000006) takes the
/// tenant's lock *shared*, so appends to one tenant do not wait for each
/// other, and draws the id. The sealer chains the record once it has
/// committed ([`seal`]). A plain INSERT, not a call of a PL/pgSQL function
/// around it (migration 2026-11-30-000300): without that layer a customer
/// decision took 6–16 % less PostgreSQL CPU time (README, Web benchmark).
pub fn append(conn: &mut PgConnection, entry: Entry<'_>) -> QueryResult<i64> {
    use crate::schema::audit_records as r;
    // Diesel keeps a one-row INSERT of column values prepared itself.
    diesel::insert_into(r::table)
        .values((
            r::tenant_id.eq(entry.tenant_id),
            r::occurred_at.eq(entry.occurred_at),
            r::actor_id.eq(&entry.actor.id),
            r::actor_name.eq(&entry.actor.name),
            r::ip.eq(&entry.actor.ip),
            r::activity.eq(entry.activity),
            r::item.eq(&entry.item),
            r::request_id.eq(entry.request_id),
            r::parameters.eq(&entry.parameters),
        ))
        .returning(r::id)
        .get_result(conn)
}

pub use head::{Head, head, head_with_checkpoints};

/// The newest seal of the tenant's chain: (seq, record id, hash).
pub(crate) fn last_seal(
    conn: &mut PgConnection,
    tenant_id: TenantId,
) -> QueryResult<Option<(i64, i64, Vec<u8>)>> {
    ac::table
        .filter(ac::tenant_id.eq(tenant_id))
        .order(ac::seq.desc())
        .select((ac::seq, ac::record_id, ac::hash))
        .first(conn)
        .optional()
}

/// The tenant's record `id` (never another tenant's).
pub fn find(conn: &mut PgConnection, tenant_id: TenantId, id: i64) -> QueryResult<Option<Record>> {
    log::table
        .filter(log::tenant_id.eq(tenant_id))
        .filter(log::id.eq(id))
        .select(Record::as_select())
        .first(conn)
        .optional()
}

/// One page of the records made under one request with one of
/// `activities`, newest first (e.g. the operator actions a customer's
/// approval allowed), and the cursor of the next page.
pub fn for_request(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    request_id: RequestId,
    activities: &[&str],
    after: Option<search::Cursor>,
    limit: i64,
) -> QueryResult<(Vec<Record>, Option<search::Cursor>)> {
    let mut query = log::table
        .filter(log::tenant_id.eq(tenant_id))
        .filter(log::request_id.eq(request_id))
        .filter(log::activity.eq_any(activities))
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(
            log::occurred_at
                .lt(c.occurred_at)
                .or(log::occurred_at.eq(c.occurred_at).and(log::id.lt(c.id))),
        );
    }
    let mut rows: Vec<Record> = query
        .order((log::occurred_at.desc(), log::id.desc()))
        .limit(limit + 1)
        .select(Record::as_select())
        .load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| {
            rows.last().map(|r| search::Cursor {
                occurred_at: r.occurred_at,
                id: r.id,
            })
        })
        .flatten();
    Ok((rows, next))
}
