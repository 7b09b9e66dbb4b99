//! The provider's API on the engineer listener, for ITSM integration:
//! engineers file, follow and cancel their requests and run the
//! pre-approved operations through the one enforcement point; managers see
//! the queue and approve or reject (the two-person rule holds, as
//! everywhere: the state machine enforces it).

use std::collections::HashMap;

use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, StatusCode},
    web,
};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{
    ApiError, ApiJson, ApiRoute, ApiStaff, blocking, field_errors, json, model,
    model::{PageJson, RequestJson},
    openapi::ProblemResponses,
    query,
};
use crate::{
    content::{self, Operation, Operator, Outcome},
    identity::RequestId,
    requests::{self, Action, Comment, Cursor, NewRequestInput, use_cases},
    web::{AppState, view::Viewer},
};

/// Every route, inside the `/api/v1` scope: what the server registers
/// ([`routes`]) and what the OpenAPI document must describe (a test holds
/// the two together).
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::new(Method::GET, "/openapi.json", || web::to(openapi)),
    ApiRoute::new(Method::POST, "/requests", || web::to(file)),
    ApiRoute::new(Method::GET, "/requests", || web::to(list_own)),
    ApiRoute::new(Method::GET, "/queue", || web::to(queue)),
    ApiRoute::new(Method::GET, "/requests/{id}", || web::to(get_request)),
    ApiRoute::new(Method::POST, "/requests/{id}/operations/{name}", || {
        web::to(operate)
    }),
    ApiRoute::new(Method::POST, "/requests/{id}/{action}", || web::to(decide)),
];

/// The routes, inside the `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    super::register(cfg, ROUTES);
}

/// The provider's API, described.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lockbox provider API",
        description = "The engineer portal's API, for ITSM integration: engineers file, follow \
                       and cancel their requests and run the pre-approved operations; support \
                       managers see the queue and approve or reject. Bearer staff tokens \
                       (created with `lockbox staff token create` or in the engineer portal \
                       under API tokens) act with their staff member's role. Every refusal is \
                       an RFC 9457 problem.",
    ),
    paths(openapi, file, list_own, queue, get_request, operate, decide),
    components(schemas(model::StaffAction, model::OperationName)),
    modifiers(&ProblemResponses),
    tags(
        (name = "requests", description = "File, follow and decide access requests"),
        (name = "operations", description = "The pre-approved operations inside an approved window"),
    )
)]
pub struct ProviderApi;

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
    super::openapi::serve(&DOCUMENT, ProviderApi::openapi)
}

/// The new-request form's fields, as the API names them.
const FIELDS: &[(&str, &str)] = &[
    ("tenant", "TenantId"),
    ("service_request", "ServiceRequestNumber"),
    ("workload", "Workload"),
    ("duration", "DurationMinutes"),
    ("justification", "Justification"),
];

/// A new request, as the engineer portal's form takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct NewRequestBody {
    /// The customer organization's id.
    #[serde(default)]
    #[schema(format = Uuid)]
    tenant_id: String,
    /// The support ticket the request is for (1–64 characters).
    #[serde(default)]
    #[schema(example = "SR-4711")]
    service_request_number: String,
    #[serde(default)]
    #[schema(value_type = model::WorkloadSlug)]
    workload: String,
    /// The access window asked for, in minutes (default and most: the
    /// deployment's longest window).
    #[serde(default)]
    duration_minutes: Option<i64>,
    /// Why access is needed (1–2,000 characters); the customer reads it.
    #[serde(default)]
    justification: String,
}

