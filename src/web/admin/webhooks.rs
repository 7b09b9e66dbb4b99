//! Settings › Webhooks: a global administrator registers endpoints (an
//! HTTPS URL and the events sent; the secret shown once, on the answer to
//! the POST and nowhere else), sees each endpoint's recent deliveries,
//! sends it a test event and removes it after confirming. Every route is
//! for global administrators only; another tenant's endpoint is not found.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use uuid::Uuid;

use super::{LockboxUser, audit_actor, chrome, require_global_admin};
use crate::{
    db::{self, DbError},
    i18n::Tr,
    tenants::TenantUser,
    web::{
        AppState,
        chrome::Chrome,
        error::AppError,
        forms::{CsrfForm, PortalSession},
        render, render_status, see_other,
        tokens::secret_page,
        two_factor::step_up::{self, StepUp},
    },
    webhooks::{
        self, EventGroup,
        endpoints::{self, DeliveryRow, Endpoint, EndpointError},
    },
};

const PATH: &str = "/settings/webhooks";
/// Deliveries shown on an endpoint's page (the newest).
const RECENT: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(add))
        .route("/settings/webhooks/{id}", web::get().to(detail))
        .route("/settings/webhooks/{id}/test", web::post().to(test))
        .route(
            "/settings/webhooks/{id}/remove",
            web::get().to(confirm_remove),
        )
        .route("/settings/webhooks/{id}/remove", web::post().to(remove));
}

/// An endpoint as the pages show it.
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    /// "active", "failing" or "disabled" (a translation key suffix).
    pub state: &'static str,
    pub created_at: String,
}

impl EndpointRow {
    pub fn state_key(&self) -> String {
        format!("webhook-state-{}", self.state)
    }

