//! The web layer's error type: every refusal and failure a handler can meet,
//! mapped once to a status code and a friendly page. Unexpected errors are
//! logged with their whole cause chain; the user sees a safe message.

use actix_web::{
    HttpResponse, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};
use askama::Template;

use crate::{
    db::DbError,
    i18n::{Lang, Tr},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// The CSRF token was missing or wrong.
    Csrf,
    /// An unsafe request came from another origin.
    CrossOrigin,
    /// A tenant user without a Customer Lockbox role.
    NeedsLockboxRole,
    /// The signed-in person's role does not allow this action.
    Role,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0:?}")]
    Forbidden(Forbidden),
    #[error("sign-in required")]
    SignInRequired,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error(transparent)]
    Db(#[from] DbError),
    /// The database cannot be reached (met outside a [`DbError`]).
    #[error("the database cannot be reached")]
    Unavailable,
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            other => AppError::Db(DbError::Query(other)),
        }
    }
}

/// Refusals are answered by the handlers (they re-render the page with the
/// reason); what reaches this conversion is a missing request or a failure.
impl From<crate::requests::RequestError> for AppError {
    fn from(e: crate::requests::RequestError) -> Self {
        use crate::requests::RequestError;
        match e {
            RequestError::NotFound | RequestError::UnknownAction => AppError::NotFound,
            RequestError::RoleForbids => AppError::Forbidden(Forbidden::Role),
            RequestError::Db(e) => e.into(),
            RequestError::Pool(e) => AppError::Db(e),
            other => AppError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl From<crate::tenants::TenantError> for AppError {
    fn from(e: crate::tenants::TenantError) -> Self {
        use crate::tenants::TenantError;
        match e {
            TenantError::NotAllowed => AppError::Forbidden(Forbidden::Role),
            TenantError::UnknownUser => AppError::NotFound,
            TenantError::Db(e) => e.into(),
            other => AppError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl From<actix_session::SessionGetError> for AppError {
    fn from(e: actix_session::SessionGetError) -> Self {
        AppError::Internal(anyhow::anyhow!("session read failed: {e}"))
    }
}

impl From<actix_session::SessionInsertError> for AppError {
    fn from(e: actix_session::SessionInsertError) -> Self {
        AppError::Internal(anyhow::anyhow!("session write failed: {e}"))
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    tr: Tr,
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl AppError {
    /// The translation keys of the title and message shown for this error.
    fn keys(&self) -> (&'static str, &'static str) {
        match self {
            AppError::NotFound => ("error-not-found-title", "error-not-found-message"),
            AppError::Forbidden(Forbidden::Csrf) => ("error-forbidden-title", "error-csrf-message"),
            AppError::Forbidden(Forbidden::CrossOrigin) => {
                ("error-forbidden-title", "error-cross-origin-message")
            }
            AppError::Forbidden(Forbidden::NeedsLockboxRole) => {
                ("error-no-access-title", "error-no-access-message")
            }
            AppError::Forbidden(Forbidden::Role) => ("error-forbidden-title", "error-role-message"),
            AppError::SignInRequired => ("error-forbidden-title", "error-signin-required"),
            AppError::BadRequest(_) => ("error-bad-request-title", "error-bad-request-message"),
            AppError::PayloadTooLarge => ("error-too-large-title", "error-too-large-message"),
            AppError::Unavailable => ("error-unavailable-title", "error-unavailable-message"),
            AppError::Db(e) if e.is_unavailable() => {
                ("error-unavailable-title", "error-unavailable-message")
            }
            AppError::Db(_) | AppError::Internal(_) => {
                ("error-internal-title", "error-internal-message")
            }
        }
    }
}

/// What a client is told to wait before trying again while the database
/// is away (`Retry-After`, seconds).
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The friendly 503 page shown while the database cannot be reached, with
/// `Retry-After` (also for a failure the session layer met first, see
/// [`super::unavailable`]).
pub fn unavailable_page() -> HttpResponse {
    AppError::Unavailable.error_response()
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::SignInRequired => StatusCode::SEE_OTHER,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The page in English; [`in_readers_language`] renders it again in
    /// the reader's language (this trait knows no request).
    fn error_response(&self) -> HttpResponse {
        if let AppError::SignInRequired = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/signin"))
                .finish();
        }
        let status = self.status_code();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // One line per page is too many during an outage; the
            // workers log its start and end once.
            tracing::debug!(error = ?self, "database unavailable");
        } else if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        self.page(Tr::new(Lang::En))
    }
}

impl AppError {
    /// The error page in `tr`'s language, with what the metrics count.
    fn page(&self, tr: Tr) -> HttpResponse {
        let status = self.status_code();
        let (title_key, message_key) = self.keys();
        let (title, message) = (tr.t(title_key), tr.t(message_key));
        let page = ErrorPage {
            tr,
            status: status.as_u16(),
            title: &title,
            message: &message,
        };
        let mut builder = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            builder.insert_header((
                header::RETRY_AFTER,
                UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
            ));
        }
        let mut response = match page.render() {
            Ok(body) => builder.content_type("text/html; charset=utf-8").body(body),
            Err(_) => builder.body(message),
        };
        // For the metrics middleware to count (`lockbox_forgery_refusals_total`).
        let check = match self {
            AppError::Forbidden(Forbidden::Csrf) => Some("csrf"),
            AppError::Forbidden(Forbidden::CrossOrigin) => Some("same_origin"),
            _ => None,
        };
        if let Some(check) = check {
            response
                .extensions_mut()
                .insert(super::metrics::http::ForgeryRefused(check));
        }
        response
    }
}

/// Renders a handler's error page again in the reader's language (the
/// `lang` cookie, else `Accept-Language`): [`ResponseError`] builds it
/// without the request, so in English. The headers the first answer got
/// (a session cookie, say) are kept.
pub async fn in_readers_language<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let lang = Lang::from_request(req.request());
    let res = next.call(req).await?;
    let page = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(e) if lang != Lang::En && !matches!(e, AppError::SignInRequired) => {
            e.page(Tr::new(lang))
        }
        _ => return Ok(res.map_into_left_body()),
    };
    let (req, old) = res.into_parts();
    let mut page = page;
    // Every value of each header the new page does not set itself (a
    // header may repeat, e.g. two `Set-Cookie`s).
    let own: Vec<_> = page.headers().keys().cloned().collect();
    for (name, value) in old.headers() {
        if !own.contains(name) {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, page).map_into_right_body())
}
