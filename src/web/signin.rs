//! The sign-in page both portals share (the admin center also asks for the
//! organisation), and the answer to each sign-in outcome.

use actix_web::{
    HttpRequest, HttpResponse,
    dev::ServiceRequest,
    http::{Method, StatusCode, header},
};
use askama::Template;

use super::{chrome::Chrome, render, render_status, see_other};
use crate::{
    auth::{SignInOutcome, throttle::Refusal},
    i18n::Tr,
    web::{error::AppError, forms::PortalSession},
};

/// A submission of either portal's sign-in form (the password, the second
/// step's code, the enrolment's first code) or of a code on the account's
/// two-factor pages: what the per-address rate limit
/// ([`super::rate_limit`]) is put in front of. Judged by the path as the
/// router matches it (percent-decoded), so `/%73ignin` is no way round.
pub fn is_submission(req: &ServiceRequest) -> bool {
    let path = req.match_info().as_str();
    req.method() == Method::POST
        && (matches!(path, "/signin" | "/signin/code" | "/signin/enrol")
            || path.starts_with("/account/two-factor"))
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    pub tr: Tr,
    pub chrome: Chrome,
    pub intro_key: &'static str,
    pub ask_organization: bool,
    pub organization: String,
    pub email: String,
    pub error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

impl SignInPage {
    pub fn new(tr: Tr, chrome: Chrome, intro_key: &'static str, ask_organization: bool) -> Self {
        Self {
            tr,
            chrome,
            intro_key,
            ask_organization,
            organization: String::new(),
            email: String::new(),
            error: None,
        }
    }

    /// Re-renders the form with what was typed (never the password) and an
    /// error.
    pub fn refuse(
        mut self,
        form: &SignInForm,
        status: StatusCode,
        error_key: &str,
    ) -> Result<HttpResponse, AppError> {
        self.organization = form.organization.clone();
        self.email = form.email.clone();
        self.error = Some(self.tr.t(error_key));
        render_status(status, &self)
    }

    pub fn show(self) -> Result<HttpResponse, AppError> {
        render(&self)
    }
}

/// `GET /signin`: the form, or home for someone already signed in.
pub fn form_unless_signed_in(
    req: &HttpRequest,
    page: impl FnOnce() -> Result<SignInPage, AppError>,
) -> Result<HttpResponse, AppError> {
    if PortalSession::from_request(req).principal()?.is_some() {
        return Ok(see_other("/"));
    }
    page()?.show()
}

/// `POST /signout` of either portal: the session ends on the server.
pub async fn sign_out(
    req: HttpRequest,
    _form: super::forms::CsrfForm<serde::de::IgnoredAny>,
) -> HttpResponse {
    PortalSession::from_request(&req).sign_out();
    see_other("/signin")
}

/// Turns an outcome into a response: on success a fresh session, signed
/// in or half signed in with a second step to take
/// ([`super::two_factor::after_password`]); the form again otherwise (a
/// refusal by throttling says with `Retry-After` how long it lasts).
pub async fn answer<P: super::two_factor::TwoFactorPortal>(
    req: &HttpRequest,
    state: &super::AppState,
    page: SignInPage,
    form: &SignInForm,
    outcome: SignInOutcome,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    match outcome {
        SignInOutcome::Success(id) => {
            // Mail follows the language the person last used (issue 18).
            remember_language(
                state,
                realm_of::<P>(),
                id,
                crate::i18n::Lang::from_request(req),
            )
            .await?;
            super::two_factor::after_password::<P>(req, state, id).await
        }
        SignInOutcome::Invalid => page.refuse(form, StatusCode::UNAUTHORIZED, "signin-invalid"),
        SignInOutcome::Throttled(refusal) => {
            let error_key = match refusal {
                Refusal::SlowedDown { .. } => "signin-slowed",
                Refusal::PairLockedOut { .. } | Refusal::NetworkLockedOut { .. } => {
                    "signin-throttled"
                }
            };
            let wait = (refusal.until() - now).num_seconds().max(1);
            let mut response = page.refuse(form, StatusCode::TOO_MANY_REQUESTS, error_key)?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
            Ok(response)
        }
    }
}

/// The language-preference realm of a portal.
pub fn realm_of<P: super::request_pages::RequestPortal>() -> &'static str {
    match P::VIEWER {
        super::view::Viewer::Customer => crate::notify::language::ADMIN,
        super::view::Viewer::Provider => crate::notify::language::ENGINEER,
    }
}

/// The language-preference realm of a signed-in principal's realm.
pub fn language_realm(realm: crate::auth::Realm) -> &'static str {
    match realm {
        crate::auth::Realm::Admin => crate::notify::language::ADMIN,
        crate::auth::Realm::Engineer => crate::notify::language::ENGINEER,
    }
}

/// Records `lang` as the account's mail language.
pub async fn remember_language(
    state: &super::AppState,
    realm: &'static str,
    id: uuid::Uuid,
    lang: crate::i18n::Lang,
) -> Result<(), AppError> {
    let now = state.clock.now();
    crate::db::blocking(&state.pool, move |conn| {
        crate::notify::language::set(conn, realm, id, lang, now).map_err(crate::db::DbError::from)
    })
    .await?;
    Ok(())
}
