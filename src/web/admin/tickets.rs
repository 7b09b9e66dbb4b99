//! Support › Service requests: a tenant's tickets (open first, newest
//! first), opening one, its conversation, and closing it. Global
//! administrators and approvers see the tenant's tickets, a plain user
//! their own; another tenant's ticket is "not found" on every route.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{SignedInUser, chrome};
use crate::{
    db::{self, DbError},
    i18n::Tr,
    requests::{
        Caller, FieldErrors, Workload,
        tickets::{
            self, MessageBody, NewTicketInput, Severity, TicketCursor, TicketError, TicketScope,
            commands, queries,
        },
    },
    tenants::TenantUser,
    web::{
        AppState,
        chrome::Chrome,
        client_ip,
        error::AppError,
        forms::{CsrfForm, PortalSession, SignedIn},
        render, render_status, see_other,
        view::{TicketView, Viewer},
    },
};

const LIST: &str = "/support/tickets";
const PAGE_SIZE: i64 = 25;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(LIST, web::get().to(list))
        .route(LIST, web::post().to(open))
        .route("/support/tickets/new", web::get().to(new_form))
        .route("/support/tickets/{number}", web::get().to(detail))
        .route(
            "/support/tickets/{number}/messages",
            web::post().to(message),
        )
        .route("/support/tickets/{number}/close", web::post().to(close));
}

