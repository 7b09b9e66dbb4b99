//! The engineer portal's request pages: file a request, follow one's own
//! requests and the managers' approval queue. The detail page and the
//! decisions behind their confirmation step are
//! [`crate::web::request_pages`], shared with the admin center; this file
//! says how the engineer portal words them.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{SignedInStaff, chrome};
use crate::{
    db::{self, DbError},
    i18n::{Tr, fmt_time},
    requests::{
        AccessRequest, Action, Caller, FieldErrors, NewRequestInput, RequestError, Status,
        Workload, use_cases,
    },
    staff::StaffMember,
    tenants::{self, Tenant},
    web::{
        AppState,
        chrome::Chrome,
        client_ip,
        error::AppError,
        forms::{CsrfForm, PortalSession, SignedIn},
        render, render_status,
        request_pages::{self, RequestPortal},
        see_other,
        view::{Column, RequestView, TableRow, Viewer, action_label_key},
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Before the shared routes: `/requests/new` would otherwise be taken
    // for a request id.
    cfg.route("/requests", web::get().to(my_requests))
        .route("/requests", web::post().to(file_request))
        .route("/requests/new", web::get().to(new_request_form))
        .route("/queue", web::get().to(queue))
        .configure(request_pages::routes::<StaffMember>);
}

impl RequestPortal for StaffMember {
    const BASE: &'static str = "/requests";
    const VIEWER: Viewer = Viewer::Provider;
    const CONFIRM_PREFIX: &'static str = "confirm";
    const BREADCRUMB: bool = false;
    const OPERATOR_ACTIONS: bool = false;

    fn caller(&self) -> Caller {
        Caller::staff(self)
    }

    fn chrome(&self, req: &HttpRequest) -> Result<Chrome, AppError> {
        chrome(req, self)
    }

    fn admit(self) -> Result<Self, AppError> {
        Ok(self)
    }

    fn action_label(action: Action) -> String {
        action_label_key(action).to_owned()
    }

    fn flash_key(action: Action, updated: &AccessRequest) -> String {
        match (action, updated.status) {
            (Action::Approve, Status::PendingCustomer) => "flash-approved-to-customer",
            (Action::Approve, _) => "flash-approved-open",
            (Action::Reject, _) => "flash-rejected",
            _ => "flash-cancelled",
        }
        .to_owned()
    }
}

/// The rows of a list as `me` sees them at `now`, with the decisions the
/// state machine would accept from them.
fn table_rows(state: &AppState, me: &StaffMember, list: &[AccessRequest]) -> Vec<TableRow> {
    let (caller, now, policy) = (Caller::staff(me), state.clock.now(), state.policy());
    list.iter()
        .map(|r| TableRow {
            r: RequestView::new(r, now, Viewer::Provider),
            own: r.engineer_id == me.id,
            actions: use_cases::offers(&caller, r, now, &policy)
                .actions
                .into_iter()
                .filter(|a| *a != Action::Cancel)
                .map(|a| (a.slug(), action_label_key(a)))
                .collect(),
        })
        .collect()
}

/// How many rows a list shows.
const LIST_LIMIT: i64 = 200;

#[derive(Template)]
#[template(path = "engineer/requests.html")]
struct MyRequestsPage {
    tr: Tr,
    chrome: Chrome,
    columns: [Column; 7],
    rows: Vec<TableRow>,
}

async fn my_requests(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
) -> Result<HttpResponse, AppError> {
    let caller = Caller::staff(&me);
    let list = db::blocking(&state.pool, move |conn| {
        use_cases::list_own(conn, &caller, LIST_LIMIT)
    })
    .await?;
    render(&MyRequestsPage {
        tr,
        chrome: chrome(&req, &me)?,
        columns: [
            Column::ServiceRequest,
            Column::Tenant,
            Column::Workload,
            Column::Duration,
            Column::RequestedAt,
            Column::Deadline,
            Column::Status,
        ],
        rows: table_rows(&state, &me, &list),
    })
}

#[derive(Template)]
#[template(path = "engineer/new_request.html")]
struct NewRequestPage {
    tr: Tr,
    chrome: Chrome,
    tenants: Vec<Tenant>,
    workloads: [Workload; 3],
    input: NewRequestInput,
    errors: FieldErrors,
    /// A refusal of the whole form (e.g. an open window already exists).
    form_error: Option<String>,
    max_minutes: i64,
}

impl NewRequestPage {
    fn error(&self, field: &str) -> Option<String> {
        let max = self.max_minutes.to_string();
        self.errors
            .get(field)
            .map(|key| self.tr.t1(key, "max", &max))
    }
}

async fn new_request_page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &StaffMember,
    input: NewRequestInput,
    errors: FieldErrors,
    form_error: Option<String>,
) -> Result<NewRequestPage, AppError> {
    let tenants = db::blocking(&state.pool, |conn| {
        tenants::list_tenants(conn).map_err(DbError::from)
    })
    .await?;
    Ok(NewRequestPage {
        tr,
        chrome: chrome(req, me)?,
        tenants,
        workloads: Workload::ALL,
        input,
        errors,
        form_error,
        max_minutes: state.settings.max_window.num_minutes(),
    })
}

async fn new_request_form(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
) -> Result<HttpResponse, AppError> {
    let input = NewRequestInput {
        duration: state.settings.max_window.num_minutes().to_string(),
        ..NewRequestInput::default()
    };
    render(&new_request_page(&req, tr, &state, &me, input, FieldErrors::new(), None).await?)
}

async fn file_request(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    CsrfForm(input): CsrfForm<NewRequestInput>,
) -> Result<HttpResponse, AppError> {
    let new = match input.parse(&state.policy()) {
        Ok(new) => new,
        Err(errors) => {
            let page = new_request_page(&req, tr, &state, &me, input, errors, None).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (caller, now) = (Caller::staff(&me), state.clock.now());
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let filed = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(use_cases::file_as(conn, &caller, &new, &ip, now))
    })
    .await?;
    match filed {
        Ok(id) => {
            PortalSession::from_request(&req).set_flash(&tr.t("flash-filed"))?;
            Ok(see_other(&format!("/requests/{id}")))
        }
        Err(RequestError::UnknownTenant) => {
            let mut errors = FieldErrors::new();
            errors.insert("tenant", "error-tenant-choose");
            let page = new_request_page(&req, tr, &state, &me, input, errors, None).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(RequestError::DuplicateWindow { ends_at }) => {
            let message = tr.t1("error-duplicate-window", "at", &fmt_time(ends_at));
            let page = new_request_page(
                &req,
                tr,
                &state,
                &me,
                input,
                FieldErrors::new(),
                Some(message),
            )
            .await?;
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "engineer/queue.html")]
struct QueuePage {
    tr: Tr,
    chrome: Chrome,
    columns: [Column; 7],
    rows: Vec<TableRow>,
}

async fn queue(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
) -> Result<HttpResponse, AppError> {
    let caller = Caller::staff(&me);
    let list = db::blocking(&state.pool, move |conn| {
        use_cases::approval_queue(conn, &caller, LIST_LIMIT)
    })
    .await?;
    render(&QueuePage {
        tr,
        chrome: chrome(&req, &me)?,
        columns: [
            Column::ServiceRequest,
            Column::Tenant,
            Column::Requester,
            Column::Workload,
            Column::Duration,
            Column::RequestedAt,
            Column::Decide,
        ],
        rows: table_rows(&state, &me, &list),
    })
}