/// File a request (as the portal's New request form): every bad field is
/// named at once.
#[utoipa::path(
    post,
    path = "/api/v1/requests",
    tag = "requests",
    request_body = NewRequestBody,
    responses(
        (status = 201, description = "Filed; `Location` is its URL.", body = RequestJson,
            headers(("Location" = String, description = "/api/v1/requests/{id}"))),
        (status = 409, description = "An access window for this organization and workload is already open."),
    )
)]
async fn file(
    state: web::Data<AppState>,
    me: ApiStaff,
    body: ApiJson<NewRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.parsed()?;
    let input = NewRequestInput {
        tenant: body.tenant_id,
        service_request: body.service_request_number,
        workload: body.workload,
        duration: body
            .duration_minutes
            .unwrap_or(state.settings.max_window.num_minutes())
            .to_string(),
        justification: body.justification,
    };
    let new = input
        .parse(&state.policy())
        .map_err(|errors| field_errors(&errors, FIELDS))?;
    let (caller, now, ip) = (me.caller(), state.clock.now(), me.ip.clone());
    let require_ticket = state.settings.require_ticket;
    let request = blocking(&state, move |conn| {
        let id = use_cases::file_as(conn, &caller, &new, &ip, now, require_ticket)?;
        Ok(use_cases::visible(conn, &caller, id)?)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/requests/{}", request.id)))
        .json(RequestJson::new(&request, now, Viewer::Provider)))
}

/// A page of a list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// `NextCursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    limit: Option<i64>,
}

impl PageQuery {
    fn parse(self) -> Result<(Option<Cursor>, i64), ApiError> {
        let after = match self.cursor.as_deref() {
            None => None,
            Some(raw) => Some(Cursor::decode(raw).ok_or(ApiError::BadQuery("cursor".into()))?),
        };
        let limit = match self.limit {
            None => 50,
            Some(n) if (1..=200).contains(&n) => n,
            Some(_) => return Err(ApiError::BadQuery("limit must be 1 to 200".into())),
        };
        Ok((after, limit))
    }
}

/// A page of requests as JSON.
fn page(state: &AppState, page: requests::use_cases::Page) -> HttpResponse {
    let now = state.clock.now();
    let (items, next) = page;
    json(
        StatusCode::OK,
        &PageJson {
            items: items
                .iter()
                .map(|r| RequestJson::new(r, now, Viewer::Provider))
                .collect(),
            next_cursor: next.map(|c| c.encode()),
        },
    )
}

/// The caller's own requests, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    params(PageQuery),
    responses((status = 200, description = "A page of requests.", body = PageJson<RequestJson>))
)]
async fn list_own(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: ApiStaff,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query::<PageQuery>(&req)?.parse()?;
    let caller = me.caller();
    let found = blocking(&state, move |conn| {
        Ok(use_cases::list_own(conn, &caller, after, limit)?)
    })
    .await?;
    Ok(page(&state, found))
}

/// The approval queue: requests waiting for a support manager, oldest
/// first (managers only).
#[utoipa::path(
    get,
    path = "/api/v1/queue",
    tag = "requests",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of requests.", body = PageJson<RequestJson>),
        (status = 403, description = "Only support managers have a queue."),
    )
)]
async fn queue(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: ApiStaff,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query::<PageQuery>(&req)?.parse()?;
    let caller = me.caller();
    let found = blocking(&state, move |conn| {
        Ok(use_cases::approval_queue(conn, &caller, after, limit)?)
    })
    .await?;
    Ok(page(&state, found))
}

/// A request with its timeline.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = StaffRequestDetail)]
struct RequestDetail {
    #[serde(flatten)]
    request: RequestJson,
    timeline: Vec<model::TimelineJson>,
}

/// One request the caller may see (their own; any, for a manager).
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    tag = "requests",
    params(("id" = uuid::Uuid, Path, description = "The request's id.")),
    responses((status = 200, description = "The request.", body = RequestDetail))
)]
async fn get_request(
    state: web::Data<AppState>,
    me: ApiStaff,
    path: web::Path<RequestId>,
) -> Result<HttpResponse, ApiError> {
    let (caller, id) = (me.caller(), path.into_inner());
    let (request, timeline) = blocking(&state, move |conn| {
        Ok(use_cases::detail(conn, &caller, id)?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &RequestDetail {
            timeline: model::timeline(&timeline, &request.tenant_name, Viewer::Provider),
            request: RequestJson::new(&request, state.clock.now(), Viewer::Provider),
        },
    ))
}

/// A decision's body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CommentBody {
    /// Optional, at most 1,000 characters.
    #[serde(default)]
    comment: String,
}

