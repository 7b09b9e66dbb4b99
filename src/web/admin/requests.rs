//! Support › Customer Lockbox requests: the list (pending first, then
//! history). The detail page, approve / deny / cancel / revoke and their
//! confirmation step are [`crate::web::request_pages`], shared with the
//! engineer portal; this file says how the admin center words them.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::NaiveDate;

use super::{LockboxUser, chrome};
use crate::{
    db,
    i18n::{Tr, Tz},
    requests::{Caller, Cursor, Status, TenantFilter, use_cases},
    tenants::TenantUser,
    web::{
        AppState,
        chrome::Chrome,
        error::{AppError, Forbidden},
        render, render_status,
        request_pages::{self, RequestPortal},
        view::{Column, RequestView, TableRow, Viewer},
    },
};

const LIST: &str = "/support/lockbox/requests";
/// Rows per page of the list.
const PAGE_SIZE: i64 = crate::requests::queries::PORTAL_PAGE;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(LIST, web::get().to(list))
        .configure(request_pages::routes::<TenantUser>);
}

impl RequestPortal for TenantUser {
    const BASE: &'static str = LIST;
    const VIEWER: Viewer = Viewer::Customer;

    fn caller(&self) -> Caller {
        Caller::customer(self)
    }

    /// Plain tenant users get the admin center's "no access" page.
    fn admit(self) -> Result<Self, AppError> {
        if self.role.can_use_lockbox() {
            Ok(self)
        } else {
            Err(AppError::Forbidden(Forbidden::NeedsLockboxRole))
        }
    }

    fn chrome(&self, req: &HttpRequest) -> Result<Chrome, AppError> {
        chrome(req, self)
    }
}

/// The columns of the list, in order.
const COLUMNS: [Column; 7] = [
    Column::ServiceRequest,
    Column::Workload,
    Column::Requester,
    Column::Duration,
    Column::RequestedAt,
    Column::Deadline,
    Column::Status,
];

#[derive(Debug, Default, Clone, serde::Deserialize)]
pub(crate) struct ListQuery {
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
    /// The filter, with its days read as days in `zone` (the reader's), or
    /// the translation key of what is wrong with it.
    fn parse(&self, zone: Tz) -> Result<(TenantFilter, Option<Cursor>), &'static str> {
        let state = match self.state.trim() {
            "" => None,
            s => Some(Status::from_db(s).ok_or("error-filter-state")?),
        };
        let day = |raw: &str| -> Result<Option<NaiveDate>, &'static str> {
            match raw.trim() {
                "" => Ok(None),
                // Years PostgreSQL and people both understand.
                s => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
                    .map(Some)
                    .ok_or("error-filter-date"),
            }
        };
        let start_of = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map(|t| crate::i18n::local_to_utc(zone, t, false))
        };
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
                request: None,
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
    columns: [Column; 7],
    rows: Vec<TableRow>,
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
    list_page(&req, tr, &state, user, query.into_inner()).await
}

/// The reference page of `lockbox bench web`: the list's query and
/// template for `user`, with no session, no sign-in and no CSRF — what the
/// page costs without them. Only the benchmark's own listener serves it;
/// the portals never route it.
pub(crate) async fn reference(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    user: web::Data<TenantUser>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let user = user.get_ref().clone();
    list_page(&req, tr, &state, user, query.into_inner()).await
}

async fn list_page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: TenantUser,
    query: ListQuery,
) -> Result<HttpResponse, AppError> {
    let caller = Caller::customer(&user);
    let now = state.clock.now();
    let parsed = query.parse(tr.zone);
    let valid = parsed.is_ok();
    let (filter, after) = parsed.clone().unwrap_or_default();
    // The Lockbox switch came with the user (one query less per page).
    let lockbox_enabled = user.lockbox_enabled;
    let (rows, next) = if valid {
        db::blocking(&state.pool, move |conn| {
            use_cases::list_for_tenant(conn, &caller, &filter, after, now, PAGE_SIZE)
        })
        .await?
    } else {
        (Vec::new(), None)
    };
    let page = ListPage {
        chrome: chrome(req, &user)?,
        filtered: !(query.state.is_empty() && query.from.is_empty() && query.until.is_empty()),
        next: next.map(|c| query.next_page(c)),
        filter_error: parsed.err().map(|k| tr.t(k)),
        rows: rows
            .iter()
            .map(|r| TableRow {
                r: RequestView::new(&tr, r, now, Viewer::Customer),
                own: false,
                actions: Vec::new(),
            })
            .collect(),
        columns: COLUMNS,
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
