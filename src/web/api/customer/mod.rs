//! The customer's API on the admin listener: the requests
//! (`Get-`/`Set-AccessToCustomerDataRequest`), the audit log (search and
//! export), and the organization's configuration
//! (`Get-`/`Set-OrganizationConfig`).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, StatusCode},
    web,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

mod audit_log;

use super::{
    ApiCustomer, ApiError, ApiJson, ApiRoute, blocking, json, model,
    model::{ApprovalDecision, AuditJson, DECISIONS, PageJson, RequestJson},
    openapi::ProblemResponses,
    query, storable,
};
use crate::{
    audit::{
        self, activity,
        export::Format,
        search::{self, Filter},
    },
    auth::api_tokens::TokenScope,
    identity::RequestId,
    requests::{self, Comment, Cursor, Status, TenantFilter, use_cases},
    tenants::{self, TenantError},
    web::{
        AppState,
        export::{self as streaming, ExportJob},
        view::Viewer,
    },
};

/// Every route, inside the `/api/v1` scope: what the server registers
/// ([`routes`]) and what the OpenAPI document must describe (a test holds
/// the two together).
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::new(Method::GET, "/openapi.json", || web::to(openapi)),
    ApiRoute::new(Method::GET, "/requests", || web::to(list_requests)),
    ApiRoute::new(Method::GET, "/requests/{id}", || web::to(get_request)),
    ApiRoute::new(Method::POST, "/requests/{id}/decision", || web::to(decide)),
    ApiRoute::new(Method::GET, "/organization", || web::to(get_organization)),
    ApiRoute::new(Method::PATCH, "/organization", || web::to(set_organization)),
    ApiRoute::new(Method::GET, "/audit", || web::to(audit_log::search_audit)),
    ApiRoute::new(Method::GET, "/audit/export", || {
        web::to(audit_log::export_audit)
    }),
];

/// The routes, inside the `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    super::register(cfg, ROUTES);
}

/// The customer's API, described.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lockbox customer API",
        description = "The admin center's API: Customer Lockbox requests, the audit log and \
                       the organization's configuration. Bearer API tokens, created by a \
                       global administrator under Settings › API tokens, scoped read, decide \
                       or admin. Every refusal is an RFC 9457 problem.",
    ),
    paths(
        openapi,
        list_requests,
        get_request,
        decide,
        get_organization,
        set_organization,
        audit_log::search_audit,
        audit_log::export_audit
    ),
    components(schemas(model::ApprovalStatus)),
    modifiers(&ProblemResponses),
    tags(
        (name = "requests", description = "Get-/Set-AccessToCustomerDataRequest"),
        (name = "audit", description = "Audit log search and export"),
        (name = "organization", description = "Get-/Set-OrganizationConfig"),
    )
)]
pub struct CustomerApi;

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.",
        content_type = "application/json"))
)]
async fn openapi() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    super::openapi::serve(&DOCUMENT, CustomerApi::openapi)
}

/// Most items one page may hold.
const MAX_LIMIT: i64 = 200;
const DEFAULT_LIMIT: i64 = crate::requests::queries::API_PAGE;

fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::BadQuery("limit must be 1 to 200".into())),
    }
}

/// The filters of `Get-AccessToCustomerDataRequest`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RequestQuery {
    /// Only requests in this state (effective at the time of the call).
    #[param(value_type = Option<model::ApprovalStatus>)]
    approval_status: Option<String>,
    /// Only requests created at or after this time.
    created_after: Option<DateTime<Utc>>,
    /// Only requests created before this time.
    created_before: Option<DateTime<Utc>>,
    /// Only this request.
    #[param(value_type = Option<uuid::Uuid>)]
    request_id: Option<RequestId>,
    /// `NextCursor` of the previous page.
    #[serde(rename = "cursor")]
    cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[serde(rename = "limit")]
    limit: Option<i64>,
}

/// `Get-AccessToCustomerDataRequest`: the organization's requests, newest
/// first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    params(RequestQuery),
    responses(
        (status = 200, description = "A page of requests.", body = PageJson<RequestJson>),
        (status = 403, description = "The token's user may not see requests."),
    )
)]
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
        from: storable("CreatedAfter", q.created_after)?,
        until: storable("CreatedBefore", q.created_before)?,
        request: q.request_id,
    };
    let now = state.clock.now();
    let (items, next) = blocking(&state, move |conn| {
        Ok(use_cases::list_for_tenant(
            conn, &caller, &filter, after, now, limit,
        )?)
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
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = CustomerRequestDetail)]
struct RequestDetail {
    #[serde(flatten)]
    request: RequestJson,
    timeline: Vec<model::TimelineJson>,
    /// What the provider's operators did under the request (at most 200).
    operator_actions: Vec<AuditJson>,
}