/// Cancel (the engineer's own request), approve or reject (support
/// managers; never their own request: the two-person rule).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/{action}",
    tag = "requests",
    params(
        ("id" = uuid::Uuid, Path, description = "The request's id."),
        ("action" = model::StaffAction, Path, description = "The decision."),
    ),
    request_body = CommentBody,
    responses(
        (status = 200, description = "The request after the decision.", body = RequestJson),
        (status = 403, description = "The caller's role does not allow it (a manager's own request, \
            another engineer's request)."),
        (status = 409, description = "The request is no longer in a state that takes this decision: \
            `ApprovalStatus`, `DecidedBy` and `DecidedAt` say what happened."),
    )
)]
async fn decide(
    state: web::Data<AppState>,
    me: ApiStaff,
    path: web::Path<(RequestId, String)>,
    body: ApiJson<CommentBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, slug) = path.into_inner();
    let action = Action::parse(&slug).ok_or(ApiError::NotFound)?;
    let body = body.parsed()?;
    let comment = Comment::parse(&body.comment).map_err(|key| {
        field_errors(
            &[("comment", key)].into_iter().collect(),
            &[("comment", "Comment")],
        )
    })?;
    let (caller, ip) = (me.caller(), me.ip.clone());
    let (clock, policy) = (state.clock.clone(), state.policy());
    let signer = state.signer();
    let updated = blocking(&state, move |conn| {
        Ok(requests::decide_as(
            conn, &caller, id, action, comment, &ip, &*clock, &policy, signer,
        )?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &RequestJson::new(&updated, state.clock.now(), Viewer::Provider),
    ))
}

/// An operation's result: its table, and the window it ran in.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
struct OperationResult {
    #[schema(value_type = String, example = "Get-MailboxStatistics")]
    operation: &'static str,
    request_id: RequestId,
    access_ends_at: chrono::DateTime<chrono::Utc>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Runs a pre-approved operation on the request's organization through
/// the one enforcement point; refused (and audited) outside the window.
/// The body holds the operation's fields by name (e.g. `{"mailbox":
/// "ada@contoso.example"}`).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/operations/{name}",
    tag = "operations",
    params(
        ("id" = uuid::Uuid, Path, description = "The caller's own, approved request."),
        ("name" = model::OperationName, Path, description = "The operation."),
    ),
    request_body = HashMap<String, String>,
    responses(
        (status = 200, description = "The operation's result.", body = OperationResult),
        (status = 403, description = "Refused by the enforcement point (no open window for the \
            request's workload); the refusal is in the customer's audit log."),
    )
)]
async fn operate(
    state: web::Data<AppState>,
    me: ApiStaff,
    path: web::Path<(RequestId, String)>,
    fields: ApiJson<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let spec = content::spec(&name).ok_or(ApiError::NotFound)?;
    let fields = fields.parsed()?;
    let op = Operation::parse(spec.name, &fields).map_err(|errors| {
        let names: Vec<(&str, &str)> = spec.fields.iter().map(|(f, _)| (*f, *f)).collect();
        field_errors(&errors, &names)
    })?;
    let caller = me.caller();
    let operator = Operator {
        engineer_id: me.member.id,
        ip: me.ip.clone(),
    };
    let (stores, clock) = (state.content.clone(), state.clock.clone());
    let outcome = blocking(&state, move |conn| {
        // The tenant comes from the engineer's own request; whether the
        // operation may run is the enforcement point's alone.
        let request = use_cases::own(conn, &caller, id)?;
        content::run(conn, &stores, &operator, request.tenant_id, &op, &*clock)
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    match outcome {
        Outcome::Executed { table, grant } => Ok(json(
            StatusCode::OK,
            &OperationResult {
                operation: spec.name,
                request_id: grant.request_id,
                access_ends_at: grant.ends_at,
                columns: table.columns.iter().map(|c| c.to_string()).collect(),
                rows: table.rows,
            },
        )),
        Outcome::Refused(denial) => Err(ApiError::AccessDenied(denial.reason())),
    }
}
