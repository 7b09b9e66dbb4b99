//! The HTTP middleware that counts and times every request of a portal
//! (outermost, so refusals by the other middleware count too).

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

use crate::{auth::Realm, web::AppState};

/// Marks a response refused by a forgery check, for the middleware to
/// count (set where the refusal is answered, [`crate::web::error`]).
#[derive(Debug, Clone, Copy)]
pub struct ForgeryRefused(pub &'static str);

/// The portal label of a listener.
pub fn portal(realm: Realm) -> &'static str {
    match realm {
        Realm::Admin => "admin",
        Realm::Engineer => "engineer",
    }
}

/// Counts, times and classifies one request: by route pattern (never the
/// raw path, which holds ids; `unmatched` when no route matched) and by
/// status class; sign-in submissions by outcome; 403 and 404 answers.
pub async fn observe<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let realm = req.app_data::<web::Data<Realm>>().map(|r| *r.get_ref());
    let (Some(state), Some(realm)) = (state, realm) else {
        return next.call(req).await;
    };
    let m = &state.metrics;
    let p = portal(realm);
    let sign_in = crate::web::signin::is_submission(&req);
    let started = std::time::Instant::now();
    let in_flight = m.http_in_flight.with_label_values(&[p]);
    in_flight.inc();
    let result = next.call(req).await;
    in_flight.dec();
    let res = result?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "unmatched".into());
    let class = format!("{}xx", status / 100);
    let labels = [p, route.as_str(), class.as_str()];
    m.http_requests.with_label_values(&labels).inc();
    m.http_duration
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    if matches!(status, 403 | 404) {
        let code = status.to_string();
        m.http_denied.with_label_values(&[p, &code]).inc();
    }
    if let Some(ForgeryRefused(check)) = res.response().extensions().get::<ForgeryRefused>() {
        m.forgery_refusals.with_label_values(&[p, check]).inc();
    }
    if sign_in {
        let outcome = match status {
            300..=399 => Some("success"),
            401 => Some("failure"),
            429 => Some("throttled"),
            _ => None,
        };
        if let Some(outcome) = outcome {
            m.sign_ins.with_label_values(&[p, outcome]).inc();
        }
    }
    Ok(res)
}
