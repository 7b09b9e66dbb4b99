//! A request's detail page, its confirmation step and the decision POST,
//! once for both portals. What differs between the admin center and the
//! engineer portal (where the pages live, how the other realm is named,
//! the wording) is the [`RequestPortal`] of the signed-in principal; who may
//! see and do what is the requests domain's.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    AppState,
    chrome::Chrome,
    client_ip,
    confirm::{ConfirmPage, DecisionForm},
    error::AppError,
    forms::{CsrfForm, PortalSession, Principal, SignedIn},
    render, render_status, see_other,
    two_factor::{
        TwoFactorPortal,
        step_up::{self, WithCode},
    },
    view::{RequestView, TimelineView, Viewer, refusal_message, refusal_status, timeline_view},
};
use crate::{
    audit,
    db::{self, DbError},
    i18n::Tr,
    identity::RequestId,
    requests::{self, AccessRequest, Action, Caller, Comment, Offers, RequestError, use_cases},
};

pub mod information;

/// What a portal's request pages need to know about its principal; the
/// wording follows from [`Viewer`], the rules from the domain.
pub trait RequestPortal: Principal {
    /// Where the portal's request pages live.
    const BASE: &'static str;
    /// Which realm is looking.
    const VIEWER: Viewer;

    /// The principal as the domain sees it.
    fn caller(&self) -> Caller;
    /// The page frame.
    fn chrome(&self, req: &HttpRequest) -> Result<Chrome, AppError>;
    /// Lets the principal use the request pages at all.
    fn admit(self) -> Result<Self, AppError> {
        Ok(self)
    }
}

/// Registers the detail, confirmation and decision routes of `P`'s portal,
/// after its downloads ([`super::receipts`]), in one scope under its base:
/// a page elsewhere is told apart by that prefix, not by trying each of
/// these patterns (regular expressions, run by the router and again for the
/// log's route; issue 20). Register the base's own page and anything else
/// under it before this.
pub fn routes<P: TwoFactorPortal>(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(P::BASE)
            .configure(super::receipts::routes::<P>)
            .configure(information::routes::<P>)
            .route("/{id}", web::get().to(detail::<P>))
            .route("/{id}/{action}", web::get().to(confirm::<P>))
            .route("/{id}/{action}", web::post().to(decide::<P>))
            .default_service(web::to(super::not_found)),
    );
}

/// A decision's link on the detail page.
pub struct ActionLink {
    pub slug: &'static str,
    pub label_key: String,
    pub primary: bool,
}

/// What provider operators did (or tried) under a request.
pub struct OperatorAction {
    pub at: String,
    pub activity: String,
    pub staff: String,
    pub ip: String,
    pub details: String,
    pub record_id: i64,
}

#[derive(Template)]
#[template(path = "requests/detail.html")]
pub struct DetailPage {
    tr: Tr,
    chrome: Chrome,
    base: &'static str,
    breadcrumb: bool,
    request: RequestView,
    timeline: Vec<TimelineView>,
    offers: Offers,
    actions: Vec<ActionLink>,
    flash: Option<String>,
    alert: Option<String>,
    /// `None` where the portal does not show them.
    operator_actions: Option<Vec<OperatorAction>>,
    /// The query string of the next page of operator actions.
    operator_actions_next: Option<String>,
    /// The signed receipts of the customer's decisions.
    receipts: Vec<ReceiptRow>,
    /// Whether the evidence pack can be downloaded (closed, admin center).
    evidence: bool,
    /// Asking for or giving more information ([`information`]).
    information: information::InformationBox,
}

/// A decision's signed receipt on the detail page.
pub struct ReceiptRow {
    pub record: i64,
    pub decision: String,
    pub by: String,
    pub at: String,
    pub key_id: String,
}

/// Rows per page of the operator actions.
const OPERATOR_ACTIONS_PAGE: i64 = 50;

/// `?ops_after=` of a detail page: where the previous page of operator
/// actions ended.
#[derive(Debug, Default, serde::Deserialize)]
struct DetailQuery {
    #[serde(default)]
    ops_after: String,
}

