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
    i18n::Tr,
    requests::{
        AccessRequest, Action, Caller, Cursor, FieldErrors, NewRequestInput, RequestError,
        Workload, tickets, use_cases,
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
        view::{Column, RequestView, TableRow, Viewer},
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

    fn caller(&self) -> Caller {
        Caller::staff(self)
    }

    fn chrome(&self, req: &HttpRequest) -> Result<Chrome, AppError> {
        chrome(req, self)
    }
}

/// The rows of a list as `me` sees them at `now`, with the decisions the
/// state machine would accept from them.
fn table_rows(
    tr: &Tr,
    state: &AppState,
    me: &StaffMember,
    list: &[AccessRequest],
) -> Vec<TableRow> {
    let (caller, now, policy) = (Caller::staff(me), state.clock.now(), state.policy());
    list.iter()
        .map(|r| TableRow {
            r: RequestView::new(tr, r, now, Viewer::Provider),
            own: r.engineer_id == me.id,
            actions: use_cases::offers(&caller, r, now, &policy)
                .actions
                .into_iter()
                .filter(|a| *a != Action::Cancel)
                .map(|a| (a.slug(), Viewer::Provider.action_label(a)))
                .collect(),
        })
        .collect()
}

/// Rows per page of a list.
const PAGE_SIZE: i64 = 50;

/// The engineer portal's two request lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaffList {
    /// The signed-in staff member's own requests, newest first.
    Mine,
    /// Requests waiting for a manager, oldest first.
    Queue,
}

impl StaffList {
    fn path(self) -> &'static str {
        match self {
            StaffList::Mine => "/requests",
            StaffList::Queue => "/queue",
        }
    }

    fn title_key(self) -> &'static str {
        match self {
            StaffList::Mine => "my-requests-title",
            StaffList::Queue => "queue-title",
        }
    }

    fn empty_key(self) -> &'static str {
        match self {
            StaffList::Mine => "my-requests-empty",
            StaffList::Queue => "queue-empty",
        }
    }

    fn offers_new_request(self) -> bool {
        self == StaffList::Mine
    }

    fn columns(self) -> [Column; 7] {
        use Column::*;
        match self {
            StaffList::Mine => [
                ServiceRequest,
                Tenant,
                Workload,
                Duration,
                RequestedAt,
                Deadline,
                Status,
            ],
            StaffList::Queue => [
                ServiceRequest,
                Tenant,
                Requester,
                Workload,
                Duration,
                RequestedAt,
                Decide,
            ],
        }
    }
}

#[derive(Template)]
#[template(path = "engineer/list.html")]
struct ListPage {
    tr: Tr,
    chrome: Chrome,
    list: StaffList,
    rows: Vec<TableRow>,
    /// The encoded cursor of the next page.
    next: Option<String>,
}

/// `?after=` of a list page: where the previous page ended.
#[derive(Debug, Default, serde::Deserialize)]
struct PageQuery {
    #[serde(default)]
    after: String,
}

async fn list_page(
    req: HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &StaffMember,
    list: StaffList,
    query: PageQuery,
) -> Result<HttpResponse, AppError> {
    let after = match query.after.trim() {
        "" => None,
        raw => Some(Cursor::decode(raw).ok_or(AppError::BadRequest("page".into()))?),
    };
    let caller = Caller::staff(me);
    let (page, next) = db::blocking(&state.pool, move |conn| match list {
        StaffList::Mine => use_cases::list_own(conn, &caller, after, PAGE_SIZE),
        StaffList::Queue => use_cases::approval_queue(conn, &caller, after, PAGE_SIZE),
    })
    .await?;
    render(&ListPage {
        chrome: chrome(&req, me)?,
        list,
        rows: table_rows(&tr, state, me, &page),
        next: next.map(|c| c.encode()),
        tr,
    })
}

async fn my_requests(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(req, tr, &state, &me, StaffList::Mine, query.into_inner()).await
}

async fn queue(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(req, tr, &state, &me, StaffList::Queue, query.into_inner()).await
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
    /// Every tenant's open service requests.
    open_tickets: Vec<OpenTicket>,
}

/// An open service request a new request may cite.
pub struct OpenTicket {
    tenant_id: String,
    tenant: String,
    number: String,
    title: String,
}

impl NewRequestPage {
    /// The chosen tenant's open tickets (every tenant's before one is
    /// chosen).
    fn offered_tickets(&self) -> Vec<&OpenTicket> {
        let chosen = self.input.tenant.trim();
        self.open_tickets
            .iter()
            .filter(|t| chosen.is_empty() || t.tenant_id == chosen)
            .collect()
    }

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
    let (tenants, open) = db::blocking(&state.pool, |conn| {
        let tenants = tenants::list_tenants(conn)?;
        Ok::<_, DbError>((tenants, tickets::queries::open_by_tenant(conn)?))
    })
    .await?;
    let open_tickets = open
        .into_iter()
        .map(|(tenant_id, number, title)| OpenTicket {
            tenant: tenants
                .iter()
                .find(|t| t.id == tenant_id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            tenant_id: tenant_id.to_string(),
            number,
            title,
        })
        .collect();
    Ok(NewRequestPage {
        tr,
        chrome: chrome(req, me)?,
        tenants,
        workloads: Workload::ALL,
        input,
        errors,
        form_error,
        max_minutes: state.settings.max_window.num_minutes(),
        open_tickets,
    })
}

/// `?tenant=&service_request=` of the new-request form: the tenant and the
/// ticket chosen already (a ticket's page in the support queue links here).
#[derive(Debug, Default, serde::Deserialize)]
struct NewRequestQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    service_request: String,
}

async fn new_request_form(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    query: web::Query<NewRequestQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let input = NewRequestInput {
        tenant: query.tenant,
        service_request: query.service_request,
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
    let require_ticket = state.settings.require_ticket;
    let filed = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(use_cases::file_as(
            conn,
            &caller,
            &new,
            &ip,
            now,
            require_ticket,
        ))
    })
    .await?;
    match filed {
        Ok(id) => {
            PortalSession::from_request(&req).set_flash(&tr.t("flash-filed"))?;
            Ok(see_other(&format!("/requests/{id}")))
        }
        Err(e @ (RequestError::UnknownTenant | RequestError::NoMatchingTicket)) => {
            let mut errors = FieldErrors::new();
            match e {
                RequestError::UnknownTenant => errors.insert("tenant", "error-tenant-choose"),
                _ => errors.insert("service_request", "error-sr-no-ticket"),
            };
            let page = new_request_page(&req, tr, &state, &me, input, errors, None).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(RequestError::DuplicateWindow { ends_at }) => {
            let message = tr.t1("error-duplicate-window", "at", &tr.fmt_time(ends_at));
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
