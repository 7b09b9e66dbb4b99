//! Engineer portal › Access session: for an approved request inside its
//! window, a form per pre-approved operation of the request's workload and
//! the results; the window's end is shown (server-rendered, no script).
//! Every operation goes through the enforcement point, [`content::run`].

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{SignedInStaff, chrome};
use crate::{
    content::{self, Operation, OperationSpec, Operator, Outcome, store::Table},
    db,
    i18n::Tr,
    identity::{RequestId, TenantId},
    requests::{Caller, FieldErrors, Status, use_cases},
    staff::StaffMember,
    web::{
        AppState,
        chrome::Chrome,
        client_ip,
        error::AppError,
        forms::{CsrfForm, SignedIn},
        render_status,
        view::{RequestView, Viewer},
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/requests/{id}/session", web::get().to(show))
        .route("/requests/{id}/session", web::post().to(operate));
}

#[derive(Template)]
#[template(path = "engineer/session.html")]
struct SessionPage {
    tr: Tr,
    chrome: Chrome,
    request: RequestView,
    /// The request's tenant: where an operation on this page runs.
    tenant_id: TenantId,
    /// The forms, when the window is open.
    operations: Vec<&'static OperationSpec>,
    ends_at: Option<String>,
    remaining: Option<String>,
    refusal: Option<String>,
    /// The operation just run (or refused) and what was typed for it.
    last: Option<&'static str>,
    typed: HashMap<String, String>,
    errors: FieldErrors,
    result: Option<Table>,
}

impl SessionPage {
    fn value(&self, op: &str, field: &str) -> String {
        if self.last == Some(op) {
            self.typed.get(field).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }

    fn error(&self, op: &str, field: &str) -> Option<String> {
        (self.last == Some(op))
            .then(|| self.errors.get(field).map(|k| self.tr.t(k)))
            .flatten()
    }
}

/// "3 h 12 min" until `end`.
fn remaining(now: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> String {
    let minutes = (end - now).num_minutes().max(0);
    let (h, m) = (minutes / 60, minutes % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min")
    }
}

async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &StaffMember,
    id: RequestId,
) -> Result<SessionPage, AppError> {
    let caller = Caller::staff(me);
    let request = db::blocking(&state.pool, move |conn| use_cases::own(conn, &caller, id)).await?;
    let now = state.clock.now();
    let view = RequestView::new(&tr, &request, now, Viewer::Provider);
    let open = view.status == Status::Approved;
    let refusal = (!open).then(|| tr.t1("session-closed", "state", &tr.t(view.status_key)));
    Ok(SessionPage {
        operations: if open {
            content::OPERATIONS
                .iter()
                .filter(|o| o.workload == request.workload)
                .collect()
        } else {
            Vec::new()
        },
        ends_at: request.ends_at.filter(|_| open).map(|at| tr.fmt_time(at)),
        remaining: request
            .ends_at
            .filter(|_| open)
            .map(|end| remaining(now, end)),
        refusal,
        tenant_id: request.tenant_id,
        request: view,
        chrome: chrome(req, me)?,
        last: None,
        typed: HashMap::new(),
        errors: FieldErrors::new(),
        result: None,
        tr,
    })
}

async fn show(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<RequestId>,
) -> Result<HttpResponse, AppError> {
    let page = page(&req, tr, &state, &me, path.into_inner()).await?;
    let status = if page.refusal.is_some() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    render_status(status, &page)
}

async fn operate(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<RequestId>,
    CsrfForm(fields): CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut page = page(&req, tr, &state, &me, id).await?;
    let name = fields.get("operation").cloned().unwrap_or_default();
    let spec = content::spec(&name).ok_or_else(|| AppError::BadRequest("operation".into()))?;
    page.last = Some(spec.name);
    page.typed = fields.clone();
    let op = match Operation::parse(spec.name, &fields) {
        Ok(op) => op,
        Err(errors) => {
            page.errors = errors;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // The tenant comes from the request the page is for; whether the
    // operation may run is decided by the enforcement point alone.
    let tenant = page.tenant_id;
    let operator = Operator {
        engineer_id: me.id,
        ip: client_ip(&req, &state.settings.trusted_proxies).to_string(),
    };
    let (stores, clock) = (state.content.clone(), state.clock.clone());
    let outcome = db::blocking(&state.pool, move |conn| {
        content::run(conn, &stores, &operator, tenant, &op, &*clock)
            .map_err(|e| AppError::Internal(e.into()))
    })
    .await?;
    match outcome {
        Outcome::Executed { table, .. } => {
            page.result = Some(table.with_times(|at| page.tr.fmt_time(at)));
            render_status(StatusCode::OK, &page)
        }
        Outcome::Refused(denial) => {
            page.operations.clear();
            page.ends_at = None;
            page.remaining = None;
            page.refusal = Some(match denial.latest {
                None => page.tr.t("denied-none"),
                Some((_, status, at)) => page.tr.t_args(
                    "denied-latest",
                    &[
                        ("state", &page.tr.t(status.label_key())),
                        ("at", &at.map(|t| page.tr.fmt_time(t)).unwrap_or_default()),
                    ],
                ),
            });
            render_status(StatusCode::FORBIDDEN, &page)
        }
    }
}
