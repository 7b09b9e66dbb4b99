//! *Account › Two-factor sign-in*: whether the signed-in person has an
//! authenticator, how many recovery codes are left, and — after a current
//! code — replacing or removing it.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{
    ACCOUNT, CodeForm, TwoFactorPortal, check, enrol, refusal, standing, with_retry_after,
};
use crate::{
    auth::totp::{
        Standing,
        record::Event,
        store::{self, Checked, During},
    },
    db::{self, DbError},
    i18n::Tr,
    web::{
        AppState,
        chrome::Chrome,
        client_ip,
        error::AppError,
        forms::{CsrfForm, PortalSession, SignedIn},
        render_status, see_other,
    },
};

pub fn routes<P: TwoFactorPortal>(cfg: &mut web::ServiceConfig) {
    cfg.route(ACCOUNT, web::get().to(show::<P>))
        .route(
            "/account/two-factor/enrol",
            web::get().to(enrol::account_form::<P>),
        )
        .route(
            "/account/two-factor/enrol",
            web::post().to(enrol::account_submit::<P>),
        )
        .route("/account/two-factor/replace", web::post().to(replace::<P>))
        .route("/account/two-factor/remove", web::post().to(remove::<P>));
}

#[derive(Template)]
#[template(path = "two_factor/account.html")]
struct AccountPage {
    tr: Tr,
    chrome: Chrome,
    standing: Standing,
    /// A replacement is under way in this session.
    pending: bool,
    enrolled_at: String,
    flash: Option<String>,
    error: Option<String>,
}

fn page<P: TwoFactorPortal>(
    req: &HttpRequest,
    tr: Tr,
    me: &P,
    standing: Standing,
    error: Option<String>,
) -> Result<AccountPage, AppError> {
    Ok(AccountPage {
        chrome: me.chrome(req)?,
        enrolled_at: standing
            .enrolled_at
            .map(|at| tr.fmt_time(at))
            .unwrap_or_default(),
        pending: PortalSession::from_request(req).enrolling()?.is_some(),
        standing,
        flash: PortalSession::from_request(req).take_flash(),
        error,
        tr,
    })
}

async fn show<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
) -> Result<HttpResponse, AppError> {
    let standing = standing(&state, &me.holder(&state.settings)).await?;
    render_status(StatusCode::OK, &page(&req, tr, &me, standing, None)?)
}

/// Checks a current code of the signed-in person's authenticator: `Ok`
/// when it was right (the session's step-up renewed), the page again with
/// why not otherwise.
async fn current_code<P: TwoFactorPortal>(
    req: &HttpRequest,
    tr: &Tr,
    state: &AppState,
    me: &P,
    code: &str,
) -> Result<Result<(), HttpResponse>, AppError> {
    let holder = me.holder(&state.settings);
    let checked = check(req, state, &holder, code, During::StepUp).await?;
    let now = state.clock.now();
    if let Checked::Accepted { .. } = checked {
        PortalSession::from_request(req).second_factor_confirmed(now)?;
        return Ok(Ok(()));
    }
    let (message, status, wait) = refusal(tr, &checked, now);
    let standing = standing(state, &holder).await?;
    let again = page(req, *tr, me, standing, Some(message))?;
    Ok(Err(with_retry_after(render_status(status, &again)?, wait)))
}

/// `POST /account/two-factor/replace`: after a current code, a new
/// enrolment (the old authenticator works until the new one is confirmed).
async fn replace<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    if let Err(again) = current_code(&req, &tr, &state, &me, &form.code).await? {
        return Ok(again);
    }
    let holder = me.holder(&state.settings);
    let session = PortalSession::from_request(&req);
    // A new secret, not one shown before the code was entered.
    session.end_enrolling();
    enrol::pending_secret(&session, &state.sealer, &holder)?;
    Ok(see_other("/account/two-factor/enrol"))
}

/// `POST /account/two-factor/remove`: after a current code, the
/// authenticator and its recovery codes are gone — unless the rule
/// requires one (then it can only be replaced).
async fn remove<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let holder = me.holder(&state.settings);
    let standing = standing(&state, &holder).await?;
    if standing.required {
        let message = Some(tr.t("two-factor-remove-required"));
        return render_status(
            StatusCode::CONFLICT,
            &page(&req, tr, &me, standing, message)?,
        );
    }
    if let Err(again) = current_code(&req, &tr, &state, &me, &form.code).await? {
        return Ok(again);
    }
    let ip = client_ip(&req, &state.settings.trusted_proxies).to_string();
    let now = state.clock.now();
    db::blocking(&state.pool, move |conn| {
        store::remove(conn, &holder, Event::Removed, &ip, now).map_err(DbError::from)
    })
    .await?;
    PortalSession::from_request(&req).set_flash(&tr.t("flash-two-factor-removed"))?;
    Ok(see_other(ACCOUNT))
}
