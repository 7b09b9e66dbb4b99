//! Per-address request limits, in front of what an attacker would flood:
//! both sign-in forms today, the JSON API later.
//!
//! [`RateLimit`] is a middleware with a keyed GCRA limiter (the `governor`
//! crate) per client network (an IPv4 address or an IPv6 /64, see
//! [`Network`]), measured by the application's clock. Over the quota a
//! request is answered `429 Too Many Requests` with `Retry-After` and a
//! friendly page in the visitor's language, before any session is loaded
//! or any database touched. Wrap an `App` with a filter
//! ([`RateLimit::only_for`]) or a scope without one
//! (`web::scope("/api").wrap(limit)`); clones share one allowance.
//!
//! The limiter lives in the process: behind a load balancer each lockbox
//! process grants its own quota. That is enough for its purpose (cheap
//! refusal of floods); the sign-in limits that must hold across processes
//! are counted in PostgreSQL ([`crate::auth::throttle`]).

use std::{
    future::{Ready, ready},
    net::IpAddr,
    rc::Rc,
    sync::Arc,
    time::Duration,
};

use actix_web::{
    Error, HttpRequest, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
    http::{StatusCode, header},
};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use governor::{
    Quota, RateLimiter, clock::Clock as GovernorClock, middleware::NoOpMiddleware,
    state::keyed::DashMapStateStore,
};

use super::client_ip;
use crate::{
    auth::throttle::Network,
    clock::SharedClock,
    config::RateQuota,
    i18n::{Lang, Tr},
};

/// The application's clock as governor's time source (time since the Unix
/// epoch), so tests move a limit's time as they move every other rule's.
#[derive(Clone)]
struct AppClock(SharedClock);

impl GovernorClock for AppClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        (self.0.now() - chrono::DateTime::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}

/// A GCRA limiter keyed by `K` (a network, a token) on the application's
/// clock: the part [`RateLimit`] and [`TokenLimit`] share.
struct Keyed<K: std::hash::Hash + Eq + Clone> {
    limiter: RateLimiter<K, DashMapStateStore<K>, AppClock, NoOpMiddleware<Duration>>,
    clock: AppClock,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(quota: Quota, clock: SharedClock) -> Self {
        let clock = AppClock(clock);
        Self {
            limiter: RateLimiter::new(quota, DashMapStateStore::default(), clock.clone()),
            clock,
        }
    }

    /// Takes one request from `key`'s allowance, or says how long until
    /// the next one is allowed.
    fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose allowance is full again (housekeeping), so the
    /// limiter's memory follows current traffic.
    fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// A per-network request limit (see the module documentation).
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<Keyed<Network>>,
    trusted_proxies: Arc<[IpAddr]>,
    applies_to: fn(&ServiceRequest) -> bool,
}

impl RateLimit {
    /// A limit of `quota` per client network; the client's address is
    /// found as everywhere else ([`client_ip`]), believing
    /// `X-Forwarded-For` only from `trusted_proxies`.
    pub fn new(quota: RateQuota, clock: SharedClock, trusted_proxies: &[IpAddr]) -> Self {
        let quota = Quota::per_minute(quota.per_minute).allow_burst(quota.burst);
        Self {
            limiter: Arc::new(Keyed::new(quota, clock)),
            trusted_proxies: trusted_proxies.into(),
            applies_to: |_| true,
        }
    }

    /// Limits only the requests `applies_to` picks; others pass untouched.
    pub fn only_for(self, applies_to: fn(&ServiceRequest) -> bool) -> Self {
        Self { applies_to, ..self }
    }

    /// Takes one request from the allowance of `ip`'s network, or says how
    /// long until the next one is allowed.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.limiter.check(&Network::of(ip))
    }

    /// Forgets networks whose allowance is full again (housekeeping).
    pub fn forget_idle(&self) {
        self.limiter.forget_idle();
    }
}

/// A per-API-token request limit (SPEC §8: 10 requests a second, a burst
/// of 50 by default), on the application's clock like [`RateLimit`].
#[derive(Clone)]
pub struct TokenLimit(Arc<Keyed<uuid::Uuid>>);

impl TokenLimit {
    pub fn new(
        per_second: std::num::NonZeroU32,
        burst: std::num::NonZeroU32,
        clock: SharedClock,
    ) -> Self {
        Self(Arc::new(Keyed::new(
            Quota::per_second(per_second).allow_burst(burst),
            clock,
        )))
    }

