//! The admin center's home: for global administrators and approvers, the
//! cards of [`requests::home::customer_home`] (what waits for them, what is
//! open now, the switch, the audit chain, the weekly chart); for a user
//! without a Customer Lockbox role, the "no access" page with the service
//! requests they opened.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::{DateTime, Utc};

use super::{SignedInUser, chrome};
use crate::{
    audit::overview::ChainStatus,
    db,
    i18n::Tr,
    requests::{
        Caller,
        home::{self, CustomerHome},
        tickets::Ticket,
    },
    tenants::TenantUser,
    web::{
        AppState,
        chrome::Chrome,
        error::AppError,
        forms::SignedIn,
        render, render_status,
        view::{RequestView, Viewer, time_left},
    },
};

mod chart;

use chart::Chart;

/// Where the request list and a request's page are.
const REQUESTS: &str = "/support/lockbox/requests";

/// A request waiting for the customer, as its card shows it.
struct WaitingRow {
    r: RequestView,
    time_left: String,
    /// "1 of 2 approvals" when the quorum is over one.
    approvals: Option<String>,
}

/// An open access window with the operator actions under it so far.
struct WindowRow {
    r: RequestView,
    time_left: String,
    actions: i64,
    /// The newest actions: (activity, when).
    newest: Vec<(String, String)>,
}

/// The audit card: the chain head and the newest checkpoint.
struct ChainView {
    records: i64,
    hash: Option<String>,
    pending: i64,
    /// (seq, signed at, head hash) of the newest checkpoint.
    checkpoint: Option<(i64, String, String)>,
}

impl ChainView {
    fn new(tr: &Tr, c: &ChainStatus) -> Self {
        Self {
            records: c.head.count,
            hash: c.head.hash.clone(),
            pending: c.head.pending,
            checkpoint: c.checkpoint.as_ref().map(|cp| {
                (
                    cp.seq,
                    tr.fmt_time(cp.created_at),
                    crate::digest::hex(&cp.head_hash),
                )
            }),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    tr: Tr,
    chrome: Chrome,
    role_key: &'static str,
    /// Only global administrators change the switch.
    may_configure: bool,
    lockbox_enabled: bool,
    waiting: i64,
    soonest: Vec<WaitingRow>,
    open_windows: i64,
    windows: Vec<WindowRow>,
    chain: ChainView,
    chart: Chart,
    base: &'static str,
}

impl HomePage {
    fn new(
        tr: Tr,
        chrome: Chrome,
        user: &TenantUser,
        home: CustomerHome,
        now: DateTime<Utc>,
    ) -> Self {
        let soonest = home
            .soonest
            .iter()
            .map(|r| {
                let view = RequestView::new(&tr, r, now, Viewer::Customer);
                WaitingRow {
                    time_left: r
                        .expires_at
                        .map(|end| time_left(now, end))
                        .unwrap_or_default(),
                    approvals: view.quorum.as_ref().map(|q| q.count(&tr)),
                    r: view,
                }
            })
            .collect();
        let windows = home
            .windows
            .iter()
            .map(|(r, done)| WindowRow {
                r: RequestView::new(&tr, r, now, Viewer::Customer),
                time_left: r.ends_at.map(|end| time_left(now, end)).unwrap_or_default(),
                actions: done.count,
                newest: done
                    .newest
                    .iter()
                    .map(|(activity, at)| (activity.clone(), tr.fmt_time(*at)))
                    .collect(),
            })
            .collect();
        Self {
            chart: Chart::new(&tr, &home.weeks),
            chain: ChainView::new(&tr, &home.chain),
            role_key: user.role.label_key(),
            may_configure: user.role.may_configure(),
            lockbox_enabled: home.lockbox_enabled,
            waiting: home.waiting,
            soonest,
            open_windows: home.open_windows,
            windows,
            base: REQUESTS,
            chrome,
            tr,
        }
    }
}

/// A service request of the "no access" page.
struct TicketRow {
    number: String,
    title: String,
    opened_at: String,
}

impl TicketRow {
    fn new(tr: &Tr, t: &Ticket) -> Self {
        Self {
            number: t.number.clone(),
            title: t.title.clone(),
            opened_at: tr.fmt_time(t.opened_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/no_access.html")]
struct NoAccessPage {
    tr: Tr,
    chrome: Chrome,
    tickets: Vec<TicketRow>,
}

pub(super) async fn home(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(user): SignedInUser,
) -> Result<HttpResponse, AppError> {
    let caller = Caller::customer(&user);
    let chrome = chrome(&req, &user)?;
    if !user.role.can_use_lockbox() {
        // Lockbox pages stay closed (403), but the page shows what is
        // theirs: the service requests they opened.
        let tickets =
            db::blocking(&state.pool, move |conn| home::open_tickets(conn, &caller)).await?;
        let tickets = tickets.iter().map(|t| TicketRow::new(&tr, t)).collect();
        return render_status(
            StatusCode::FORBIDDEN,
            &NoAccessPage {
                tr,
                chrome,
                tickets,
            },
        );
    }
    let now = state.clock.now();
    let cards = db::blocking(&state.pool, move |conn| {
        home::customer_home(conn, &caller, now)
    })
    .await?;
    render(&HomePage::new(tr, chrome, &user, cards, now))
}
