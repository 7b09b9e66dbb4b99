//! Support › Customer Lockbox requests: the list (pending first, then
//! history), a detail page with the whole timeline, and approve / deny /
//! cancel / revoke behind a confirmation page. Every decision goes through
//! the same domain transition as the engineer portal's.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::NaiveDate;
use uuid::Uuid;

use super::{LockboxUser, chrome};
use crate::{
    db::{self, DbError},
    error::AppError,
    i18n::Tr,
    requests::{
        Actor, Comment, Event, Status,
        store::{self, AccessRequest, Cursor, Decision, RequestError, Scope, TenantFilter},
    },
    tenants::{self, TenantUser},
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

const LIST: &str = "/support/lockbox/requests";
/// Rows per page of the list.
const PAGE_SIZE: i64 = 25;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(LIST, web::get().to(list))
        .route("/support/lockbox/requests/{id}", web::get().to(detail))
        .route(
            "/support/lockbox/requests/{id}/{action}",
            web::get().to(confirm),
        )
        .route(
            "/support/lockbox/requests/{id}/{action}",
            web::post().to(decide),
        );
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
}

impl ListQuery {
    /// The filter, or the translation key of what is wrong with it.
    fn parse(&self) -> Result<(TenantFilter, Option<Cursor>), &'static str> {
        let state = match self.state.trim() {
            "" => None,
            s => Some(Status::from_db(s).ok_or("error-filter-state")?),
        };
        let day = |raw: &str| -> Result<Option<NaiveDate>, &'static str> {
            match raw.trim() {
                "" => Ok(None),
                s => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| "error-filter-date"),
            }
        };
        let start_of = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let from = day(&self.from)?;
        let until = day(&self.until)?;
        if let (Some(f), Some(u)) = (from, until)
            && u < f
        {
            return Err("error-filter-order");
        }
        let after = match self.after.trim() {
            "" => None,
            s => Some(Cursor::decode(s).ok_or("error-filter-page")?),
        };
        Ok((
            TenantFilter {
                state,
                from: from.and_then(start_of),
                // Inclusive of the whole "until" day.
                until: until.and_then(|d| d.succ_opt()).and_then(start_of),
            },
            after,
        ))
    }

    /// The query string of the next page, keeping the filters.
    fn next_page(&self, cursor: Cursor) -> String {
        let query = [
            ("state", self.state.as_str()),
            ("from", self.from.as_str()),
            ("until", self.until.as_str()),
            ("after", &cursor.encode()),
        ];
        serde_urlencoded::to_string(query).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "admin/requests.html")]
struct ListPage {
    tr: Tr,
    chrome: Chrome,
    query: ListQuery,
    states: [Status; 9],
    rows: Vec<RequestView>,
    next: Option<String>,
    filter_error: Option<String>,
    filtered: bool,
    lockbox_enabled: bool,
}

async fn list(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let tenant = user.tenant_id;
    let now = state.clock.now();
    let parsed = query.parse();
    let valid = parsed.is_ok();
    let (filter, after) = parsed.clone().unwrap_or_default();
    let (rows, next, lockbox_enabled) = db::blocking(&state.pool, move |conn| {
        let enabled = tenants::lockbox_enabled(conn, tenant)?;
        let (rows, next) = if valid {
            store::list_for_tenant(conn, tenant, &filter, after, now, PAGE_SIZE)?
        } else {
            (Vec::new(), None)
        };
        Ok::<_, DbError>((rows, next, enabled))
    })
    .await?;
    let page = ListPage {
        chrome: chrome(&req, &user)?,
        filtered: !(query.state.is_empty() && query.from.is_empty() && query.until.is_empty()),
        next: next.map(|c| query.next_page(c)),
        filter_error: parsed.err().map(|k| tr.t(k)),
        rows: rows
            .iter()
            .map(|r| RequestView::new(r, now, Viewer::Customer))
            .collect(),
        states: Status::ALL,
        query,
        lockbox_enabled,
        tr,
    };
    if page.filter_error.is_some() {
        render_status(StatusCode::BAD_REQUEST, &page)
    } else {
        render(&page)
    }
}

/// The request, if it belongs to the user's tenant; any other id is "not
/// found" (never "forbidden", which would confirm it exists).
async fn tenant_request(
    state: &AppState,
    user: &TenantUser,
    id: Uuid,
) -> Result<AccessRequest, AppError> {
    let tenant = user.tenant_id;
    db::blocking(&state.pool, move |conn| {
        store::find(conn, id, Scope::Tenant(tenant)).map_err(DbError::from)
    })
    .await?
    .ok_or(AppError::NotFound)
}

/// The customer's decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Approve,
    Deny,
    Cancel,
    Revoke,
}

impl Action {
    fn parse(raw: &str) -> Result<Self, AppError> {
        match raw {
            "approve" => Ok(Action::Approve),
            "deny" => Ok(Action::Deny),
            "cancel" => Ok(Action::Cancel),
            "revoke" => Ok(Action::Revoke),
            _ => Err(AppError::NotFound),
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::Cancel => "cancel",
            Action::Revoke => "revoke",
        }
    }