pub(super) async fn detail_page<P: RequestPortal>(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &P,
    request: &AccessRequest,
    alert: Option<String>,
    ops_after: Option<audit::search::Cursor>,
) -> Result<DetailPage, AppError> {
    let (id, tenant) = (request.id, request.tenant_id);
    let ticket_id = request.ticket_id;
    let (entries, records, receipts, (ticket, questions)) =
        db::blocking(&state.pool, move |conn| {
            // The customer sees what operators did under their approval.
            let records = if P::VIEWER == Viewer::Customer {
                Some(crate::content::operator_actions(
                    conn,
                    tenant,
                    id,
                    ops_after,
                    OPERATOR_ACTIONS_PAGE,
                )?)
            } else {
                None
            };
            let receipts = audit::receipt::for_request(conn, tenant, id)?;
            let ticket = match ticket_id {
                Some(t) => requests::tickets::queries::by_id(conn, t)?,
                None => None,
            };
            let (timeline, entries) = requests::information::timeline_and_entries(conn, id)?;
            let extra = (ticket, entries);
            Ok::<_, DbError>((timeline, records, receipts, extra))
        })
        .await?;
    let (records, ops_next) = match records {
        Some((rows, next)) => (Some(rows), next),
        None => (None, None),
    };
    let now = state.clock.now();
    let offers = use_cases::offers(&me.caller(), request, now, &state.policy());
    let information =
        information::InformationBox::new::<P>(&me.caller(), request, now, &offers, &questions);
    let mut view = RequestView::new(&tr, request, now, P::VIEWER);
    view.ticket = ticket.map(|t| super::view::TicketFacts::new(&tr, &t, P::VIEWER));
    Ok(DetailPage {
        information,
        timeline: timeline_view(&tr, &entries, &request.tenant_name, P::VIEWER),
        actions: offers
            .actions
            .iter()
            .map(|&a| ActionLink {
                slug: a.slug(),
                label_key: P::VIEWER.action_label(a),
                primary: a == Action::Approve,
            })
            .collect(),
        offers,
        operator_actions_next: ops_next.map(|c| format!("ops_after={}", c.encode())),
        operator_actions: records.map(|records| {
            records
                .iter()
                .map(|r| OperatorAction {
                    at: tr.fmt_time(r.occurred_at),
                    activity: r.activity.clone(),
                    staff: format!("{} ({})", r.actor_name, r.actor_id),
                    ip: r.ip.clone(),
                    details: r.parameters.to_string(),
                    record_id: r.id,
                })
                .collect()
        }),
        receipts: receipts
            .iter()
            .map(|r| ReceiptRow {
                record: r.audit_record,
                // The receipt signs the English word; the page says it in
                // the reader's language.
                decision: tr.t(&format!("receipt-decision-{}", r.decision.to_lowercase())),
                by: r.approver_name.clone(),
                at: tr.fmt_time(r.decided_at),
                key_id: r.key_id.clone(),
            })
            .collect(),
        evidence: P::VIEWER == Viewer::Customer && request.effective(now).is_final(),
        chrome: me.chrome(req)?,
        base: P::BASE,
        breadcrumb: P::VIEWER == Viewer::Customer,
        request: view,
        flash: PortalSession::from_request(req).take_flash(),
        alert,
        tr,
    })
}

/// The request `use_case` finds for the principal, on a pooled connection.
async fn load<P, F>(state: &AppState, me: &P, use_case: F) -> Result<AccessRequest, AppError>
where
    P: RequestPortal,
    F: FnOnce(&mut diesel::PgConnection, &Caller) -> Result<AccessRequest, RequestError>
        + Send
        + 'static,
{
    let caller = me.caller();
    db::blocking(&state.pool, move |conn| {
        use_case(conn, &caller).map_err(AppError::from)
    })
    .await
}