    /// Takes one call from token `id`'s allowance, or says how long until
    /// the next one is allowed.
    pub fn check(&self, id: uuid::Uuid) -> Result<(), Duration> {
        self.0.check(&id)
    }

    /// Forgets tokens whose allowance is full again (housekeeping).
    pub fn forget_idle(&self) {
        self.0.forget_idle();
    }
}

/// Whole seconds to wait, rounded up, at least one: what `Retry-After`
/// says.
pub fn retry_after(wait: Duration) -> u64 {
    retry_after_secs(wait).max(1)
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct TooManyRequestsPage<'a> {
    tr: Tr,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// Whole seconds to wait, rounded up: what `Retry-After` says.
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// `429 Too Many Requests` with `Retry-After`, as the error page in the
/// visitor's language.
pub fn too_many_requests(req: &HttpRequest, wait: Duration) -> HttpResponse {
    let secs = retry_after_secs(wait).max(1);
    let tr = Tr::new(Lang::from_request(req));
    let title = tr.t("error-too-many-requests-title");
    let message = tr.t1(
        "error-too-many-requests-message",
        "seconds",
        &secs.to_string(),
    );
    let page = TooManyRequestsPage {
        tr,
        status: StatusCode::TOO_MANY_REQUESTS.as_u16(),
        title: &title,
        message: &message,
    };
    let mut response = HttpResponse::TooManyRequests();
    response.insert_header((header::RETRY_AFTER, secs.to_string()));
    match page.render() {
        Ok(body) => response.content_type("text/html; charset=utf-8").body(body),
        Err(_) => response.body(message),
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RateLimitMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitMiddleware {
            service: Rc::new(service),
            limit: self.clone(),
        }))
    }
}

pub struct RateLimitMiddleware<S> {
    service: Rc<S>,
    limit: RateLimit,
}

impl<S, B> Service<ServiceRequest> for RateLimitMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if (self.limit.applies_to)(&req) {
            let ip = client_ip(req.request(), &self.limit.trusted_proxies);
            if let Err(wait) = self.limit.check(ip) {
                // Debug only: a flood must not become a flood of log lines.
                tracing::debug!(%ip, path = %req.path(), "request over the rate limit");
                // The API answers in problem details, never a page.
                let response = if super::api::is_api(&req) {
                    actix_web::ResponseError::error_response(
                        &super::api::ApiError::TooManyRequests(retry_after(wait)),
                    )
                } else {
                    too_many_requests(req.request(), wait)
                };
                return Box::pin(ready(Ok(req.into_response(response).map_into_right_body())));
            }
        }
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::clock::SettableClock;

    fn monday() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("valid")
    }

    /// A limit of `quota` on a settable clock that starts at [`monday`].
    fn limit_from_monday(quota: RateQuota) -> (SettableClock, RateLimit) {
        let clock = SettableClock::new(monday());
        let limit = RateLimit::new(quota, Arc::new(clock.clone()), &[]);
        (clock, limit)
    }

    #[test]
    fn a_network_gets_its_burst_then_waits_for_the_rate() {
        let (clock, limit) = limit_from_monday(RateQuota::SIGN_IN);
        let ip: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        for i in 0..10 {
            assert_eq!(limit.check(ip), Ok(()), "request {i} of the burst");
        }
        let same_64: IpAddr = "2001:db8:1:2::ffff".parse().expect("ip");
        assert_eq!(
            limit.check(same_64),
            Err(Duration::from_secs(2)),
            "one /64 shares one allowance; 30 a minute is one per 2 s"
        );
        assert_eq!(limit.check("2001:db8:1:3::1".parse().expect("ip")), Ok(()));
        clock.advance(chrono::Duration::seconds(2));
        assert_eq!(limit.check(ip), Ok(()));
        assert!(limit.check(ip).is_err());
    }

    /// Threads take from one allowance each with the time it read before
    /// it got there; under load one may wait between the two while others
    /// move the allowance on. `UNLIMITED` lets such a late reader through
    /// (its burst of a million once tolerated 14 ms, and a benchmark met
    /// 429s).
    #[test]
    fn unlimited_lets_through_a_request_that_read_the_time_a_second_late() {
        let (clock, limit) = limit_from_monday(RateQuota::UNLIMITED);
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        clock.advance(chrono::Duration::seconds(1));
        for _ in 0..1000 {
            assert_eq!(limit.check(ip), Ok(()));
        }
        clock.set(monday());
        assert_eq!(limit.check(ip), Ok(()), "the late reader");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