    fn new(tr: &Tr, e: &Endpoint) -> Self {
        let state = match (e.enabled, e.failing_since) {
            (false, _) => "disabled",
            (true, Some(_)) => "failing",
            (true, None) => "active",
        };
        Self {
            id: e.id,
            url: e.url.clone(),
            events: e
                .events
                .iter()
                .filter_map(|g| EventGroup::from_db(g))
                .map(EventGroup::label_key)
                .collect(),
            state,
            created_at: tr.fmt_time(e.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct ListPage {
    tr: Tr,
    chrome: Chrome,
    endpoints: Vec<EndpointRow>,
    groups: [EventGroup; 7],
    flash: Option<String>,
    /// What was typed: the URL and the chosen groups.
    url: String,
    chosen: Vec<&'static str>,
    error: Option<String>,
    /// The endpoint just added and its secret: shown once, here only.
    secret: Option<(String, String)>,
    /// The code field: adding an endpoint sends the tenant's events
    /// somewhere new, so it is confirmed with a second factor like the
    /// other configuration changes (an API token, the Lockbox switch).
    step_up: StepUp,
}

impl ListPage {
    fn is_chosen(&self, g: &EventGroup) -> bool {
        self.chosen.contains(&g.as_db())
    }
}

async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
) -> Result<ListPage, AppError> {
    let tenant = user.tenant_id;
    let list = db::blocking(&state.pool, move |conn| {
        endpoints::list_for_tenant(conn, tenant).map_err(DbError::from)
    })
    .await?;
    Ok(ListPage {
        chrome: chrome(req, user)?,
        endpoints: list.iter().map(|e| EndpointRow::new(&tr, e)).collect(),
        groups: EventGroup::ALL,
        flash: PortalSession::from_request(req).take_flash(),
        url: String::new(),
        chosen: EventGroup::ALL.iter().map(|g| g.as_db()).collect(),
        error: None,
        secret: None,
        step_up: step_up::ask(req, state, user).await?,
        tr,
    })
}

async fn show(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    render(&page(&req, tr, &state, &user).await?)
}

impl From<EndpointError> for AppError {
    fn from(e: EndpointError) -> Self {
        match e {
            EndpointError::Db(e) => e.into(),
            _ => AppError::NotFound,
        }
    }
}

/// The message key of an error in what was typed.
fn error_key(e: &EndpointError) -> &'static str {
    match e {
        EndpointError::Url(webhooks::guard::Refused::NotHttps) => "webhook-error-https",
        EndpointError::Url(webhooks::guard::Refused::NotPublic(_)) => "webhook-error-not-public",
        EndpointError::Url(_) | EndpointError::UrlTooLong => "webhook-error-url",
        EndpointError::NoEvents => "webhook-error-events",
        EndpointError::TooMany => "webhook-error-too-many",
        EndpointError::NotFound | EndpointError::Db(_) => "webhook-error-url",
    }
}

async fn add(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let url = form.get("url").cloned().unwrap_or_default();
    let groups: Vec<EventGroup> = EventGroup::ALL
        .into_iter()
        .filter(|g| form.contains_key(&format!("event_{}", g.as_db())))
        .collect();
    let code = form.get(step_up::FIELD).map_or("", String::as_str);
    if let Err((step_up, status)) = step_up::confirm(&req, &tr, &state, &user, code).await? {
        let mut again = page(&req, tr, &state, &user).await?;
        again.url = url;
        again.chosen = groups.iter().map(|g| g.as_db()).collect();
        again.step_up = step_up;
        return render_status(status, &again);
    }
    let (now, actor, tenant) = (
        state.clock.now(),
        audit_actor(&req, &state, &user),
        user.tenant_id,
    );
    let allow = state.settings.webhooks.allow_http_loopback;
    let (typed, chosen, sealer) = (url.clone(), groups.clone(), state.sealer.clone());
    let added = db::blocking(&state.pool, move |conn| {
        Ok::<_, DbError>(endpoints::add_for_tenant(
            conn,
            &sealer,
            tenant,
            endpoints::NewEndpoint {
                url: &typed,
                events: &chosen,
            },
            allow,
            now,
            &actor,
        ))
    })
    .await?;
    match added {
        Ok((endpoint, secret)) => {
            let mut shown = page(&req, tr, &state, &user).await?;
            shown.secret = Some((endpoint.url, secret));
            secret_page(&shown)
        }
        Err(EndpointError::Db(e)) => Err(e.into()),
        Err(e) => {
            let mut again = page(&req, tr, &state, &user).await?;
            again.error = Some(again.tr.t(error_key(&e)));
            again.url = url;
            again.chosen = groups.iter().map(|g| g.as_db()).collect();
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &again)
        }
    }
}

/// The tenant's endpoint `id` (another tenant's: not found).
async fn tenant_endpoint(
    state: &AppState,
    user: &TenantUser,
    id: Uuid,
) -> Result<Endpoint, AppError> {
    let tenant = user.tenant_id;
    db::blocking(&state.pool, move |conn| {
        endpoints::find_for_tenant(conn, tenant, id).map_err(AppError::from)
    })
    .await
}

/// A delivery as the endpoint's page shows it.
pub struct DeliveryView {
    pub message_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub answer: String,
    pub at: String,
}

impl DeliveryView {
    fn new(tr: &Tr, d: DeliveryRow) -> Self {
        let answer = match (d.last_status, d.last_error) {
            (_, Some(error)) => error,
            (Some(status), None) => status.to_string(),
            (None, None) => String::new(),
        };
        Self {
            message_id: d.message_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            answer,
            at: tr.fmt_time(d.last_attempt_at.unwrap_or(d.created_at)),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct DetailPage {
    tr: Tr,
    chrome: Chrome,
    endpoint: EndpointRow,
    deliveries: Vec<DeliveryView>,
    flash: Option<String>,
}

async fn detail(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let endpoint = tenant_endpoint(&state, &user, path.into_inner()).await?;
    let id = endpoint.id;
    let deliveries = db::blocking(&state.pool, move |conn| {
        endpoints::recent_deliveries(conn, id, RECENT).map_err(DbError::from)
    })
    .await?;
    render(&DetailPage {
        chrome: chrome(&req, &user)?,
        endpoint: EndpointRow::new(&tr, &endpoint),
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryView::new(&tr, d))
            .collect(),
        flash: PortalSession::from_request(&req).take_flash(),
        tr,
    })
}

async fn test(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
    CsrfForm(_): CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let endpoint = tenant_endpoint(&state, &user, path.into_inner()).await?;
    let (id, tenant, now) = (endpoint.id, user.tenant_id, state.clock.now());
    let sent = db::blocking(&state.pool, move |conn| {
        webhooks::send_test(conn, id, tenant, now).map_err(DbError::from)
    })
    .await?;
    let said = match sent {
        Ok(_) => "flash-webhook-test-queued",
        Err(webhooks::TestRefused::Disabled) => "flash-webhook-test-disabled",
        Err(webhooks::TestRefused::Pending) => "flash-webhook-test-pending",
    };
    PortalSession::from_request(&req).set_flash(&tr.t(said))?;
    Ok(see_other(&format!("{PATH}/{id}")))
}

#[derive(Template)]
#[template(path = "admin/webhook_remove.html")]
struct RemovePage {
    tr: Tr,
    chrome: Chrome,
    endpoint: EndpointRow,
    /// The code field: removing an endpoint stops the tenant's events
    /// reaching a receiver (a monitoring blind spot), so it is confirmed
    /// with a second factor like adding one.
    step_up: StepUp,
}

async fn confirm_remove(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let endpoint = tenant_endpoint(&state, &user, path.into_inner()).await?;
    render(&RemovePage {
        chrome: chrome(&req, &user)?,
        endpoint: EndpointRow::new(&tr, &endpoint),
        step_up: step_up::ask(&req, &state, &user).await?,
        tr,
    })
}

async fn remove(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let id = path.into_inner();
    let code = form.get(step_up::FIELD).map_or("", String::as_str);
    if let Err((step_up, status)) = step_up::confirm(&req, &tr, &state, &user, code).await? {
        let endpoint = tenant_endpoint(&state, &user, id).await?;
        return render_status(
            status,
            &RemovePage {
                chrome: chrome(&req, &user)?,
                endpoint: EndpointRow::new(&tr, &endpoint),
                step_up,
                tr,
            },
        );
    }
    let (now, actor, tenant) = (
        state.clock.now(),
        audit_actor(&req, &state, &user),
        user.tenant_id,
    );
    let removed = db::blocking(&state.pool, move |conn| {
        endpoints::remove_for_tenant(conn, tenant, id, now, &actor).map_err(AppError::from)
    })
    .await?;
    PortalSession::from_request(&req).set_flash(&tr.t1(
        "flash-webhook-removed",
        "url",
        &removed.url,
    ))?;
    Ok(see_other(PATH))
}
