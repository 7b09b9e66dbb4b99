//! The JSON API under `/api/v1` (SPEC §8): the customer's on the admin
//! listener ([`customer`]), the provider's on the engineer listener
//! ([`provider`]). Bearer tokens only: cookies and CSRF play no part, so a
//! browser session never authenticates an API call. Every endpoint calls
//! the same use cases as the portals; this module translates JSON and
//! errors, nothing more. Errors are RFC 9457 problem details
//! ([`ApiError`]); no HTML is ever answered under `/api`.

pub mod customer;
pub mod model;
pub mod openapi;
pub mod provider;

use std::{future::Future, pin::Pin};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse,
    dev::Payload,
    http::{StatusCode, header},
    web,
};
use serde::{Serialize, de::DeserializeOwned};

use super::{AppState, MAX_BODY_BYTES, client_ip, rate_limit::retry_after};
use crate::{
    auth::api_tokens::{self, Bearer, TokenRef, TokenScope},
    db::{self, DbError},
    requests::Caller,
    staff::StaffMember,
    tenants::TenantUser,
};

mod problem;

pub use problem::*;

/// Answers with `value` as JSON.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status).json(value)
}

/// A JSON body: `application/json`, at most 64 KiB, parsed into `T` — or
/// why not, which the handler answers with [`ApiJson::parsed`] once the
/// caller is known: extractors run side by side, and a stranger must learn
/// 401, not what is wrong with their body.
pub struct ApiJson<T>(Result<T, ApiError>);

impl<T> ApiJson<T> {
    /// The body, or the problem with it.
    pub fn parsed(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move { Ok(ApiJson(Self::read(is_json, body).await)) })
    }
}

impl<T: DeserializeOwned> ApiJson<T> {
    async fn read(is_json: bool, body: <web::Bytes as FromRequest>::Future) -> Result<T, ApiError> {
        {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes =
                body.await
                    .map_err(|e| match e.as_error::<actix_web::error::PayloadError>() {
                        Some(actix_web::error::PayloadError::Overflow) => ApiError::TooLarge,
                        _ => ApiError::Malformed("unreadable body".into()),
                    })?;
            if bytes.len() > MAX_BODY_BYTES {
                return Err(ApiError::TooLarge);
            }
            // PostgreSQL cannot store a NUL: refused at the door.
            if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
                return Err(ApiError::Malformed("NUL in a string".into()));
            }
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(e.to_string()))
        }
    }
}

/// A query string parsed into `T`, or a 400 problem.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    if req.query_string().contains("%00") {
        return Err(ApiError::BadQuery("NUL in the query".into()));
    }
    serde_urlencoded::from_str(req.query_string()).map_err(|e| ApiError::BadQuery(e.to_string()))
}

/// The bearer secret of the `Authorization` header.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim().to_owned())
}

/// Authenticates the call's token and takes one call from its allowance.
async fn authenticate(req: &HttpRequest) -> Result<(Bearer, AppState), ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("app state missing".into()))?
        .get_ref()
        .clone();
    let secret = bearer(req).ok_or(ApiError::Unauthorized)?;
    let now = state.clock.now();
    let found = db::blocking(&state.pool, move |conn| {
        api_tokens::authenticate(conn, &secret, now).map_err(DbError::from)
    })
    .await?
    .ok_or(ApiError::Unauthorized)?;
    let (token_id, scope, portal) = match &found {
        Bearer::Customer(_, t) => (t.id, t.scope.as_db(), "admin"),
        Bearer::Staff(_, t) => (t.id, t.scope.as_db(), "engineer"),
    };
    state
        .metrics
        .api_token_uses
        .with_label_values(&[portal, scope])
        .inc();
    state
        .api_limit
        .check(token_id)
        .map_err(|wait| ApiError::TooManyRequests(retry_after(wait)))?;
    Ok((found, state))
}

/// A customer's API call: the token's user (with a Customer Lockbox role,
/// checked afresh) and the token.
pub struct ApiCustomer {
    pub user: TenantUser,
    pub token: TokenRef,
    pub ip: String,
}

