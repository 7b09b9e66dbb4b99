//! `GET /metrics`: what an operator watches, in Prometheus text format.

use actix_web::{HttpRequest, HttpResponse, http::header, web};

use super::{AppState, MetricsAccess, error::AppError, metrics_access};
use crate::db::{self, DbError};

/// `GET /metrics` (engineer listener only): Prometheus text exposition of what an operator watches:
/// the outbox by status (failed mail needs a human) and requests by state.
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
    let (outbox, webhooks, requests) = db::blocking(&state.pool, |conn| {
        let outbox = crate::notify::outbox::counts(conn)?;
        let webhooks = crate::webhooks::counts(conn)?;
        let requests = crate::requests::queries::counts_by_status(conn)?;
        Ok::<_, DbError>((outbox, webhooks, requests))
    })
    .await?;
    let mut body = String::new();
    let (mail, hooks) = (
        ["pending", "sent", "failed"],
        ["pending", "delivered", "failed"],
    );
    gauge(
        &mut body,
        "lockbox_outbox_messages",
        "Mail in the outbox by status.",
        &mail,
        &outbox,
    );
    let help = "Webhook deliveries by status (failed: their endpoint was disabled).";
    gauge(
        &mut body,
        "lockbox_webhook_deliveries",
        help,
        &hooks,
        &webhooks,
    );
    let states = crate::requests::Status::ALL.map(|s| s.as_db());
    let help = "Access requests by stored state.";
    gauge(&mut body, "lockbox_requests", help, &states, &requests);
    body.push_str(&format!(
        "# HELP lockbox_audit_exports_running Audit exports this process is streaming.\n\
         # TYPE lockbox_audit_exports_running gauge\nlockbox_audit_exports_running {}\n",
        state.exports.in_use()
    ));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

/// One gauge family: a line per value of its label (`state` for requests,
/// `status` otherwise), zero when `counts` lacks it.
fn gauge(body: &mut String, name: &str, help: &str, values: &[&str], counts: &[(String, i64)]) {
    let label = if name == "lockbox_requests" {
        "state"
    } else {
        "status"
    };
    body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
    for v in values {
        let n = counts.iter().find(|(s, _)| s == v).map_or(0, |(_, n)| *n);
        body.push_str(&format!("{name}{{{label}=\"{v}\"}} {n}\n"));
    }
}
