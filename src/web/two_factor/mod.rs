//! Two-factor sign-in in both portals: the second step after the password
//! (a code, or enrolling when the rule requires it and there is no
//! authenticator yet), *Account › Two-factor sign-in* (enrol, replace,
//! remove), and [`step_up`]: a fresh code before sensitive actions. The
//! rules are [`crate::auth::totp`]'s; what differs between the portals is
//! the [`TwoFactorPortal`] of the principal.

pub mod account;
pub mod enrol;
pub mod step_up;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, http::header, web};
use askama::Template;
use uuid::Uuid;

use super::{
    AppState,
    chrome::Chrome,
    client_ip,
    error::AppError,
    forms::{CsrfForm, PortalSession, SecondStep},
    render_status,
    request_pages::RequestPortal,
    see_other,
};
use crate::{
    auth::{
        throttle::Refusal,
        totp::{
            Holder, Standing,
            store::{self, Attempt, Checked, During},
        },
    },
    config::Settings,
    db::{self, DbError},
    i18n::Tr,
};

/// What the two-factor pages need to know about a portal's principal.
pub trait TwoFactorPortal: RequestPortal {
    /// The frame of a page for someone not (yet) fully signed in.
    fn bare_chrome(req: &HttpRequest) -> Result<Chrome, AppError>;
    /// The principal as the second-factor rules see them.
    fn holder(&self, settings: &Settings) -> Holder;
    /// The account's name in the authenticator app.
    fn label(&self) -> String;
}

/// Where *Account › Two-factor sign-in* lives in both portals.
pub const ACCOUNT: &str = "/account/two-factor";

/// Registers the second step of sign-in and the account pages of `P`'s portal.
pub fn routes<P: TwoFactorPortal>(cfg: &mut web::ServiceConfig) {
    cfg.route("/signin/code", web::get().to(code_form::<P>))
        .route("/signin/code", web::post().to(code_submit::<P>))
        .route("/signin/enrol", web::get().to(enrol::half_form::<P>))
        .route("/signin/enrol", web::post().to(enrol::half_submit::<P>))
        .configure(account::routes::<P>)
        .configure(super::mail_language::routes::<P>)
        .configure(super::time_zone::routes::<P>);
}

/// Where `holder` stands, on a pooled connection.
pub async fn standing(state: &AppState, holder: &Holder) -> Result<Standing, AppError> {
    let holder = holder.clone();
    db::blocking(&state.pool, move |conn| {
        store::standing(conn, &holder).map_err(DbError::from)
    })
    .await
    .map_err(AppError::from)
}

/// Runs `judge` on `code` typed now from the request's address (what
/// throttling counts), on a pooled connection.
async fn attempt(
    req: &HttpRequest,
    state: &AppState,
    code: &str,
    during: During,
    judge: impl FnOnce(
        &mut diesel::PgConnection,
        &crate::auth::totp::Sealer,
        &Attempt<'_>,
    ) -> diesel::QueryResult<Checked>
    + Send
    + 'static,
) -> Result<Checked, AppError> {
    let code = code.to_owned();
    let ip = client_ip(req, &state.settings.trusted_proxies);
    let (sealer, now) = (state.sealer.clone(), state.clock.now());
    db::blocking(&state.pool, move |conn| {
        let attempt = Attempt {
            code: &code,
            ip,
            now,
            during,
        };
        judge(conn, &sealer, &attempt).map_err(DbError::from)
    })
    .await
    .map_err(AppError::from)
}

/// Checks `code` for `holder`'s authenticator, counted by throttling.
pub async fn check(
    req: &HttpRequest,
    state: &AppState,
    holder: &Holder,
    code: &str,
    during: During,
) -> Result<Checked, AppError> {
    let holder = holder.clone();
    attempt(req, state, code, during, move |conn, sealer, a| {
        store::verify(conn, sealer, &holder, a)
    })
    .await
}

/// Confirms an enrolment of `secret` with `code` (counted like [`check`]).
pub async fn confirm_enrolment(
    req: &HttpRequest,
    state: &AppState,
    holder: &Holder,
    secret: Vec<u8>,
    code: &str,
    may_replace: bool,
) -> Result<Checked, AppError> {
    let holder = holder.clone();
    attempt(
        req,
        state,
        code,
        During::Enrolment,
        move |conn, sealer, a| store::confirm(conn, sealer, &holder, &secret, a, may_replace),
    )
    .await
}

/// The message and status of a code that was not accepted.
pub fn refusal(
    tr: &Tr,
    checked: &Checked,
    now: chrono::DateTime<chrono::Utc>,
) -> (String, StatusCode, Option<i64>) {
    match checked {
        Checked::Malformed => (tr.t("code-malformed"), StatusCode::BAD_REQUEST, None),
        Checked::Replayed => (tr.t("code-replayed"), StatusCode::UNAUTHORIZED, None),
        Checked::NotEnrolled => (tr.t("code-not-enrolled"), StatusCode::CONFLICT, None),
        Checked::AlreadyEnrolled => (tr.t("code-not-enrolled"), StatusCode::CONFLICT, None),
        Checked::Throttled(refusal) => {
            let key = match refusal {
                Refusal::SlowedDown { .. } => "signin-slowed",
                _ => "code-throttled",
            };
            let wait = (refusal.until() - now).num_seconds().max(1);
            (tr.t(key), StatusCode::TOO_MANY_REQUESTS, Some(wait))
        }
        Checked::Wrong | Checked::Accepted { .. } | Checked::Enrolled { .. } => {
            (tr.t("code-wrong"), StatusCode::UNAUTHORIZED, None)
        }
    }
}