impl From<TicketError> for AppError {
    fn from(e: TicketError) -> Self {
        match e {
            TicketError::NotFound => AppError::NotFound,
            TicketError::Closed => AppError::BadRequest("the ticket is closed".into()),
            TicketError::Db(e) => e.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/tickets.html")]
struct ListPage {
    tr: Tr,
    chrome: Chrome,
    title_key: &'static str,
    show_tenant: bool,
    rows: Vec<TicketView>,
    next: Option<String>,
    flash: Option<String>,
    alert: Option<String>,
}

impl ListPage {
    fn href(&self, t: &TicketView) -> String {
        format!("{LIST}/{}", t.number)
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct PageQuery {
    #[serde(default)]
    after: String,
}

async fn list(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(user): SignedInUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let after = match query.after.trim() {
        "" => None,
        raw => Some(TicketCursor::decode(raw).ok_or(AppError::BadRequest("page".into()))?),
    };
    let scope = TicketScope::of(&Caller::customer(&user));
    let (rows, next) = db::blocking(&state.pool, move |conn| {
        queries::list_for_tenant(conn, scope, after, PAGE_SIZE).map_err(DbError::from)
    })
    .await?;
    render(&ListPage {
        chrome: chrome(&req, &user)?,
        title_key: if matches!(scope, TicketScope::Opener(..)) {
            "tickets-title-own"
        } else {
            "tickets-title"
        },
        show_tenant: false,
        rows: rows
            .iter()
            .map(|t| TicketView::new(&tr, t, &[], Viewer::Customer))
            .collect(),
        next: next.map(|c| c.encode()),
        flash: PortalSession::from_request(&req).take_flash(),
        alert: None,
        tr,
    })
}

#[derive(Template)]
#[template(path = "admin/ticket_new.html")]
struct NewPage {
    tr: Tr,
    chrome: Chrome,
    input: NewTicketInput,
    errors: FieldErrors,
    workloads: [Workload; 3],
    severities: [Severity; 3],
}

impl NewPage {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|key| self.tr.t(key))
    }
}

async fn new_form(
    req: HttpRequest,
    tr: Tr,
    SignedIn(user): SignedInUser,
) -> Result<HttpResponse, AppError> {
    render(&NewPage {
        chrome: chrome(&req, &user)?,
        input: NewTicketInput::default(),
        errors: FieldErrors::new(),
        workloads: Workload::ALL,
        severities: Severity::ALL,
        tr,
    })
}

async fn open(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(user): SignedInUser,
    CsrfForm(input): CsrfForm<NewTicketInput>,
) -> Result<HttpResponse, AppError> {
    let new = match input.parse() {
        Ok(new) => new,
        Err(errors) => {
            let page = NewPage {
                chrome: chrome(&req, &user)?,
                input,
                errors,
                workloads: Workload::ALL,
                severities: Severity::ALL,
                tr,
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (caller, now) = (Caller::customer(&user), state.clock.now());
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let number = db::blocking(&state.pool, move |conn| {
        commands::open(conn, &caller, &ip, &new, now).map_err(AppError::from)
    })
    .await?;
    let message = tr.t1("flash-ticket-opened", "number", number.as_str());
    PortalSession::from_request(&req).set_flash(&message)?;
    Ok(see_other(&format!("{LIST}/{}", number.as_str())))
}

#[derive(Template)]
#[template(path = "tickets/detail.html")]
pub(crate) struct DetailPage {
    pub tr: Tr,
    pub chrome: Chrome,
    pub ticket: TicketView,
    pub list_href: &'static str,
    pub list_key: &'static str,
    /// Where the forms post to (`…/messages`, `…/close`).
    pub base: String,
    pub close_key: &'static str,
    pub message_key: &'static str,
    /// A request citing the ticket can be filed from here (engineers).
    pub file_href: Option<String>,
    pub body: String,
    pub error: Option<String>,
    pub flash: Option<String>,
    pub alert: Option<String>,
}

/// The ticket `number` as `user` may see it, with its conversation.
async fn load(
    state: &AppState,
    tr: &Tr,
    user: &TenantUser,
    number: String,
) -> Result<TicketView, AppError> {
    let scope = TicketScope::of(&Caller::customer(user));
    let tr = *tr;
    db::blocking(&state.pool, move |conn| {
        let ticket = queries::find(conn, scope, None, &number)?.ok_or(AppError::NotFound)?;
        let messages = queries::messages(conn, ticket.id)?;
        Ok::<_, AppError>(TicketView::new(&tr, &ticket, &messages, Viewer::Customer))
    })
    .await
}

fn detail_page(
    req: &HttpRequest,
    tr: Tr,
    user: &TenantUser,
    ticket: TicketView,
) -> Result<DetailPage, AppError> {
    Ok(DetailPage {
        chrome: chrome(req, user)?,
        list_href: LIST,
        list_key: "tickets-title",
        base: format!("{LIST}/{}", ticket.number),
        close_key: "ticket-close",
        message_key: "ticket-message",
        file_href: None,
        ticket,
        body: String::new(),
        error: None,
        flash: PortalSession::from_request(req).take_flash(),
        alert: None,
        tr,
    })
}

async fn detail(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(user): SignedInUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let number = tickets::TicketNumber::parse(&path).ok_or(AppError::NotFound)?;
    let ticket = load(&state, &tr, &user, number.as_str().to_owned()).await?;
    render(&detail_page(&req, tr, &user, ticket)?)
}

#[derive(serde::Deserialize)]
pub(crate) struct MessageForm {
    #[serde(default)]
    pub body: String,
}

async fn message(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(user): SignedInUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<MessageForm>,
) -> Result<HttpResponse, AppError> {
    let number = tickets::TicketNumber::parse(&path).ok_or(AppError::NotFound)?;
    let ticket = load(&state, &tr, &user, number.as_str().to_owned()).await?;
    let body = match MessageBody::parse(&form.body) {
        Ok(b) => b,
        Err(key) => {
            let mut page = detail_page(&req, tr, &user, ticket)?;
            page.error = Some(tr.t(key));
            page.body = form.body;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (caller, now) = (Caller::customer(&user), state.clock.now());
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let n = number.as_str().to_owned();
    let added = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(commands::add_message(
            conn, &caller, &ip, None, &n, &body, now,
        ))
    })
    .await?;
    match added {
        Ok(_) => {
            PortalSession::from_request(&req).set_flash(&tr.t("flash-ticket-message"))?;
            Ok(see_other(&format!("{LIST}/{}", number.as_str())))
        }
        Err(TicketError::Closed) => {
            let mut page = detail_page(&req, tr, &user, ticket)?;
            page.alert = Some(tr.t("ticket-already-closed"));
            page.body = form.body;
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}

async fn close(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(user): SignedInUser,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let number = tickets::TicketNumber::parse(&path).ok_or(AppError::NotFound)?;
    let (caller, now, policy) = (Caller::customer(&user), state.clock.now(), state.policy());
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let n = number.as_str().to_owned();
    let closed = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(commands::close(conn, &caller, &ip, None, &n, now, &policy))
    })
    .await?;
    let message = match closed {
        Ok(cancelled) => tr.t1("flash-ticket-closed", "count", &cancelled.len().to_string()),
        Err(TicketError::Closed) => tr.t("ticket-already-closed"),
        Err(e) => return Err(e.into()),
    };
    PortalSession::from_request(&req).set_flash(&message)?;
    Ok(see_other(&format!("{LIST}/{}", number.as_str())))
}
