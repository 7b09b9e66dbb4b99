//! The HTTP layer: one module per portal, plus what both share — app state,
//! security headers, the same-origin check, CSRF-checked forms, the
//! language switch, static files and health checks.

pub mod admin;
pub mod api;
pub mod chrome;
pub mod confirm;
pub mod engineer;
pub mod error;
pub mod export;
pub mod forms;
pub mod mail_language;
pub mod metrics;
pub mod rate_limit;
pub mod reader;
pub mod receipts;
pub mod request_pages;
pub mod signin;
pub mod time_zone;
pub mod tokens;
pub mod two_factor;
pub mod unavailable;
pub mod view;

use std::net::IpAddr;

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    body::{EitherBody, MessageBody},
    cookie::{Cookie, SameSite},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::{DefaultHeaders, Next},
    web,
};
use serde::Deserialize;

use crate::{
    auth::password::Hasher,
    clock::SharedClock,
    config::Settings,
    db::{self, DbError, PgPool},
    i18n::{LANG_COOKIE, Lang},
    web::error::{AppError, Forbidden},
};

/// What every handler may reach, shared by both portals.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub settings: Settings,
    pub hasher: Hasher,
    /// The content the lockbox guards (read only through the enforcement
    /// point, `crate::content::run`).
    pub content: crate::content::store::ContentStores,
    /// The per-token allowance of the JSON API.
    pub api_limit: rate_limit::TokenLimit,
    /// How many audit exports may run at once (see [`export`]).
    pub exports: crate::audit::export::Slots,
    /// Seals and opens authenticator secrets (see [`crate::auth::totp`]).
    pub sealer: crate::auth::totp::Sealer,
    /// The deployment's signing key, read from its file (never from the
    /// database): it signs decision receipts.
    pub keys: std::sync::Arc<crate::signing::Keyholder>,
    /// This application's metrics (see [`metrics`]).
    pub metrics: std::sync::Arc<metrics::Metrics>,
}

impl AppState {
    /// The key decisions' receipts are signed with now; `None` (logged)
    /// when it cannot be read: the domain then refuses approvals only.
    pub fn signer(&self) -> Option<std::sync::Arc<crate::signing::Signer>> {
        self.keys
            .current()
            .map_err(|e| tracing::error!(error = %e, "the signing key cannot be read"))
            .ok()
    }

    /// The deployment's time rules for requests.
    pub fn policy(&self) -> crate::requests::Policy {
        crate::requests::Policy {
            pending_lifetime: self.settings.pending_lifetime,
            max_window: self.settings.max_window,
        }
    }
}

/// The largest request body either portal accepts; more is answered 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Security headers on every response. The CSP allows no script at all: the
/// UI works without JavaScript.
pub fn security_headers(tls: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"));
    if tls {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Refuses state-changing requests that a browser says come from another
/// site (`Sec-Fetch-Site`) or another origin (`Origin`). Requests without
/// either header (non-browser clients) still need their CSRF token.
pub async fn same_origin<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    // The JSON API answers for itself, in problem details: it takes no
    // cookies, so a cross-site form cannot use it.
    if req.path().starts_with("/api/") || req.path() == "/api" {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    if req.query_string().contains("%00") {
        // PostgreSQL cannot store a NUL: refuse it at the door.
        let response = AppError::BadRequest("NUL in the query".into()).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !is_same_origin(req.request()) {
        tracing::warn!(path = %req.path(), "cross-origin request refused");
        // Answered here (not as an Err) so the outer middleware still adds
        // the security headers.
        let response = AppError::Forbidden(Forbidden::CrossOrigin).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Runs a request without a body in a [`db::one_checkout::scope`]: its
/// session read and its page's queries share one pool checkout. Every
/// request gets a [`crate::auth::session_store::hand_over_scope`]: the
/// session store hands the signed-in account to its extractors there.
pub async fn one_checkout<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let request = async move {
        if db::one_checkout::suits(req.method()) {
            db::one_checkout::scope(next.call(req)).await
        } else {
            next.call(req).await
        }
    };
    crate::auth::session_store::hand_over_scope(request).await
}

fn is_same_origin(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match headers.get(header::ORIGIN) {
        // Under `Referrer-Policy: no-referrer` browsers send `Origin: null`
        // even for same-origin form posts; `Sec-Fetch-Site` (checked above)
        // and the CSRF token decide then.
        None => true,
        Some(origin) if origin == "null" => true,
        Some(origin) => {
            let info = req.connection_info();
            let expected = format!("{}://{}", info.scheme(), info.host());
            origin.to_str().is_ok_and(|o| o == expected)
        }
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy —
/// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    forwarded_client(peer, &entries, trusted_proxies)
}

/// [`client_ip`] on its parts. Entries are read from the right (the hop
/// our own proxy added) while they are trusted proxies; an entry that
/// cannot be read stops the walk at the last hop we could trust, so
/// nothing a client wrote to the left of it is believed. `ip:port` and
/// `[v6]:port`, as some proxies write them, are read.
fn forwarded_client(peer: IpAddr, entries: &[&str], trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    for entry in entries.iter().rev() {
        let entry = entry.trim();
        let parsed = entry
            .parse::<IpAddr>()
            .ok()
            .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()));
        match parsed {
            Some(ip) if trusted.contains(&ip) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

#[cfg(test)]
mod forwarded_tests;

static APP_CSS: &str = include_str!("../../static/app.css");

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(APP_CSS)
}

/// How long `/healthz` waits for the database before it says it is
/// unreachable: a load balancer's probe must get its answer within a
/// second.
const HEALTH_BUDGET: std::time::Duration = std::time::Duration::from_millis(800);

/// `GET /healthz` (readiness): 200 when the database answers, 503 within
/// a second otherwise, saying the database is unreachable. A load balancer
/// sends no traffic to an instance that cannot serve.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let probe = actix_web::rt::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = pool.get_timeout(HEALTH_BUDGET).map_err(DbError::from)?;
        diesel::sql_query("SELECT 1")
            .execute(&mut *conn)
            .map_err(DbError::from)
    });
    let ok = matches!(
        tokio::time::timeout(HEALTH_BUDGET, probe).await,
        Ok(Ok(Ok(_)))
    );
    if !ok {
        db::health::suspect();
    }
    if ok {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "unavailable", "database": "unreachable"}))
    }
}