impl ApiCustomer {
    /// The caller, as the domain sees it, if the token's scope reaches
    /// `needed`.
    pub fn caller(&self, needed: TokenScope) -> Result<Caller, ApiError> {
        self.require(needed)?;
        Ok(Caller::customer(&self.user).through_token(self.token.id, &self.token.name))
    }

    pub fn require(&self, needed: TokenScope) -> Result<(), ApiError> {
        if self.token.scope >= needed {
            Ok(())
        } else {
            Err(ApiError::Scope)
        }
    }
}

impl FromRequest for ApiCustomer {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(&req).await? {
                (Bearer::Customer(user, token), state) => Ok(ApiCustomer {
                    ip: client_ip(&req, &state.settings.trusted_proxies).to_string(),
                    user,
                    token,
                }),
                // A staff token means nothing on the customer's listener.
                (Bearer::Staff(..), _) => Err(ApiError::Unauthorized),
            }
        })
    }
}

/// A provider staff member's API call.
pub struct ApiStaff {
    pub member: StaffMember,
    pub token: TokenRef,
    pub ip: String,
}

impl ApiStaff {
    pub fn caller(&self) -> Caller {
        Caller::staff(&self.member).through_token(self.token.id, &self.token.name)
    }
}

impl FromRequest for ApiStaff {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(&req).await? {
                (Bearer::Staff(member, token), state) => Ok(ApiStaff {
                    ip: client_ip(&req, &state.settings.trusted_proxies).to_string(),
                    member,
                    token,
                }),
                (Bearer::Customer(..), _) => Err(ApiError::Unauthorized),
            }
        })
    }
}

/// Whether a request is for the API (the per-address limit in front of it,
/// and problem details instead of pages).
pub fn is_api(req: &actix_web::dev::ServiceRequest) -> bool {
    let path = req.path();
    path == "/api" || path.starts_with("/api/")
}

/// One route of an API: its method and its path under `/api/v1` (what the
/// OpenAPI document must describe), and its handler.
pub struct ApiRoute {
    pub method: actix_web::http::Method,
    pub path: &'static str,
    handler: fn() -> actix_web::Route,
}

impl ApiRoute {
    /// `handler` answers `method` on `path` (and nothing else there).
    pub const fn new(
        method: actix_web::http::Method,
        path: &'static str,
        handler: fn() -> actix_web::Route,
    ) -> Self {
        Self {
            method,
            path,
            handler,
        }
    }
}

/// Registers every route of `routes`.
fn register(cfg: &mut web::ServiceConfig, routes: &[ApiRoute]) {
    for route in routes {
        cfg.route(route.path, (route.handler)().method(route.method.clone()));
    }
}

/// A time of a query parameter, if PostgreSQL can hold it (the years
/// 1–9999); otherwise a 400 naming the parameter.
pub fn storable(
    name: &str,
    time: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    match time {
        Some(t) if !(1..=9999).contains(&chrono::Datelike::year(&t)) => Err(ApiError::BadQuery(
            format!("{name} must lie in the years 1 to 9999"),
        )),
        other => Ok(other),
    }
}

/// Anything under `/api` no route matches: a problem, never a page.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Mounts one listener's API: `routes` under `/api/v1`, with path and
/// query errors as problems, and a problem for anything else under `/api`.
/// One scope: a page is told apart by the `/api` prefix, not by a
/// catch-all pattern (a regular expression every page paid; issue 20).
pub fn mount(cfg: &mut web::ServiceConfig, routes: fn(&mut web::ServiceConfig)) {
    cfg.service(
        web::scope("/api")
            .service(
                web::scope("/v1")
                    .app_data(
                        web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()),
                    )
                    .configure(routes)
                    .default_service(web::to(not_found)),
            )
            .default_service(web::to(not_found)),
    );
}

/// The customer's API (admin listener).
pub fn customer_api(cfg: &mut web::ServiceConfig) {
    mount(cfg, customer::routes);
}

/// The provider's API (engineer listener).
pub fn provider_api(cfg: &mut web::ServiceConfig) {
    mount(cfg, provider::routes);
}

/// Runs `f` on a pooled connection, its errors as problems.
pub async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut diesel::PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db::blocking(&state.pool, f).await
}
