//! Customer content and the one door provider staff reach it through.
//!
//! [`run`] is the enforcement point: every operator operation passes
//! through it, and no other code path reads the content store for provider
//! staff. It asks [`authorize`] for the `Approved` request whose window
//! contains `now` for exactly this engineer, tenant and workload; refuses
//! otherwise; and writes an audit record of every attempt, executed or
//! refused, in the tenant's chain.

pub mod evidence;
pub use evidence::operator_actions;
pub mod seed;
pub mod store;
pub mod times;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::{
    audit,
    clock::Clock,
    identity::{RequestId, StaffId, TenantId},
    requests::{FieldErrors, Status, Workload, queries},
    schema::access_requests as ar,
    webhooks,
};
use store::{ContentError, ContentStores, Table, TraceQuery};

/// A pre-approved, read-only operation with its validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    GetMailboxStatistics {
        mailbox: Option<String>,
    },
    GetMessageTrace(TraceQuery),
    SearchMailbox {
        mailbox: Option<String>,
        words: String,
    },
    GetSiteUsage {
        site: Option<String>,
    },
    GetSiteDocuments {
        site: String,
    },
    GetDocumentVersions {
        site: String,
        path: String,
    },
    GetDriveUsage {
        owner: Option<String>,
    },
    GetDriveFileVersions {
        owner: String,
        path: String,
    },
}

/// An operation's name, workload and form fields (name, required).
pub struct OperationSpec {
    pub name: &'static str,
    pub workload: Workload,
    pub fields: &'static [(&'static str, bool)],
}

pub const OPERATIONS: &[OperationSpec] = &[
    OperationSpec {
        name: "Get-MailboxStatistics",
        workload: Workload::Exchange,
        fields: &[("mailbox", false)],
    },
    OperationSpec {
        name: "Get-MessageTrace",
        workload: Workload::Exchange,
        fields: &[
            ("sender", false),
            ("recipient", false),
            ("start", false),
            ("end", false),
        ],
    },
    OperationSpec {
        name: "Search-Mailbox",
        workload: Workload::Exchange,
        fields: &[("words", true), ("mailbox", false)],
    },
    OperationSpec {
        name: "Get-SiteUsage",
        workload: Workload::SharePoint,
        fields: &[("site", false)],
    },
    OperationSpec {
        name: "Get-SiteDocuments",
        workload: Workload::SharePoint,
        fields: &[("site", true)],
    },
    OperationSpec {
        name: "Get-DocumentVersions",
        workload: Workload::SharePoint,
        fields: &[("site", true), ("path", true)],
    },
    OperationSpec {
        name: "Get-DriveUsage",
        workload: Workload::OneDrive,
        fields: &[("owner", false)],
    },
    OperationSpec {
        name: "Get-DriveFileVersions",
        workload: Workload::OneDrive,
        fields: &[("owner", true), ("path", true)],
    },
];

pub fn spec(name: &str) -> Option<&'static OperationSpec> {
    OPERATIONS.iter().find(|o| o.name == name)
}

