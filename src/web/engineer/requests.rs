//! The engineer portal's request pages: file a request, follow one's own
//! requests, the managers' approval queue, and the decisions behind a
//! confirmation step.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use uuid::Uuid;

use super::{SignedInStaff, chrome};
use crate::web::forms::SignedIn;
use crate::{
    db::{self, DbError},
    error::{AppError, Forbidden},
    i18n::Tr,
    requests::{
        Actor, Comment, Event, FieldErrors, NewRequestInput, Status, Workload,
        store::{self, AccessRequest, Decision, RequestError, Scope},
    },
    staff::{StaffMember, StaffRole},
    tenants::{self, Tenant},
    web::{
        AppState,
        chrome::Chrome,
        client_ip,
        confirm::{ConfirmPage, DecisionForm},
        forms::{CsrfForm, PortalSession},
        render, render_status, see_other,
        view::{
            RequestView, TimelineView, Viewer, fmt_time, refusal_message, refusal_status,
            timeline_view,
        },
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/requests", web::get().to(my_requests))
        .route("/requests", web::post().to(file_request))
        .route("/requests/new", web::get().to(new_request_form))
        .route("/requests/{id}", web::get().to(detail))
        .route("/requests/{id}/{action}", web::get().to(confirm))
        .route("/requests/{id}/{action}", web::post().to(decide))
        .route("/queue", web::get().to(queue));
}

/// How many rows a list shows.
const LIST_LIMIT: i64 = 200;

#[derive(Template)]
#[template(path = "engineer/requests.html")]
struct MyRequestsPage {
    tr: Tr,
    chrome: Chrome,
    rows: Vec<RequestView>,
}

async fn my_requests(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
) -> Result<HttpResponse, AppError> {
    let id = me.id;
    let list = db::blocking(&state.pool, move |conn| {
        store::list_for_engineer(conn, id, LIST_LIMIT).map_err(DbError::from)
    })
    .await?;
    let now = state.clock.now();
    render(&MyRequestsPage {
        tr,
        chrome: chrome(&req, &me)?,
        rows: list
            .iter()
            .map(|r| RequestView::new(r, now, Viewer::Provider))
            .collect(),
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
    let (engineer_id, name, now) = (me.id, me.display_name.clone(), state.clock.now());
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let filed = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(store::file(conn, (engineer_id, &name, &ip), &new, now))
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

/// The request, if `me` may see it: their own, or any request for a
/// manager. Anything else is "not found", never "forbidden".
async fn visible_request(
    state: &AppState,
    me: &StaffMember,
    id: Uuid,
) -> Result<AccessRequest, AppError> {
    let found = db::blocking(&state.pool, move |conn| {
        store::find(conn, id, Scope::Provider).map_err(DbError::from)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    if found.engineer_id == me.id || me.role == StaffRole::Manager {
        Ok(found)
    } else {
        Err(AppError::NotFound)
    }
}

/// The actions `me` may take on `req` at `now`.
struct Actions {
    /// The access session of an approved request, for its engineer.
    session: bool,
    cancel: bool,
    approve: bool,
    reject: bool,
}

fn actions(me: &StaffMember, req: &AccessRequest, status: Status) -> Actions {
    let own = req.engineer_id == me.id;
    let manager_may = me.role == StaffRole::Manager && !own && status == Status::PendingManager;
    Actions {
        session: own && status == Status::Approved,
        cancel: own && status.is_pending(),
        approve: manager_may,
        reject: manager_may,
    }
}

#[derive(Template)]
#[template(path = "engineer/request.html")]
struct DetailPage {
    tr: Tr,
    chrome: Chrome,
    request: RequestView,
    timeline: Vec<TimelineView>,
    actions: Actions,
    flash: Option<String>,
    alert: Option<String>,
    own_pending_for_manager: bool,
}

async fn detail_page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &StaffMember,
    request: &AccessRequest,
    alert: Option<String>,
) -> Result<DetailPage, AppError> {
    let id = request.id;
    let entries = db::blocking(&state.pool, move |conn| {
        store::timeline(conn, id).map_err(DbError::from)
    })
    .await?;
    let now = state.clock.now();
    let view = RequestView::new(request, now, Viewer::Provider);
    let actions = actions(me, request, view.status);
    Ok(DetailPage {
        timeline: timeline_view(&tr, &entries, &request.tenant_name, Viewer::Provider),
        own_pending_for_manager: me.role == StaffRole::Manager
            && request.engineer_id == me.id
            && view.status == Status::PendingManager,
        tr,
        chrome: chrome(req, me)?,
        request: view,
        actions,
        flash: PortalSession::from_request(req).take_flash(),
        alert,
    })
}

async fn detail(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let request = visible_request(&state, &me, path.into_inner()).await?;
    render(&detail_page(&req, tr, &state, &me, &request, None).await?)
}

/// The decisions the engineer portal offers.
#[derive(Debug, Clone, Copy)]
enum Action {
    Cancel,
    Approve,
    Reject,
}

impl Action {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "cancel" => Some(Action::Cancel),
            "approve" => Some(Action::Approve),
            "reject" => Some(Action::Reject),
            _ => None,
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Action::Cancel => "cancel",
            Action::Approve => "approve",
            Action::Reject => "reject",
        }
    }

    fn event_and_actor(self, me: &StaffMember) -> Result<(Event, Actor), AppError> {
        match (self, me.role) {
            (Action::Cancel, _) => Ok((Event::Cancel, Actor::Engineer(me.id))),
            (Action::Approve, StaffRole::Manager) => {
                // The switch's value is read when the decision is applied.
                Ok((
                    Event::ManagerApprove { lockbox_on: true },
                    Actor::Manager(me.id),
                ))
            }
            (Action::Reject, StaffRole::Manager) => {
                Ok((Event::ManagerReject, Actor::Manager(me.id)))
            }
            _ => Err(AppError::Forbidden(Forbidden::Role)),
        }
    }
}

fn confirm_page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &StaffMember,
    request: &AccessRequest,
    action: Action,
) -> Result<ConfirmPage, AppError> {
    Ok(ConfirmPage::new(
        tr,
        chrome(req, me)?,
        RequestView::new(request, state.clock.now(), Viewer::Provider),
        format!("confirm-{}", action.slug()),
        format!("/requests/{}", request.id),
        action.slug(),
    ))
}

fn parse_action(raw: &str) -> Result<Action, AppError> {
    Action::parse(raw).ok_or(AppError::NotFound)
}

async fn confirm(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let action = parse_action(&action)?;
    action.event_and_actor(&me)?;
    let request = visible_request(&state, &me, id).await?;
    render(&confirm_page(&req, tr, &state, &me, &request, action)?)
}

async fn decide(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<(Uuid, String)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let action = parse_action(&action)?;
    let (event, actor) = action.event_and_actor(&me)?;
    let request = visible_request(&state, &me, id).await?;
    let comment = match Comment::parse(&form.comment) {
        Ok(c) => c,
        Err(key) => {
            return confirm_page(&req, tr, &state, &me, &request, action)?
                .refuse_comment(form.comment, key);
        }
    };
    let decision = Decision {
        event,
        actor,
        actor_name: me.display_name.clone(),
        ip: client_ip(&req, &state.settings.trusted_proxies).to_string(),
        comment,
    };
    let (now, policy) = (state.clock.now(), state.policy());
    let result = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(store::decide(
            conn,
            id,
            Scope::Provider,
            &decision,
            now,
            &policy,
        ))
    })
    .await?;
    match result {
        Ok(updated) => {
            let key = match (action, updated.status) {
                (Action::Approve, Status::PendingCustomer) => "flash-approved-to-customer",
                (Action::Approve, _) => "flash-approved-open",
                (Action::Reject, _) => "flash-rejected",
                (Action::Cancel, _) => "flash-cancelled",
            };
            let ends = updated.ends_at.map(fmt_time).unwrap_or_default();
            PortalSession::from_request(&req).set_flash(&tr.t1(key, "at", &ends))?;
            Ok(see_other(&format!("/requests/{id}")))
        }
        Err(RequestError::Refused(refused)) => {
            let message = refusal_message(&tr, &refused, Viewer::Provider);
            let page = detail_page(&req, tr, &state, &me, &refused.request, Some(message)).await?;
            render_status(refusal_status(refused.refusal), &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "engineer/queue.html")]
struct QueuePage {
    tr: Tr,
    chrome: Chrome,
    rows: Vec<(RequestView, bool)>,
}

async fn queue(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
) -> Result<HttpResponse, AppError> {
    if me.role != StaffRole::Manager {
        return Err(AppError::Forbidden(Forbidden::Role));
    }
    let list = db::blocking(&state.pool, |conn| {
        store::manager_queue(conn, LIST_LIMIT).map_err(DbError::from)
    })
    .await?;
    let now = state.clock.now();
    render(&QueuePage {
        tr,
        chrome: chrome(&req, &me)?,
        rows: list
            .iter()
            .map(|r| {
                (
                    RequestView::new(r, now, Viewer::Provider),
                    r.engineer_id == me.id,
                )
            })
            .collect(),
    })
}