async fn detail<P: RequestPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    path: web::Path<RequestId>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, AppError> {
    let me = me.admit()?;
    let ops_after = match query.ops_after.trim() {
        "" => None,
        raw => Some(audit::search::Cursor::decode(raw).ok_or(AppError::BadRequest("page".into()))?),
    };
    let id = path.into_inner();
    let request = load(&state, &me, move |c, who| use_cases::visible(c, who, id)).await?;
    render(&detail_page(&req, tr, &state, &me, &request, None, ops_after).await?)
}

fn confirm_page<P: RequestPortal>(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &P,
    request: &AccessRequest,
    action: Action,
) -> Result<ConfirmPage, AppError> {
    Ok(ConfirmPage::new(
        tr,
        me.chrome(req)?,
        RequestView::new(&tr, request, state.clock.now(), P::VIEWER),
        format!("{}-{}", P::VIEWER.confirm_prefix(), action.slug()),
        format!("{}/{}", P::BASE, request.id),
        action.slug(),
    ))
}

/// The action in the path and the request it is for, if the caller may
/// take it on that request: unknown actions and invisible requests are
/// 404, actions the caller's role does not allow 403.
async fn prepare<P: RequestPortal>(
    state: &AppState,
    me: &P,
    (id, slug): (RequestId, String),
) -> Result<(Action, AccessRequest), AppError> {
    let action = Action::parse(&slug).ok_or(AppError::NotFound)?;
    let request = load(state, me, move |c, who| {
        use_cases::for_decision(c, who, id, action)
    })
    .await?;
    Ok((action, request))
}

async fn confirm<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    path: web::Path<(RequestId, String)>,
) -> Result<HttpResponse, AppError> {
    let me = me.admit()?;
    let (action, request) = prepare(&state, &me, path.into_inner()).await?;
    let mut page = confirm_page(&req, tr, &state, &me, &request, action)?;
    page.step_up = step_up::ask(&req, &state, &me).await?;
    render(&page)
}

async fn decide<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    path: web::Path<(RequestId, String)>,
    CsrfForm(WithCode {
        form,
        second_factor_code,
    }): CsrfForm<WithCode<DecisionForm>>,
) -> Result<HttpResponse, AppError> {
    let me = me.admit()?;
    let (action, request) = prepare(&state, &me, path.into_inner()).await?;
    // A decision is confirmed with a second factor (step-up); the form
    // comes back with the code field when it was not.
    let second_factor = match step_up::confirm(&req, &tr, &state, &me, &second_factor_code).await? {
        Ok(confirmed) => confirmed,
        Err((step_up, status)) => {
            return confirm_page(&req, tr, &state, &me, &request, action)?.refuse_step_up(
                form.comment,
                step_up,
                status,
            );
        }
    };
    let comment = match Comment::parse(&form.comment) {
        Ok(c) => c,
        Err(key) => {
            return confirm_page(&req, tr, &state, &me, &request, action)?
                .refuse_comment(form.comment, key);
        }
    };
    let id = request.id;
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let (clock, policy, signer) = (state.clock.clone(), state.policy(), state.signer());
    let caller = if second_factor {
        me.caller().with_second_factor()
    } else {
        me.caller()
    };
    let result = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(requests::decide_as(
            conn, &caller, id, action, comment, &ip, &*clock, &policy, signer,
        ))
    })
    .await?;
    match result {
        Ok(updated) => {
            let ends = updated
                .ends_at
                .map(|at| tr.fmt_time(at))
                .unwrap_or_default();
            let message = tr.t_args(
                &P::VIEWER.flash_key(action, updated.status),
                &[("id", &id.to_string()), ("at", &ends)],
            );
            PortalSession::from_request(&req).set_flash(&message)?;
            Ok(see_other(&format!("{}/{id}", P::BASE)))
        }
        Err(RequestError::Refused(refused)) => {
            let message = refusal_message(&tr, &refused, P::VIEWER);
            let page =
                detail_page(&req, tr, &state, &me, &refused.request, Some(message), None).await?;
            render_status(refusal_status(refused.refusal), &page)
        }
        Err(e) => Err(e.into()),
    }
}