/// `GET /livez` (liveness): 200 while the process can answer at all,
/// whatever its database does: restarting an instance because its
/// database is away would not bring the database back.
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    back: Option<String>,
}

/// `GET /lang?to=nl&back=/path`: the language switch. Only local paths are
/// accepted as `back`, so this is no open redirect. Someone signed in also
/// gets their mail in the language they switch to (issue 18).
pub async fn switch_language(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::from_code(&query.to).ok_or_else(|| AppError::BadRequest("language".into()))?;
    let realm = req
        .app_data::<web::Data<crate::auth::Realm>>()
        .map(|r| *r.get_ref());
    if let (Some(realm), Some(id)) = (realm, forms::PortalSession::from_request(&req).principal()?)
    {
        signin::remember_language(&state, signin::language_realm(realm), id, lang).await?;
    }
    let back = query
        .back
        .as_deref()
        .filter(|b| is_local_path(b))
        .unwrap_or("/");
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Strict)
        .http_only(true)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back.to_owned()))
        .cookie(cookie)
        .finish())
}

/// Who is asking for `/metrics`, as [`metrics_access`] judges them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    Allowed,
    /// A bearer token that is not the configured one.
    WrongToken,
    /// No token, from an address not allowed.
    Refused,
}

/// Whether `req` may read the metrics: with the configured bearer token
/// (`LOCKBOX_METRICS_TOKEN`) from anywhere, or without one from an allowed
/// address (`LOCKBOX_METRICS_ALLOW`, loopback by default). A request a
/// proxy relayed (it names a forwarded client) is judged by that client,
/// and by no address at all when the proxy is not a trusted one: behind a
/// proxy on the same host every visitor would otherwise come from
/// loopback.
pub fn metrics_access(req: &HttpRequest, settings: &Settings) -> MetricsAccess {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
        });
    if let Some(presented) = presented {
        return match &settings.metrics.token {
            Some(token) if crate::auth::token::constant_time_eq(token.expose(), presented) => {
                MetricsAccess::Allowed
            }
            _ => MetricsAccess::WrongToken,
        };
    }
    let peer = req.peer_addr().map(|a| a.ip());
    let relayed = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| req.headers().contains_key(*h));
    let trusted_relay = peer.is_some_and(|p| settings.trusted_proxies.contains(&p));
    let admitted = if relayed && !trusted_relay {
        false
    } else {
        settings
            .metrics
            .allow
            .admits(client_ip(req, &settings.trusted_proxies))
    };
    if admitted {
        MetricsAccess::Allowed
    } else {
        MetricsAccess::Refused
    }
}

/// A path on this site: starts with one `/`, and nothing a browser might
/// strip or reinterpret (`\\`, whitespace, control characters) that could
/// turn it into `//elsewhere`.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

/// Shared routes served outside the session middleware (no session read).
pub fn sessionless_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/livez", web::get().to(livez))
        .route("/static/app.css", web::get().to(stylesheet));
}

/// The routes both portals share that use the session.
pub fn session_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/lang", web::get().to(switch_language));
}

/// A `303 See Other` to `location`, the answer to every successful POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// The room a page is rendered into from the start. askama reserves its
/// template's literal text (`SIZE_HINT`); a page whose rows outgrow that
/// is copied at each doubling of its buffer, and an Audit page (39 KB) was
/// copied over and over: 6 % of its instructions in this process
/// (callgrind, issue 20). The buffer is gone once actix has copied the
/// page into the connection's write buffer.
const PAGE_ROOM: usize = 64 * 1024;

/// Renders an askama page into an HTML response. A page is rendered once
/// its queries are done, so the request's connection goes back to the
/// pool first ([`db::one_checkout::release`]).
pub fn render<T: askama::Template>(page: &T) -> Result<HttpResponse, AppError> {
    db::one_checkout::release();
    let mut body = String::with_capacity(T::SIZE_HINT.max(PAGE_ROOM));
    page.render_into(&mut body)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// Like [`render`] with another status (a form re-rendered with errors).
pub fn render_status<T: askama::Template>(
    status: actix_web::http::StatusCode,
    page: &T,
) -> Result<HttpResponse, AppError> {
    let mut response = render(page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// Any path no route matches.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
