//! `GET /metrics`: what an operator watches, in Prometheus text format,
//! from a per-application registry ([`registry::Metrics`]). A scrape reads
//! no database: what needs it is refreshed in the background
//! ([`refresh`]).

pub mod http;
pub mod refresh;
pub mod registry;

pub use registry::Metrics;

use actix_web::{HttpRequest, HttpResponse, http::header, web};

use super::{AppState, MetricsAccess, error::AppError, metrics_access};

/// `GET /metrics` (engineer listener only): the Prometheus text exposition.
/// Only for those [`metrics_access`] allows.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    match metrics_access(&req, &state.settings) {
        MetricsAccess::Allowed => {}
        MetricsAccess::WrongToken => {
            return Ok(HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .content_type("text/plain; charset=utf-8")
                .body("The metrics token is not valid.\n"));
        }
        MetricsAccess::Refused => {
            tracing::info!(peer = ?req.peer_addr(), "metrics refused");
            return Ok(HttpResponse::Forbidden()
                .content_type("text/plain; charset=utf-8")
                .body(
                    "Metrics are served to the configured addresses (LOCKBOX_METRICS_ALLOW) \
                     or with the bearer token (LOCKBOX_METRICS_TOKEN).\n",
                ));
        }
    }
    let m = &state.metrics;
    m.exports_running
        .set(i64::try_from(state.exports.in_use()).unwrap_or(i64::MAX));
    let pool = state.pool.state();
    m.pool_size.set(i64::from(state.pool.max_size()));
    let idle = i64::from(pool.idle_connections);
    m.pool_connections.with_label_values(&["idle"]).set(idle);
    m.pool_connections
        .with_label_values(&["in_use"])
        .set(i64::from(pool.connections) - idle);
    let body = m
        .render(state.clock.now())
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