impl Operation {
    /// Parses `name` with the submitted `fields`, collecting every error.
    pub fn parse(name: &str, fields: &HashMap<String, String>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(spec) = spec(name) else {
            errors.insert("operation", "error-op-unknown");
            return Err(errors);
        };
        let mut get = |field: &'static str, required: bool| -> Option<String> {
            let v = fields.get(field).map(|v| v.trim()).unwrap_or("");
            if v.is_empty() {
                if required {
                    errors.insert(field, "error-op-required");
                }
                return None;
            }
            if v.chars().count() > 200 || v.chars().any(char::is_control) {
                errors.insert(field, "error-op-too-long");
                return None;
            }
            Some(v.to_owned())
        };
        let required = |f: &'static str| spec.fields.iter().any(|(n, r)| *n == f && *r);
        let mut opt = |f: &'static str| get(f, required(f));
        let op = match name {
            "Get-MailboxStatistics" => Operation::GetMailboxStatistics {
                mailbox: opt("mailbox"),
            },
            "Get-MessageTrace" => {
                let (sender, recipient) = (opt("sender"), opt("recipient"));
                let (start, end) = (opt("start"), opt("end"));
                let mut day = |field: &'static str, raw: Option<String>| -> Option<DateTime<Utc>> {
                    let raw = raw?;
                    match NaiveDate::parse_from_str(&raw, "%Y-%m-%d") {
                        Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
                        Err(_) => {
                            errors.insert(field, "error-op-date");
                            None
                        }
                    }
                };
                let start = day("start", start);
                let end =
                    day("end", end).and_then(|d| d.checked_add_signed(chrono::Duration::days(1)));
                Operation::GetMessageTrace(TraceQuery {
                    sender,
                    recipient,
                    start,
                    end,
                })
            }
            "Search-Mailbox" => {
                let words = opt("words").unwrap_or_default();
                let mailbox = opt("mailbox");
                if !words.is_empty() && words.chars().count() < 2 {
                    errors.insert("words", "error-op-short");
                }
                Operation::SearchMailbox { mailbox, words }
            }
            "Get-SiteUsage" => Operation::GetSiteUsage { site: opt("site") },
            "Get-SiteDocuments" => Operation::GetSiteDocuments {
                site: opt("site").unwrap_or_default(),
            },
            "Get-DocumentVersions" => {
                let site = opt("site").unwrap_or_default();
                Operation::GetDocumentVersions {
                    site,
                    path: opt("path").unwrap_or_default(),
                }
            }
            "Get-DriveUsage" => Operation::GetDriveUsage {
                owner: opt("owner"),
            },
            _ => {
                let owner = opt("owner").unwrap_or_default();
                Operation::GetDriveFileVersions {
                    owner,
                    path: opt("path").unwrap_or_default(),
                }
            }
        };
        if errors.is_empty() {
            Ok(op)
        } else {
            Err(errors)
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Operation::GetMailboxStatistics { .. } => "Get-MailboxStatistics",
            Operation::GetMessageTrace(_) => "Get-MessageTrace",
            Operation::SearchMailbox { .. } => "Search-Mailbox",
            Operation::GetSiteUsage { .. } => "Get-SiteUsage",
            Operation::GetSiteDocuments { .. } => "Get-SiteDocuments",
            Operation::GetDocumentVersions { .. } => "Get-DocumentVersions",
            Operation::GetDriveUsage { .. } => "Get-DriveUsage",
            Operation::GetDriveFileVersions { .. } => "Get-DriveFileVersions",
        }
    }

    pub fn workload(&self) -> Workload {
        spec(self.name()).map_or(Workload::Exchange, |s| s.workload)
    }

    /// The parameters as the audit record shows them.
    pub fn parameters(&self) -> serde_json::Value {
        match self {
            Operation::GetMailboxStatistics { mailbox } => json!({"Mailbox": mailbox}),
            Operation::GetMessageTrace(q) => json!({
                "Sender": q.sender, "Recipient": q.recipient, "StartDate": q.start, "EndDate": q.end
            }),
            Operation::SearchMailbox { mailbox, words } => {
                json!({"Mailbox": mailbox, "SearchQuery": words})
            }
            Operation::GetSiteUsage { site } => json!({"Site": site}),
            Operation::GetSiteDocuments { site } => json!({"Site": site}),
            Operation::GetDocumentVersions { site, path } => json!({"Site": site, "Path": path}),
            Operation::GetDriveUsage { owner } => json!({"Owner": owner}),
            Operation::GetDriveFileVersions { owner, path } => {
                json!({"Owner": owner, "Path": path})
            }
        }
    }

    fn execute(
        &self,
        stores: &ContentStores,
        conn: &mut PgConnection,
        tenant: TenantId,
    ) -> Result<Table, ContentError> {
        let (ex, sp, od) = (&stores.exchange, &stores.sharepoint, &stores.onedrive);
        match self {
            Operation::GetMailboxStatistics { mailbox } => {
                ex.mailbox_statistics(conn, tenant, mailbox.as_deref())
            }
            Operation::GetMessageTrace(q) => ex.message_trace(conn, tenant, q),
            Operation::SearchMailbox { mailbox, words } => {
                ex.search_mailbox(conn, tenant, mailbox.as_deref(), words)
            }
            Operation::GetSiteUsage { site } => sp.site_usage(conn, tenant, site.as_deref()),
            Operation::GetSiteDocuments { site } => sp.site_documents(conn, tenant, site),
            Operation::GetDocumentVersions { site, path } => {
                sp.document_versions(conn, tenant, site, path)
            }
            Operation::GetDriveUsage { owner } => od.drive_usage(conn, tenant, owner.as_deref()),
            Operation::GetDriveFileVersions { owner, path } => {
                od.drive_file_versions(conn, tenant, owner, path)
            }
        }
    }
}

/// The approved request that lets an operation run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub request_id: RequestId,
    pub ends_at: DateTime<Utc>,
}

/// Why an operation was refused: the state of the newest request for this
/// engineer, tenant and workload, if there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    pub latest: Option<(RequestId, Status, Option<DateTime<Utc>>)>,
}

