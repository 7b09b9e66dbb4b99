//! "More information" on a request's detail page: the customer's approvers
//! ask the engineer a question, the engineer answers, both through one
//! POST, `<base>/{id}/information`, whose meaning follows from the portal.
//! The rules (who may ask, when, who answers) are
//! [`crate::requests::information`]'s.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};

use super::{DetailPage, RequestPortal, detail_page};
use crate::{
    db,
    i18n::Tr,
    identity::RequestId,
    requests::{
        AccessRequest, Action, Caller, Offers, RequestError, Status,
        information::{self, InformationEntry, InformationText},
    },
    web::{
        AppState, client_ip,
        error::AppError,
        forms::{CsrfForm, PortalSession, SignedIn},
        render_status, see_other,
        view::{Viewer, refusal_message, refusal_status},
    },
};

/// Registers the form's POST, relative to the portal's base (inside the
/// request pages' scope).
pub fn routes<P: RequestPortal>(cfg: &mut web::ServiceConfig) {
    cfg.route("/{id}/information", web::post().to(submit::<P>));
}

/// The question or answer form of a detail page.
#[derive(Debug, Default)]
pub struct InformationBox {
    /// An approver may ask a question now.
    pub ask: bool,
    /// The engineer may answer this open question now.
    pub answer: Option<String>,
    /// What was typed, kept when it is refused.
    pub text: String,
    pub error: Option<String>,
}

impl InformationBox {
    pub fn new<P: RequestPortal>(
        caller: &Caller,
        request: &AccessRequest,
        now: DateTime<Utc>,
        offers: &Offers,
        entries: &[InformationEntry],
    ) -> Self {
        let pending = request.effective(now) == Status::PendingCustomer;
        let (ask, answer) = match P::VIEWER {
            // Offered approval means: a Customer Lockbox role, and pending.
            Viewer::Customer => (offers.actions.contains(&Action::Approve), None),
            Viewer::Provider => {
                let own = caller.staff_id() == Some(request.engineer_id);
                let open = information::open_question(entries).map(|q| q.body.clone());
                (false, open.filter(|_| own && pending))
            }
        };
        Self {
            ask,
            answer,
            ..Self::default()
        }
    }
}

/// What the form posts.
#[derive(serde::Deserialize)]
pub struct InformationForm {
    #[serde(default)]
    pub text: String,
}

async fn refused_page<P: RequestPortal>(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &P,
    request: &AccessRequest,
    text: String,
    error: String,
) -> Result<DetailPage, AppError> {
    let mut page = detail_page(req, tr, state, me, request, None, None).await?;
    page.information.text = text;
    page.information.error = Some(error);
    Ok(page)
}

async fn submit<P: RequestPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    path: web::Path<RequestId>,
    CsrfForm(form): CsrfForm<InformationForm>,
) -> Result<HttpResponse, AppError> {
    let me = me.admit()?;
    let id = path.into_inner();
    let caller = me.caller();
    let request = super::load(&state, &me, move |c, who| {
        crate::requests::use_cases::visible(c, who, id)
    })
    .await?;
    let text = match InformationText::parse(&form.text) {
        Ok(t) => t,
        Err(key) => {
            let page = refused_page(&req, tr, &state, &me, &request, form.text, tr.t(key)).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let clock = state.clock.clone();
    let result = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(match P::VIEWER {
            Viewer::Customer => information::ask(conn, &caller, id, &text, &ip, &*clock),
            Viewer::Provider => information::answer(conn, &caller, id, &text, &ip, &*clock),
        })
    })
    .await?;
    match result {
        Ok(_) => {
            let key = match P::VIEWER {
                Viewer::Customer => "flash-information-asked",
                Viewer::Provider => "flash-information-given",
            };
            PortalSession::from_request(&req).set_flash(&tr.t(key))?;
            Ok(see_other(&format!("{}/{id}", P::BASE)))
        }
        Err(RequestError::Refused(refused)) => {
            let message = refusal_message(&tr, &refused, P::VIEWER);
            let status = refusal_status(refused.refusal);
            let page =
                refused_page(&req, tr, &state, &me, &refused.request, form.text, message).await?;
            render_status(status, &page)
        }
        Err(e) => Err(e.into()),
    }
}
