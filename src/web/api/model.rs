//! The JSON shapes of the API, with the cmdlets' property names.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        KnownFormat, ObjectBuilder, RefOr, SchemaFormat,
        schema::{Schema, Type},
    },
};

use crate::{
    audit::Record,
    identity::RequestId,
    requests::{AccessRequest, Action, Status, TimelineEntry, Workload},
    web::view::{Viewer, actor_label},
};

/// A string schema of exactly `values`.
fn one_of(description: &str, values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// A schema named after a vocabulary of the domain, written from the
/// domain's own list of it (so the document cannot drift from it).
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $description:expr, $values:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                one_of($description, $values)
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

vocabulary!(
    /// A request's state, as the API names it.
    ApprovalStatus,
    "The effective state of a request at the time of the call.",
    Status::ALL.map(Status::name)
);
vocabulary!(
    /// A workload's product name.
    WorkloadName,
    "The workload the request is for.",
    Workload::ALL.map(Workload::name)
);
vocabulary!(
    /// A workload as a new request names it.
    WorkloadSlug,
    "The workload: exchange, sharepoint or onedrive.",
    Workload::ALL.map(Workload::as_db)
);
vocabulary!(
    /// The decisions of `Set-AccessToCustomerDataRequest`.
    ApprovalDecision,
    "Approve or Deny a pending request, Cancel it, or Revoke an approved one.",
    DECISIONS.map(|(name, _)| name)
);
vocabulary!(
    /// A decision of the provider's API, by its path segment.
    StaffAction,
    "approve or reject (support managers), cancel (the engineer's own request).",
    Action::ALL.map(Action::slug)
);
vocabulary!(
    /// A pre-approved operation's name.
    OperationName,
    "A pre-approved operation (each for one workload).",
    crate::content::OPERATIONS.iter().map(|o| o.name)
);

/// `ApprovalDecision`'s names and the decisions they stand for.
pub const DECISIONS: [(&str, Action); 4] = [
    ("Approve", Action::Approve),
    ("Deny", Action::Deny),
    ("Cancel", Action::Cancel),
    ("Revoke", Action::Revoke),
];

/// Typed ids travel as UUID strings.
impl PartialSchema for RequestId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some("A request's id."))
            .into()
    }
}

impl ToSchema for RequestId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RequestId")
    }
}

/// A request as `Get-AccessToCustomerDataRequest` returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RequestJson {
    pub request_id: RequestId,
    /// The effective state at the time of the call (time rules applied).
    #[schema(value_type = ApprovalStatus)]
    pub approval_status: &'static str,
    /// The customer's organization.
    pub tenant: String,
    pub service_request_number: String,
    #[schema(value_type = WorkloadName)]
    pub workload: &'static str,
    /// ISO 8601, e.g. `PT240M`.
    #[schema(example = "PT240M")]
    pub requested_duration: String,
    pub requested_duration_minutes: i32,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_ends_at: Option<DateTime<Utc>>,
    /// The engineer who asked: customers see the provider's staff id
    /// only, the provider sees the name.
    pub requester: String,
    pub justification: String,
    /// The customer quorum (issue 19): how many of the customer's people
    /// must approve; fixed when the request reached the customer.
    pub approvals_required: u8,
    /// How many approved so far.
    pub approvals_given: usize,
    /// Who approved and when, oldest first (customers only: the provider
    /// sees the count).
    pub approvals: Vec<ApprovalJson>,
}

/// One approval of a request by a person of the customer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ApprovalJson {
    pub approved_by: String,
    pub approved_at: DateTime<Utc>,
}

impl RequestJson {
    pub fn new(req: &AccessRequest, now: DateTime<Utc>, viewer: Viewer) -> Self {
        let status = req.effective(now);
        let (expires_at, access_ends_at) = match status {
            Status::PendingCustomer | Status::Expired => (req.expires_at, None),
            Status::Approved | Status::Ended => (None, req.ends_at),
            Status::Revoked => (None, req.closed_at),
            _ => (None, None),
        };
        Self {
            request_id: req.id,
            approval_status: status.name(),
            tenant: req.tenant_name.clone(),
            service_request_number: req.service_request.clone(),
            workload: req.workload.name(),
            requested_duration: format!("PT{}M", req.duration_minutes),
            requested_duration_minutes: req.duration_minutes,
            created_at: req.created_at,
            expires_at,
            access_ends_at,
            requester: match viewer {
                Viewer::Customer => req.engineer_public_id(),
                Viewer::Provider => req.engineer_name.clone(),
            },
            justification: req.justification.clone(),
            approvals_required: req.quorum,
            approvals_given: req.approvals.len(),
            approvals: match viewer {
                Viewer::Customer => req
                    .approvals
                    .iter()
                    .map(|a| ApprovalJson {
                        approved_by: a.name.clone(),
                        approved_at: a.at,
                    })
                    .collect(),
                Viewer::Provider => Vec::new(),
            },
        }
    }
}

/// One step of a request's timeline.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TimelineJson {
    pub at: DateTime<Utc>,
    pub event: String,
    /// The state the step brought the request to, if it changed it.
    #[schema(value_type = Option<ApprovalStatus>)]
    pub approval_status: Option<&'static str>,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

pub fn timeline(entries: &[TimelineEntry], tenant: &str, viewer: Viewer) -> Vec<TimelineJson> {
    let tr = crate::i18n::Tr::new(crate::i18n::Lang::En);
    entries
        .iter()
        .map(|e| TimelineJson {
            at: e.at,
            event: e.event.clone(),
            approval_status: e.status().map(Status::name),
            actor: actor_label(&tr, e, tenant, viewer),
            comment: e.comment.clone(),
        })
        .collect()
}

/// An audit record as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AuditJson {
    pub id: i64,
    /// Its place in the tenant's hash chain, once sealed.
    pub seq: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub user_id: String,
    pub user_name: String,
    pub client_ip: String,
    pub activity: String,
    pub item: String,
    pub parameters: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
}

impl From<&Record> for AuditJson {
    fn from(r: &Record) -> Self {
        Self {
            id: r.id,
            seq: r.seq,
            occurred_at: r.occurred_at,
            user_id: r.actor_id.clone(),
            user_name: r.actor_name.clone(),
            client_ip: r.ip.clone(),
            activity: r.activity.clone(),
            item: r.item.clone(),
            parameters: r.parameters.clone(),
            request_id: r.request_id,
        }
    }
}

/// A page of items and the cursor of the next page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PageJson<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
