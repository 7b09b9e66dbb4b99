//! The customer's API on the admin listener: the requests
//! (`Get-`/`Set-AccessToCustomerDataRequest`), the audit log, and the
//! organization's configuration (`Get-`/`Set-OrganizationConfig`).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    ApiCustomer, ApiError, ApiJson, blocking, json, model,
    model::{AuditJson, PageJson, RequestJson},
    query,
};
use crate::{
    audit,
    auth::api_tokens::TokenScope,
    identity::RequestId,
    requests::{self, Action, Comment, Cursor, Status, TenantFilter, use_cases},
    tenants::{self, TenantError},
    web::{AppState, view::Viewer},
};

/// The routes, inside the `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/requests", web::get().to(list_requests))
        .route("/requests/{id}", web::get().to(get_request))
        .route("/requests/{id}/decision", web::post().to(decide))
        .route("/organization", web::get().to(get_organization))
        .route("/organization", web::patch().to(set_organization))
        .route("/audit", web::get().to(search_audit));
}

/// Most items one page may hold.
const MAX_LIMIT: i64 = 200;
const DEFAULT_LIMIT: i64 = 50;

fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::BadQuery("limit must be 1 to 200".into())),
    }
}

/// The filters of `Get-AccessToCustomerDataRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RequestQuery {
    approval_status: Option<String>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    request_id: Option<RequestId>,
    #[serde(rename = "cursor")]
    cursor: Option<String>,
    #[serde(rename = "limit")]
    limit: Option<i64>,
}

async fn list_requests(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: ApiCustomer,
) -> Result<HttpResponse, ApiError> {
    let caller = me.caller(TokenScope::Read)?;
    let q: RequestQuery = query(&req)?;
    let state_filter = match q.approval_status.as_deref() {
        None => None,
        Some(name) => Some(
            Status::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| ApiError::BadQuery(format!("unknown ApprovalStatus {name:?}")))?,
        ),
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(raw) => Some(Cursor::decode(raw).ok_or(ApiError::BadQuery("cursor".into()))?),
    };
    let limit = limit(q.limit)?;
    let filter = TenantFilter {
        state: state_filter,
        from: q.created_after,
        until: q.created_before,
    };
    let now = state.clock.now();
    let (items, next) = blocking(&state, move |conn| match q.request_id {
        // One request by id: itself, if the filters let it through.
        Some(id) => {
            let found = use_cases::visible(conn, &caller, id).ok().filter(|r| {
                filter.state.is_none_or(|s| r.effective(now) == s)
                    && filter.from.is_none_or(|f| r.created_at >= f)
                    && filter.until.is_none_or(|u| r.created_at < u)
            });
            Ok((found.into_iter().collect(), None))
        }
        None => Ok(use_cases::list_for_tenant(
            conn, &caller, &filter, after, now, limit,
        )?),
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &PageJson {
            items: items
                .iter()
                .map(|r| RequestJson::new(r, now, Viewer::Customer))
                .collect(),
            next_cursor: next.map(|c| c.encode()),
        },
    ))
}

/// A request with its timeline and the operators' actions under it.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct RequestDetail {
    #[serde(flatten)]
    request: RequestJson,
    timeline: Vec<model::TimelineJson>,
    operator_actions: Vec<AuditJson>,
}

async fn get_request(
    state: web::Data<AppState>,
    me: ApiCustomer,
    path: web::Path<RequestId>,
) -> Result<HttpResponse, ApiError> {
    let caller = me.caller(TokenScope::Read)?;
    let id = path.into_inner();
    let now = state.clock.now();
    let (request, timeline, actions) = blocking(&state, move |conn| {
        let (request, timeline) = use_cases::detail(conn, &caller, id)?;
        let (actions, _) =
            crate::content::operator_actions(conn, request.tenant_id, id, None, MAX_LIMIT)?;
        Ok((request, timeline, actions))
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &RequestDetail {
            timeline: model::timeline(&timeline, &request.tenant_name, Viewer::Customer),
            operator_actions: actions.iter().map(AuditJson::from).collect(),
            request: RequestJson::new(&request, now, Viewer::Customer),
        },
    ))
}

/// `Set-AccessToCustomerDataRequest`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DecisionBody {
    approval_decision: String,
    #[serde(default)]
    comment: String,
}

