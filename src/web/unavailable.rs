//! While the database cannot be reached, every page answers a friendly
//! 503 with `Retry-After` (the API an RFC 9457 problem) — also when the
//! failure was met outside a handler: by the session layer, which then
//! hands the request a session holding only
//! [`crate::auth::session_store::UNAVAILABLE`], or by code that answered
//! a bare 500.

use actix_session::SessionExt;
use actix_web::{
    ResponseError,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::StatusCode,
    middleware::Next,
};

use crate::{auth::session_store::UNAVAILABLE, db::health};

/// The 503 answer of the page or the API at `path`.
fn answer(path: &str) -> actix_web::HttpResponse {
    if path.starts_with("/api/") {
        super::api::ApiError::Unavailable.error_response()
    } else {
        super::error::unavailable_page()
    }
}

/// Inside the session layer: a session that could not be read because the
/// database is away is answered 503 before any handler runs.
pub async fn unreadable_session<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if req.get_session().entries().contains_key(UNAVAILABLE) {
        let response = answer(req.path());
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Turns a 500 met while the database is unreachable (seen so within
/// [`health::SUSPICION`]) into the 503 answer of the page or the API.
pub async fn answer_503<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let path = req.path().to_owned();
    let res = next.call(req).await?;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !health::is_suspect() {
        return Ok(res.map_into_left_body());
    }
    Ok(res.into_response(answer(&path)).map_into_right_body())
}
