//! The JSON shapes of the API, with the cmdlets' property names.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    audit::Record,
    identity::RequestId,
    requests::{AccessRequest, Status, TimelineEntry},
    web::view::{Viewer, actor_label},
};

/// A request as `Get-AccessToCustomerDataRequest` returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestJson {
    pub request_id: RequestId,
    /// The effective state at the time of the call (time rules applied).
    pub approval_status: &'static str,
    pub tenant: String,
    pub service_request_number: String,
    pub workload: &'static str,
    /// ISO 8601, e.g. `PT240M`.
    pub requested_duration: String,
    pub requested_duration_minutes: i32,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_ends_at: Option<DateTime<Utc>>,
    /// Customers see the provider staff id only.
    pub requester: String,
    pub justification: String,
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
        }
    }
}

/// One step of a request's timeline.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimelineJson {
    pub at: DateTime<Utc>,
    pub event: String,
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
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditJson {
    pub id: i64,
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
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageJson<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