async fn decide(
    state: web::Data<AppState>,
    me: ApiCustomer,
    path: web::Path<RequestId>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let caller = me.caller(TokenScope::Decide)?;
    let id = path.into_inner();
    let action = match body.approval_decision.as_str() {
        "Approve" => Action::Approve,
        "Deny" => Action::Deny,
        "Cancel" => Action::Cancel,
        "Revoke" => Action::Revoke,
        _ => {
            return Err(ApiError::Invalid(vec![super::FieldError {
                field: "ApprovalDecision".into(),
                message: "must be Approve, Deny, Cancel or Revoke".into(),
            }]));
        }
    };
    let comment = Comment::parse(&body.comment).map_err(|key| {
        super::field_errors(
            &[("comment", key)].into_iter().collect(),
            &[("comment", "Comment")],
        )
    })?;
    let (clock, policy, ip) = (state.clock.clone(), state.policy(), me.ip.clone());
    let updated = blocking(&state, move |conn| {
        Ok(requests::decide_as(
            conn, &caller, id, action, comment, &ip, &*clock, &policy,
        )?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &RequestJson::new(&updated, state.clock.now(), Viewer::Customer),
    ))
}

/// `Get-OrganizationConfig`.
#[derive(Debug, serde::Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrganizationJson {
    name: String,
    customer_lock_box_enabled: bool,
}

async fn get_organization(
    state: web::Data<AppState>,
    me: ApiCustomer,
) -> Result<HttpResponse, ApiError> {
    me.require(TokenScope::Read)?;
    let tenant = me.user.tenant_id;
    let enabled = blocking(&state, move |conn| {
        Ok(tenants::lockbox_enabled(conn, tenant)?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &OrganizationJson {
            name: me.user.tenant_name.clone(),
            customer_lock_box_enabled: enabled,
        },
    ))
}

/// `Set-OrganizationConfig`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct OrganizationPatch {
    customer_lock_box_enabled: bool,
}

async fn set_organization(
    state: web::Data<AppState>,
    me: ApiCustomer,
    ApiJson(patch): ApiJson<OrganizationPatch>,
) -> Result<HttpResponse, ApiError> {
    me.require(TokenScope::Admin)?;
    let now = state.clock.now();
    let actor = audit::Actor::customer(me.user.id, &me.user.display_name, &me.ip);
    let user = me.user.clone();
    let enabled = patch.customer_lock_box_enabled;
    blocking(&state, move |conn| {
        tenants::set_lockbox_as(conn, &user, enabled, now, &actor).map_err(|e| match e {
            TenantError::NotAllowed => ApiError::Role,
            other => ApiError::Internal(other.to_string()),
        })
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &OrganizationJson {
            name: me.user.tenant_name.clone(),
            customer_lock_box_enabled: enabled,
        },
    ))
}

/// The audit search page's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AuditQuery {
    /// Comma-separated activity names.
    activities: Option<String>,
    start_date: Option<DateTime<Utc>>,
    end_date: Option<DateTime<Utc>>,
    /// Comma-separated user ids or names.
    users: Option<String>,
    item: Option<String>,
    free_text: Option<String>,
    #[serde(rename = "cursor")]
    cursor: Option<String>,
    #[serde(rename = "limit")]
    limit: Option<i64>,
}

fn list(raw: Option<&str>) -> Vec<String> {
    raw.map(|r| {
        r.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

async fn search_audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: ApiCustomer,
) -> Result<HttpResponse, ApiError> {
    me.require(TokenScope::Read)?;
    let q: AuditQuery = query(&req)?;
    let filter = audit::search::Filter {
        activities: list(q.activities.as_deref()),
        start: q.start_date,
        end: q.end_date,
        users: list(q.users.as_deref()),
        item: q.item.filter(|s| !s.trim().is_empty()),
        text: q.free_text.filter(|s| !s.trim().is_empty()),
        narrow: None,
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(raw) => {
            Some(audit::search::Cursor::decode(raw).ok_or(ApiError::BadQuery("cursor".into()))?)
        }
    };
    let limit = limit(q.limit)?;
    let tenant = me.user.tenant_id;
    let (records, next) = blocking(&state, move |conn| {
        Ok(audit::search::search(conn, tenant, &filter, after, limit)?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &PageJson {
            items: records.iter().map(AuditJson::from).collect::<Vec<_>>(),
            next_cursor: next.map(|c| c.encode()),
        },
    ))
}
