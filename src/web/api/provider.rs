//! The provider's API on the engineer listener, for ITSM integration:
//! engineers file, follow and cancel their requests and run the
//! pre-approved operations through the one enforcement point; managers see
//! the queue and approve or reject (the two-person rule holds, as
//! everywhere: the state machine enforces it).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde::Deserialize;

use super::{
    ApiError, ApiJson, ApiStaff, blocking, field_errors, json, model,
    model::{PageJson, RequestJson},
    query,
};
use crate::{
    content::{self, Operation, Operator, Outcome},
    identity::RequestId,
    requests::{self, Action, Comment, Cursor, NewRequestInput, use_cases},
    web::{AppState, view::Viewer},
};

/// The routes, inside the `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/requests", web::post().to(file))
        .route("/requests", web::get().to(list_own))
        .route("/queue", web::get().to(queue))
        .route("/requests/{id}", web::get().to(get_request))
        .route("/requests/{id}/operations/{name}", web::post().to(operate))
        .route("/requests/{id}/{action}", web::post().to(decide));
}

/// The new-request form's fields, as the API names them.
const FIELDS: &[(&str, &str)] = &[
    ("tenant", "TenantId"),
    ("service_request", "ServiceRequestNumber"),
    ("workload", "Workload"),
    ("duration", "DurationMinutes"),
    ("justification", "Justification"),
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct NewRequestBody {
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    service_request_number: String,
    /// `exchange`, `sharepoint` or `onedrive`.
    #[serde(default)]
    workload: String,
    #[serde(default)]
    duration_minutes: Option<i64>,
    #[serde(default)]
    justification: String,
}

async fn file(
    state: web::Data<AppState>,
    me: ApiStaff,
    ApiJson(body): ApiJson<NewRequestBody>,
) -> Result<HttpResponse, ApiError> {
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
    let request = blocking(&state, move |conn| {
        let id = use_cases::file_as(conn, &caller, &new, &ip, now)?;
        Ok(use_cases::visible(conn, &caller, id)?)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/requests/{}", request.id)))
        .json(RequestJson::new(&request, now, Viewer::Provider)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    cursor: Option<String>,
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

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct RequestDetail {
    #[serde(flatten)]
    request: RequestJson,
    timeline: Vec<model::TimelineJson>,
}

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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CommentBody {
    #[serde(default)]
    comment: String,
}

/// Cancel (own requests), approve or reject (managers).
async fn decide(
    state: web::Data<AppState>,
    me: ApiStaff,
    path: web::Path<(RequestId, String)>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, slug) = path.into_inner();
    let action = Action::parse(&slug).ok_or(ApiError::NotFound)?;
    let comment = Comment::parse(&body.comment).map_err(|key| {
        field_errors(
            &[("comment", key)].into_iter().collect(),
            &[("comment", "Comment")],
        )
    })?;
    let (caller, ip) = (me.caller(), me.ip.clone());
    let (clock, policy) = (state.clock.clone(), state.policy());
    let updated = blocking(&state, move |conn| {
        Ok(requests::decide_as(
            conn, &caller, id, action, comment, &ip, &*clock, &policy,
        )?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &RequestJson::new(&updated, state.clock.now(), Viewer::Provider),
    ))
}

/// An operation's result: its table, and the window it ran in.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperationResult {
    operation: &'static str,
    request_id: RequestId,
    access_ends_at: chrono::DateTime<chrono::Utc>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Runs a pre-approved operation on the request's tenant through the one
/// enforcement point; refused (and audited) outside the window.
async fn operate(
    state: web::Data<AppState>,
    me: ApiStaff,
    path: web::Path<(RequestId, String)>,
    ApiJson(fields): ApiJson<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let spec = content::spec(&name).ok_or(ApiError::NotFound)?;
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