/// A response with `Retry-After` when throttling asked for a wait.
pub fn with_retry_after(mut response: HttpResponse, wait: Option<i64>) -> HttpResponse {
    if let Some(wait) = wait {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
    }
    response
}

/// After a right password: signed in, or half signed in with a second step
/// to take (a code if they have an authenticator; enrolment if the rule
/// requires one and they have none).
pub async fn after_password<P: TwoFactorPortal>(
    req: &HttpRequest,
    state: &AppState,
    id: Uuid,
) -> Result<HttpResponse, AppError> {
    let found = db::blocking(&state.pool, move |conn| {
        P::load(conn, id).map_err(DbError::from)
    })
    .await?;
    let Some(me) = found else {
        return Ok(see_other("/signin"));
    };
    let standing = standing(state, &me.holder(&state.settings)).await?;
    let session = PortalSession::from_request(req);
    let since = state.clock.now().timestamp();
    if standing.enrolled() {
        session.begin_second_step(&SecondStep {
            id,
            since,
            enrol: false,
        })?;
        Ok(see_other("/signin/code"))
    } else if standing.required {
        session.begin_second_step(&SecondStep {
            id,
            since,
            enrol: true,
        })?;
        Ok(see_other("/signin/enrol"))
    } else {
        session.sign_in(id)?;
        Ok(see_other("/"))
    }
}

#[derive(Template)]
#[template(path = "two_factor/code.html")]
struct CodePage {
    tr: Tr,
    chrome: Chrome,
    error: Option<String>,
    /// The half-signed-in session has run out: only "sign in again".
    expired: bool,
}

#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// The open second step of the session, or where to go instead.
fn open_step(
    session: &PortalSession,
    now: chrono::DateTime<chrono::Utc>,
    enrol: bool,
) -> Result<Result<SecondStep, Option<&'static str>>, AppError> {
    Ok(match session.second_step()? {
        None => Err(Some("/signin")),
        Some(step) if !step.open_at(now) => {
            session.end_second_step();
            Err(None)
        }
        Some(step) if step.enrol != enrol => Err(Some(if step.enrol {
            "/signin/enrol"
        } else {
            "/signin/code"
        })),
        Some(step) => Ok(step),
    })
}

fn expired_page<P: TwoFactorPortal>(req: &HttpRequest, tr: Tr) -> Result<HttpResponse, AppError> {
    let error = Some(tr.t("second-step-expired"));
    let page = CodePage {
        chrome: P::bare_chrome(req)?,
        error,
        expired: true,
        tr,
    };
    render_status(StatusCode::UNAUTHORIZED, &page)
}

/// `GET /signin/code`: the second step's form.
async fn code_form<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let session = PortalSession::from_request(&req);
    match open_step(&session, state.clock.now(), false)? {
        Ok(_) => {
            let page = CodePage {
                chrome: P::bare_chrome(&req)?,
                error: None,
                expired: false,
                tr,
            };
            render_status(StatusCode::OK, &page)
        }
        Err(Some(elsewhere)) => Ok(see_other(elsewhere)),
        Err(None) => expired_page::<P>(&req, tr),
    }
}

/// `POST /signin/code`: a code of the authenticator, or a recovery code.
async fn code_submit<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let session = PortalSession::from_request(&req);
    let now = state.clock.now();
    let step = match open_step(&session, now, false)? {
        Ok(step) => step,
        Err(Some(elsewhere)) => return Ok(see_other(elsewhere)),
        Err(None) => return expired_page::<P>(&req, tr),
    };
    let id = step.id;
    let found = db::blocking(&state.pool, move |conn| {
        P::load(conn, id).map_err(DbError::from)
    })
    .await?;
    let Some(me) = found else {
        session.end_second_step();
        return Ok(see_other("/signin"));
    };
    let holder = me.holder(&state.settings);
    let checked = check(&req, &state, &holder, &form.code, During::SignIn).await?;
    if let Checked::Accepted { recovery_left } = checked {
        session.sign_in(id)?;
        session.second_factor_confirmed(now)?;
        return Ok(match recovery_left {
            Some(left) => {
                let message = tr.t1("flash-recovery-code-used", "left", &left.to_string());
                session.set_flash(&message)?;
                see_other(ACCOUNT)
            }
            None => see_other("/"),
        });
    }
    let (message, status, wait) = refusal(&tr, &checked, now);
    let page = CodePage {
        chrome: P::bare_chrome(&req)?,
        error: Some(message),
        expired: false,
        tr,
    };
    Ok(with_retry_after(render_status(status, &page)?, wait))
}
