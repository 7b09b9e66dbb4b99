//! The audit log the customer uses to check that the provider kept its
//! word. Records are appended in the same transaction as the change they
//! describe ([`append`] takes the caller's connection, inside its
//! transaction), chained per tenant ([`chain`]), never updated or deleted
//! (a trigger refuses it), searchable ([`search`]), exportable
//! ([`export`]) and verifiable ([`verify`]).

pub mod chain;
pub mod export;
pub mod search;
pub mod verify;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::schema::audit_records as ar;

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
        USER_LOGGED_IN,
        USER_LOGIN_FAILED,
        ACCESS_DENIED,
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
    pub fn provider_operator(staff_id: Uuid, ip: &str) -> Self {
        Self {
            id: crate::requests::store::staff_public_id(staff_id),
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

    pub fn customer(user_id: Uuid, name: &str, ip: &str) -> Self {
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
    pub tenant_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor: &'a Actor,
    pub activity: &'a str,
    pub item: String,
    pub parameters: serde_json::Value,
    pub request_id: Option<Uuid>,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Serialize)]
#[diesel(table_name = ar)]
pub struct Record {
    pub id: i64,
    pub tenant_id: Uuid,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub ip: String,
    pub activity: String,
    pub item: String,
    pub parameters: serde_json::Value,
    pub request_id: Option<Uuid>,
    #[serde(serialize_with = "as_hex")]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "as_hex")]
    pub hash: Vec<u8>,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::auth::token::hex(bytes))
}

impl Record {
    pub fn chained(&self) -> chain::Chained<'_> {
        chain::Chained {
            tenant_id: self.tenant_id,
            seq: self.seq,
            occurred_at: self.occurred_at,
            actor_id: &self.actor_id,
            actor_name: &self.actor_name,
            ip: &self.ip,
            activity: &self.activity,
            item: &self.item,
            request_id: self.request_id,
            parameters: &self.parameters,
        }
    }
}

/// Appends a record to its tenant's chain and returns its id. Call it inside
/// the transaction that makes the change it describes: both commit or
/// neither does.
///
/// One round trip to the `audit_append` SQL function (see its migration),
/// which takes the tenant's advisory lock (held until the caller's
/// transaction ends), reads the chain's head and inserts the next record, so
/// concurrent appends queue up and the chain never forks. The canonical
/// encoding is built here except for the seq field, which only the database
/// knows (see [`chain::canonical_around_seq`]).
pub fn append(conn: &mut PgConnection, entry: Entry<'_>) -> QueryResult<i64> {
    let chained = chain::Chained {
        tenant_id: entry.tenant_id,
        seq: 0,
        occurred_at: entry.occurred_at,
        actor_id: &entry.actor.id,
        actor_name: &entry.actor.name,
        ip: &entry.actor.ip,
        activity: entry.activity,
        item: &entry.item,
        request_id: entry.request_id,
        parameters: &entry.parameters,
    };
    let (before_seq, after_seq) = chain::canonical_around_seq(&chained);
    // A typed call, so diesel prepares the statement once per connection.
    diesel::select(audit_append(
        entry.tenant_id,
        entry.occurred_at,
        &entry.actor.id,
        &entry.actor.name,
        &entry.actor.ip,
        entry.activity,
        &entry.item,
        entry.request_id,
        entry.parameters.to_string(),
        before_seq,
        after_seq,
    ))
    .get_result(conn)
}

/// The SQL function of the audit migration, typed for diesel.
mod sql {
    // The signature is the SQL function's, generated by diesel.
    #![allow(clippy::too_many_arguments)]
    use diesel::sql_types;

    diesel::define_sql_function! {
        /// The append function of the audit migration; returns the new id.
        fn audit_append(
            tenant: sql_types::Uuid,
            occurred_at: sql_types::Timestamptz,
            actor_id: sql_types::Text,
            actor_name: sql_types::Text,
            ip: sql_types::Text,
            activity: sql_types::Text,
            item: sql_types::Text,
            request_id: sql_types::Nullable<sql_types::Uuid>,
            parameters: sql_types::Text,
            before_seq: sql_types::Bytea,
            after_seq: sql_types::Bytea,
        ) -> sql_types::BigInt;
    }
}
use sql::audit_append;

/// The tenant's chain head: how many records, and the newest hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub count: i64,
    pub hash: Option<String>,
}

pub fn head(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Head> {
    let top: Option<(i64, Vec<u8>)> = ar::table
        .filter(ar::tenant_id.eq(tenant_id))
        .order(ar::seq.desc())
        .select((ar::seq, ar::hash))
        .first(conn)
        .optional()?;
    // seq numbers a tenant's chain from 1 without gaps (verified), so the
    // newest seq is the count.
    Ok(match top {
        Some((seq, hash)) => Head {
            count: seq,
            hash: Some(crate::auth::token::hex(&hash)),
        },
        None => Head {
            count: 0,
            hash: None,
        },
    })
}

/// The tenant's record at `seq` (never another tenant's).
pub fn find(conn: &mut PgConnection, tenant_id: Uuid, seq: i64) -> QueryResult<Option<Record>> {
    ar::table
        .filter(ar::tenant_id.eq(tenant_id))
        .filter(ar::seq.eq(seq))
        .select(Record::as_select())
        .first(conn)
        .optional()
}

/// The records made under one request (newest first), e.g. the operator
/// actions a customer's approval allowed.
pub fn for_request(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    request_id: Uuid,
) -> QueryResult<Vec<Record>> {
    ar::table
        .filter(ar::tenant_id.eq(tenant_id))
        .filter(ar::request_id.eq(request_id))
        .order((ar::occurred_at.desc(), ar::seq.desc()))
        .select(Record::as_select())
        .load(conn)
}
