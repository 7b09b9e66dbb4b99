//! The engineer portal's home: the signed-in staff member's requests still
//! waiting for a decision (state and time left), their access windows open
//! now with the way into each access session, and for managers the
//! approval queue's size and oldest request
//! ([`requests::home::engineer_home`]).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};

use super::{SignedInStaff, chrome};
use crate::{
    db,
    i18n::Tr,
    requests::{
        AccessRequest, Caller, Status,
        home::{self, EngineerHome},
    },
    staff::StaffMember,
    web::{
        AppState,
        chrome::Chrome,
        error::AppError,
        forms::SignedIn,
        render,
        view::{RequestView, Viewer, time_left},
    },
};

/// One of the engineer's requests as a card shows it.
struct OwnRow {
    r: RequestView,
    /// Until the deadline or the window's end; `None` while it waits for a
    /// manager (no deadline runs then).
    time_left: Option<String>,
}

impl OwnRow {
    fn new(tr: &Tr, req: &AccessRequest, now: DateTime<Utc>) -> Self {
        let view = RequestView::new(tr, req, now, Viewer::Provider);
        let end = match view.status {
            Status::PendingCustomer => req.expires_at,
            Status::Approved => req.ends_at,
            _ => None,
        };
        Self {
            time_left: end.map(|end| time_left(now, end)),
            r: view,
        }
    }
}

/// The approval queue at a glance (managers).
struct QueueView {
    count: i64,
    oldest: Option<RequestView>,
}

#[derive(Template)]
#[template(path = "engineer/home.html")]
struct HomePage {
    tr: Tr,
    chrome: Chrome,
    role_key: &'static str,
    email: String,
    open: Vec<OwnRow>,
    windows: Vec<OwnRow>,
    queue: Option<QueueView>,
}

impl HomePage {
    fn new(
        tr: Tr,
        chrome: Chrome,
        me: &StaffMember,
        home: EngineerHome,
        now: DateTime<Utc>,
    ) -> Self {
        let rows = |list: &[AccessRequest]| list.iter().map(|r| OwnRow::new(&tr, r, now)).collect();
        Self {
            role_key: me.role.label_key(),
            email: me.email.clone(),
            open: rows(&home.open),
            windows: rows(&home.windows),
            queue: home.queue.map(|q| QueueView {
                count: q.count,
                oldest: q
                    .oldest
                    .as_ref()
                    .map(|r| RequestView::new(&tr, r, now, Viewer::Provider)),
            }),
            chrome,
            tr,
        }
    }
}

pub(super) async fn home(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(member): SignedInStaff,
) -> Result<HttpResponse, AppError> {
    let caller = Caller::staff(&member);
    let now = state.clock.now();
    let cards = db::blocking(&state.pool, move |conn| {
        home::engineer_home(conn, &caller, now)
    })
    .await?;
    render(&HomePage::new(
        tr,
        chrome(&req, &member)?,
        &member,
        cards,
        now,
    ))
}