    fn event(self) -> Event {
        match self {
            Action::Approve => Event::CustomerApprove,
            Action::Deny => Event::CustomerDeny,
            Action::Cancel => Event::Cancel,
            Action::Revoke => Event::Revoke,
        }
    }

    /// The actions open on a request in `status`.
    fn available(status: Status) -> Vec<Action> {
        match status {
            Status::PendingCustomer => vec![Action::Approve, Action::Deny, Action::Cancel],
            Status::PendingManager => vec![Action::Cancel],
            Status::Approved => vec![Action::Revoke],
            _ => Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/request.html")]
struct DetailPage {
    tr: Tr,
    chrome: Chrome,
    request: RequestView,
    timeline: Vec<TimelineView>,
    actions: Vec<&'static str>,
    flash: Option<String>,
    alert: Option<String>,
    /// What provider operators did (or tried) under this request.
    operator_actions: Vec<OperatorAction>,
}

struct OperatorAction {
    at: String,
    activity: String,
    staff: String,
    ip: String,
    details: String,
    record_id: i64,
}

async fn detail_page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
    request: &AccessRequest,
    alert: Option<String>,
) -> Result<DetailPage, AppError> {
    let (id, tenant) = (request.id, request.tenant_id);
    let (entries, records) = db::blocking(&state.pool, move |conn| {
        Ok::<_, DbError>((
            store::timeline(conn, id)?,
            crate::audit::for_request(conn, tenant, id)?,
        ))
    })
    .await?;
    let operations: Vec<&str> = crate::content::OPERATIONS.iter().map(|o| o.name).collect();
    let operator_actions = records
        .iter()
        .filter(|r| {
            operations.contains(&r.activity.as_str())
                || r.activity == crate::audit::activity::ACCESS_DENIED
        })
        .map(|r| OperatorAction {
            at: fmt_time(r.occurred_at),
            activity: r.activity.clone(),
            staff: format!("{} ({})", r.actor_name, r.actor_id),
            ip: r.ip.clone(),
            details: r.parameters.to_string(),
            record_id: r.id,
        })
        .collect();
    let view = RequestView::new(request, state.clock.now(), Viewer::Customer);
    Ok(DetailPage {
        timeline: timeline_view(&tr, &entries, &request.tenant_name, Viewer::Customer),
        actions: Action::available(view.status)
            .into_iter()
            .map(Action::slug)
            .collect(),
        chrome: chrome(req, user)?,
        request: view,
        flash: PortalSession::from_request(req).take_flash(),
        alert,
        operator_actions,
        tr,
    })
}

async fn detail(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let request = tenant_request(&state, &user, path.into_inner()).await?;
    render(&detail_page(&req, tr, &state, &user, &request, None).await?)
}

fn confirm_page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
    request: &AccessRequest,
    action: Action,
) -> Result<ConfirmPage, AppError> {
    Ok(ConfirmPage::new(
        tr,
        chrome(req, user)?,
        RequestView::new(request, state.clock.now(), Viewer::Customer),
        format!("customer-{}", action.slug()),
        format!("{LIST}/{}", request.id),
        action.slug(),
    ))
}

async fn confirm(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let action = Action::parse(&action)?;
    let request = tenant_request(&state, &user, id).await?;
    render(&confirm_page(&req, tr, &state, &user, &request, action)?)
}

async fn decide(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<(Uuid, String)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let action = Action::parse(&action)?;
    let request = tenant_request(&state, &user, id).await?;
    let comment = match Comment::parse(&form.comment) {
        Ok(c) => c,
        Err(key) => {
            return confirm_page(&req, tr, &state, &user, &request, action)?
                .refuse_comment(form.comment, key);
        }
    };
    let decision = Decision {
        event: action.event(),
        actor: Actor::Customer(user.id),
        actor_name: user.display_name.clone(),
        ip: client_ip(&req, &state.settings.trusted_proxies).to_string(),
        comment,
    };
    let (tenant, now, policy) = (user.tenant_id, state.clock.now(), state.policy());
    let result = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(store::decide(
            conn,
            id,
            Scope::Tenant(tenant),
            &decision,
            now,
            &policy,
        ))
    })
    .await?;
    match result {
        Ok(updated) => {
            let ends = updated.ends_at.map(fmt_time).unwrap_or_default();
            let message = tr.t_args(
                &format!("flash-customer-{}", action.slug()),
                &[("id", &id.to_string()), ("at", &ends)],
            );
            PortalSession::from_request(&req).set_flash(&message)?;
            Ok(see_other(&format!("{LIST}/{id}")))
        }
        Err(RequestError::Refused(refused)) => {
            let message = refusal_message(&tr, &refused, Viewer::Customer);
            let page =
                detail_page(&req, tr, &state, &user, &refused.request, Some(message)).await?;
            render_status(refusal_status(refused.refusal), &page)
        }
        Err(e) => Err(e.into()),
    }
}
