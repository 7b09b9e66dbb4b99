//! The support queue: every tenant's open service requests (staff are the
//! provider), filtered by tenant, workload and severity, oldest first; a
//! ticket's page with its conversation, where staff reply and resolve. A
//! ticket lives under its tenant, `/support/{tenant}/{number}`: a number
//! under another tenant is "not found", crafted forms included.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{SignedInStaff, chrome};
use crate::{
    db::{self, DbError},
    i18n::Tr,
    identity::TenantId,
    requests::{
        Caller, Workload,
        tickets::{
            MessageBody, Severity, TicketCursor, TicketError, TicketNumber, TicketScope, commands,
            queries::{self, QueueFilter},
        },
    },
    staff::StaffMember,
    tenants::{self, Tenant},
    web::{
        AppState,
        admin::tickets::{DetailPage, MessageForm},
        chrome::Chrome,
        client_ip,
        error::AppError,
        forms::{CsrfForm, PortalSession, SignedIn},
        render, render_status, see_other,
        view::{TicketView, Viewer},
    },
};

const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/support", web::get().to(queue))
        .route("/support/{tenant}/{number}", web::get().to(detail))
        .route("/support/{tenant}/{number}/messages", web::post().to(reply))
        .route("/support/{tenant}/{number}/close", web::post().to(resolve));
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
struct QueueQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    workload: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    after: String,
}

impl QueueQuery {
    fn parse(&self) -> Result<(QueueFilter, Option<TicketCursor>), AppError> {
        let bad = || AppError::BadRequest("filter".into());
        let opt = |raw: &str| (!raw.trim().is_empty()).then(|| raw.trim().to_owned());
        Ok((
            QueueFilter {
                tenant: opt(&self.tenant)
                    .map(|t| TenantId::parse(&t).ok_or_else(bad))
                    .transpose()?,
                workload: opt(&self.workload)
                    .map(|w| Workload::from_db(&w).ok_or_else(bad))
                    .transpose()?,
                severity: opt(&self.severity)
                    .map(|s| Severity::from_db(&s).ok_or_else(bad))
                    .transpose()?,
            },
            opt(&self.after)
                .map(|a| TicketCursor::decode(&a).ok_or_else(bad))
                .transpose()?,
        ))
    }

    fn next_page(&self, cursor: TicketCursor) -> String {
        let query = [
            ("tenant", self.tenant.as_str()),
            ("workload", self.workload.as_str()),
            ("severity", self.severity.as_str()),
            ("after", &cursor.encode()),
        ];
        serde_urlencoded::to_string(query).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "engineer/support.html")]
struct QueuePage {
    tr: Tr,
    chrome: Chrome,
    query: QueueQuery,
    tenants: Vec<Tenant>,
    workloads: [Workload; 3],
    severities: [Severity; 3],
    filtered: bool,
    title_key: &'static str,
    show_tenant: bool,
    rows: Vec<TicketView>,
    next: Option<String>,
}

impl QueuePage {
    fn href(&self, t: &TicketView) -> String {
        format!("/support/{}/{}", t.tenant_id, t.number)
    }
}

async fn queue(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (filter, after) = query.parse()?;
    let (tenants, (rows, next)) = db::blocking(&state.pool, move |conn| {
        let tenants = tenants::list_tenants(conn)?;
        Ok::<_, DbError>((
            tenants,
            queries::open_queue(conn, &filter, after, PAGE_SIZE)?,
        ))
    })
    .await?;
    render(&QueuePage {
        chrome: chrome(&req, &me)?,
        filtered: !(query.tenant.is_empty()
            && query.workload.is_empty()
            && query.severity.is_empty()),
        next: next.map(|c| query.next_page(c)),
        rows: rows
            .iter()
            .map(|t| TicketView::new(&tr, t, &[], Viewer::Provider))
            .collect(),
        query,
        tenants,
        workloads: Workload::ALL,
        severities: Severity::ALL,
        title_key: "support-queue-title",
        show_tenant: true,
        tr,
    })
}

/// The tenant and ticket number of a path; anything else is not found.
fn parse_path((tenant, number): (String, String)) -> Result<(TenantId, String), AppError> {
    let tenant = TenantId::parse(&tenant).ok_or(AppError::NotFound)?;
    let number = TicketNumber::parse(&number).ok_or(AppError::NotFound)?;
    Ok((tenant, number.as_str().to_owned()))
}

async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &StaffMember,
    (tenant, number): (TenantId, String),
) -> Result<DetailPage, AppError> {
    let ticket = db::blocking(&state.pool, move |conn| {
        let ticket = queries::find(conn, TicketScope::Provider, Some(tenant), &number)?
            .ok_or(AppError::NotFound)?;
        let messages = queries::messages(conn, ticket.id)?;
        Ok::<_, AppError>(TicketView::new(&tr, &ticket, &messages, Viewer::Provider))
    })
    .await?;
    let base = format!("/support/{}/{}", ticket.tenant_id, ticket.number);
    Ok(DetailPage {
        chrome: chrome(req, me)?,
        list_href: "/support",
        list_key: "support-queue-title",
        base,
        close_key: "ticket-resolve",
        message_key: "ticket-reply",
        file_href: Some(format!(
            "/requests/new?tenant={}&service_request={}",
            ticket.tenant_id, ticket.number
        )),
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
    SignedIn(me): SignedInStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let at = parse_path(path.into_inner())?;
    render(&page(&req, tr, &state, &me, at).await?)
}

async fn reply(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<MessageForm>,
) -> Result<HttpResponse, AppError> {
    let (tenant, number) = parse_path(path.into_inner())?;
    let body = match MessageBody::parse(&form.body) {
        Ok(b) => b,
        Err(key) => {
            let mut p = page(&req, tr, &state, &me, (tenant, number)).await?;
            p.error = Some(tr.t(key));
            p.body = form.body;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    let (caller, now) = (Caller::staff(&me), state.clock.now());
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let n = number.clone();
    let added = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(commands::add_message(
            conn,
            &caller,
            &ip,
            Some(tenant),
            &n,
            &body,
            now,
        ))
    })
    .await?;
    match added {
        Ok(_) => {
            PortalSession::from_request(&req).set_flash(&tr.t("flash-ticket-replied"))?;
            Ok(see_other(&format!("/support/{tenant}/{number}")))
        }
        Err(TicketError::Closed) => {
            let mut p = page(&req, tr, &state, &me, (tenant, number)).await?;
            p.alert = Some(tr.t("ticket-already-closed"));
            p.body = form.body;
            render_status(StatusCode::CONFLICT, &p)
        }
        Err(e) => Err(e.into()),
    }
}

async fn resolve(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (tenant, number) = parse_path(path.into_inner())?;
    let (caller, now, policy) = (Caller::staff(&me), state.clock.now(), state.policy());
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let n = number.clone();
    let closed = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(commands::close(
            conn,
            &caller,
            &ip,
            Some(tenant),
            &n,
            now,
            &policy,
        ))
    })
    .await?;
    let message = match closed {
        Ok(cancelled) => tr.t1("flash-ticket-closed", "count", &cancelled.len().to_string()),
        Err(TicketError::Closed) => tr.t("ticket-already-closed"),
        Err(e) => return Err(e.into()),
    };
    PortalSession::from_request(&req).set_flash(&message)?;
    Ok(see_other(&format!("/support/{tenant}/{number}")))
}