impl Denial {
    /// The reason in English, for the audit record.
    pub fn reason(&self) -> String {
        match self.latest {
            None => "no approved request for this tenant and workload".into(),
            Some((_, status, at)) => {
                let at = at
                    .map(|t| format!(" at {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
                    .unwrap_or_default();
                format!(
                    "the latest request for this tenant and workload is {}{at}",
                    status.name()
                )
            }
        }
    }
}

/// The enforcement decision: (engineer, tenant, workload, now) → the
/// `Approved` request whose window contains `now`, or a refusal. The
/// engineer's approved requests for the tenant and workload are
/// share-locked first and `now` is read from `clock` only then, so waiting
/// for a connection or a lock never lets an operation run after its window;
/// the locks last until the caller's transaction ends, so a revocation waits
/// for an operation in flight and refuses the very next one. Returns the
/// decision and the `now` it was made at.
pub fn authorize(
    conn: &mut PgConnection,
    engineer: StaffId,
    tenant: TenantId,
    workload: Workload,
    clock: &dyn Clock,
) -> QueryResult<(Result<Grant, Denial>, DateTime<Utc>)> {
    let candidates: Vec<RequestId> = ar::table
        .filter(ar::engineer_id.eq(engineer))
        .filter(ar::tenant_id.eq(tenant))
        .filter(ar::workload.eq(workload.as_db()))
        .filter(ar::status.eq(Status::Approved.as_db()))
        .select(ar::id)
        .for_share()
        .load(conn)?;
    let now = clock.now();
    let open: Option<(RequestId, Option<DateTime<Utc>>)> = ar::table
        .filter(ar::id.eq_any(&candidates))
        .filter(queries::effective_at(now).eq(Status::Approved.as_db()))
        .filter(ar::approved_at.le(now))
        .select((ar::id, ar::ends_at))
        .first(conn)
        .optional()?;
    if let Some((request_id, Some(ends_at))) = open {
        return Ok((
            Ok(Grant {
                request_id,
                ends_at,
            }),
            now,
        ));
    }
    let latest = queries::latest_for(conn, engineer, tenant, workload)?;
    let denial = Denial {
        latest: latest.map(|r| {
            let status = r.effective(now);
            let at = match status {
                Status::Ended => r.ends_at,
                Status::Expired => r.expires_at,
                _ => None,
            };
            (r.id, status, at)
        }),
    };
    Ok((Err(denial), now))
}

/// Who is calling, and from where.
#[derive(Debug, Clone)]
pub struct Operator {
    pub engineer_id: StaffId,
    pub ip: String,
}

pub enum Outcome {
    Executed { table: Table, grant: Grant },
    Refused(Denial),
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Content(#[from] ContentError),
}

/// Runs `op` for `operator` on `tenant`'s content, if and only if an
/// approved window allows it, and records the attempt either way. The
/// record and the read share one transaction: results are handed back only
/// once the record is committed.
pub fn run(
    conn: &mut PgConnection,
    stores: &ContentStores,
    operator: &Operator,
    tenant: TenantId,
    op: &Operation,
    clock: &dyn Clock,
) -> Result<Outcome, RunError> {
    let actor = audit::Actor::provider_operator(operator.engineer_id, &operator.ip);
    let staff = operator.engineer_id.public_id();
    conn.transaction(|conn| {
        let (decision, now) = authorize(conn, operator.engineer_id, tenant, op.workload(), clock)?;
        let mut parameters = op.parameters();
        parameters["StaffId"] = json!(staff);
        parameters["Workload"] = json!(op.workload().name());
        let (activity, request_id, outcome) = match decision {
            Ok(grant) => {
                let table = op.execute(stores, conn, tenant)?;
                parameters["ResultCount"] = json!(table.rows.len());
                (
                    op.name(),
                    Some(grant.request_id),
                    Outcome::Executed { table, grant },
                )
            }
            Err(denial) => {
                parameters["Operation"] = json!(op.name());
                parameters["Reason"] = json!(denial.reason());
                let request = denial.latest.map(|(id, _, _)| id);
                (
                    audit::activity::ACCESS_DENIED,
                    request,
                    Outcome::Refused(denial),
                )
            }
        };
        audit::append(
            conn,
            audit::Entry {
                tenant_id: tenant,
                occurred_at: now,
                actor: &actor,
                activity,
                item: String::new(),
                parameters,
                request_id,
            },
        )?;
        let executed = matches!(outcome, Outcome::Executed { .. });
        let workload = op.workload().name();
        webhooks::operator_action(conn, tenant, request_id, op.name(), workload, executed, now)?;
        Ok(outcome)
    })
}