/// One request, with its timeline and the operators' actions.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    tag = "requests",
    params(("id" = uuid::Uuid, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "The request.", body = RequestDetail),
        (status = 403, description = "The token's user may not see requests."),
    )
)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DecisionBody {
    #[schema(value_type = ApprovalDecision)]
    approval_decision: String,
    /// Optional, at most 1,000 characters; shown to the engineer.
    #[serde(default)]
    #[schema(example = "Ticket 4711 checked")]
    comment: String,
}

/// `Set-AccessToCustomerDataRequest`: approve or deny a pending request,
/// cancel it, or revoke an approved one, by the same rules as the admin
/// center (the token needs the decide scope, its user the approver's role).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/decision",
    tag = "requests",
    params(("id" = uuid::Uuid, Path, description = "The request's id.")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The request after the decision.", body = RequestJson),
        (status = 403, description = "The token's scope (decide) or its user's role does not allow it."),
        (status = 409, description = "The request is no longer in a state that takes this decision \
            (another decision came first, or it expired): `ApprovalStatus`, `DecidedBy` and \
            `DecidedAt` say what happened."),
    )
)]
async fn decide(
    state: web::Data<AppState>,
    me: ApiCustomer,
    path: web::Path<RequestId>,
    body: ApiJson<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let caller = me.caller(TokenScope::Decide)?;
    let body = body.parsed()?;
    let id = path.into_inner();
    let action = DECISIONS
        .iter()
        .find(|(name, _)| *name == body.approval_decision)
        .map(|(_, action)| *action)
        .ok_or_else(|| {
            ApiError::Invalid(vec![super::FieldError {
                field: "ApprovalDecision".into(),
                message: "must be Approve, Deny, Cancel or Revoke".into(),
            }])
        })?;
    let comment = Comment::parse(&body.comment).map_err(|key| {
        super::field_errors(
            &[("comment", key)].into_iter().collect(),
            &[("comment", "Comment")],
        )
    })?;
    let (clock, policy, ip) = (state.clock.clone(), state.policy(), me.ip.clone());
    let signer = state.signer();
    let updated = blocking(&state, move |conn| {
        Ok(requests::decide_as(
            conn, &caller, id, action, comment, &ip, &*clock, &policy, signer,
        )?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &RequestJson::new(&updated, state.clock.now(), Viewer::Customer),
    ))
}

/// `Get-OrganizationConfig`.
#[derive(Debug, serde::Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
struct OrganizationJson {
    name: String,
    /// Whether requests need the customer's approval.
    customer_lock_box_enabled: bool,
    /// How many people of the organization must approve a request (issue
    /// 19; changed in the admin center, Settings › Org settings).
    approvals_required: u8,
}

/// `Get-OrganizationConfig`.
#[utoipa::path(
    get,
    path = "/api/v1/organization",
    tag = "organization",
    responses((status = 200, description = "The configuration.", body = OrganizationJson))
)]
async fn get_organization(
    state: web::Data<AppState>,
    me: ApiCustomer,
) -> Result<HttpResponse, ApiError> {
    me.require(TokenScope::Read)?;
    let tenant = me.user.tenant_id;
    let (enabled, approvals_required) = blocking(&state, move |conn| {
        Ok((
            tenants::lockbox_enabled(conn, tenant)?,
            tenants::approvals_required(conn, tenant)?,
        ))
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &OrganizationJson {
            name: me.user.tenant_name.clone(),
            customer_lock_box_enabled: enabled,
            approvals_required,
        },
    ))
}

/// `Set-OrganizationConfig`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct OrganizationPatch {
    customer_lock_box_enabled: bool,
}

/// `Set-OrganizationConfig`: turn Customer Lockbox on or off (admin
/// scope, a global administrator's token); audited.
#[utoipa::path(
    patch,
    path = "/api/v1/organization",
    tag = "organization",
    request_body = OrganizationPatch,
    responses(
        (status = 200, description = "The configuration after the change.", body = OrganizationJson),
        (status = 403, description = "The token's scope (admin) or its user's role does not allow it."),
    )
)]
async fn set_organization(
    state: web::Data<AppState>,
    me: ApiCustomer,
    patch: ApiJson<OrganizationPatch>,
) -> Result<HttpResponse, ApiError> {
    me.require(TokenScope::Admin)?;
    let patch = patch.parsed()?;
    let now = state.clock.now();
    let actor = audit::Actor::customer(me.user.id, &me.user.display_name, &me.ip);
    let user = me.user.clone();
    let (enabled, tenant) = (patch.customer_lock_box_enabled, me.user.tenant_id);
    let approvals_required = blocking(&state, move |conn| {
        tenants::set_lockbox_as(conn, &user, enabled, now, &actor).map_err(|e| match e {
            TenantError::NotAllowed => ApiError::Role,
            other => ApiError::Internal(other.to_string()),
        })?;
        Ok(tenants::approvals_required(conn, tenant)?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &OrganizationJson {
            name: me.user.tenant_name.clone(),
            customer_lock_box_enabled: enabled,
            approvals_required,
        },
    ))
}
