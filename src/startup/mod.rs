//! Builds the running application: one database pool, two listeners (admin
//! center, engineer portal), each with its own session cookie, plus the
//! background housekeeping. Tests build it the same way on port 0.

use std::net::TcpListener;

use actix_web::{App, HttpServer, cookie::Key, dev::Server, middleware::from_fn, web};
use tracing_actix_web::TracingLogger;

use crate::{
    auth::{self, Realm, password::Hasher, throttle},
    clock::SharedClock,
    config::Settings,
    db::{self, PgPool},
    web::error::AppError,
    web::{self as portal, AppState, MAX_BODY_BYTES, rate_limit::RateLimit},
};

pub mod memory;
mod sessions;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

pub struct Application {
    admin_port: u16,
    engineer_port: u16,
    admin: Server,
    engineer: Server,
    state: AppState,
    /// The per-address limits: the sign-in forms', the API's.
    limits: [RateLimit; 2],
    /// Turns true once the background work's start-up rounds are done.
    first_rounds: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

/// Resolves once every background worker, and housekeeping, has finished
/// the round it runs at once on start-up (or the application stopped):
/// what a test records after it is its own requests' work, not theirs.
#[derive(Clone)]
pub struct FirstRounds(tokio::sync::watch::Receiver<bool>);

impl FirstRounds {
    pub async fn done(&self) {
        // An error means the application is gone: nothing runs any more.
        let _ = self.0.clone().wait_for(|done| *done).await;
    }
}

impl Application {
    /// Checks the database and binds both listeners; serving starts with
    /// [`Application::run_until_stopped`]. The database must be migrated
    /// already (by its owner, see [`db::Database::open`]): `pool` is what
    /// the server serves with, ideally a least-privilege role.
    pub fn build(
        settings: Settings,
        pool: PgPool,
        clock: SharedClock,
    ) -> Result<Self, StartupError> {
        let (secret, second_factor_key) = {
            let mut conn = pool.get().map_err(db::DbError::from)?;
            check_database(&mut conn)?;
            (
                db::shared_secret(&mut conn, "cookie_key")?,
                db::shared_secret(&mut conn, "second_factor_key")?,
            )
        };
        // The signing key: created on first start, refused when others may
        // read it. Loaded again by each checkpoint round (a rotation takes
        // effect without a restart); never kept in the database.
        crate::signing::Signer::load_or_create(&settings.signing_key_file, clock.now())
            .map_err(|e| StartupError::Other(e.to_string()))?;
        let key = Key::try_from(secret.as_slice())
            .map_err(|e| StartupError::Other(format!("cookie key: {e}")))?;
        let hasher = Hasher::new().map_err(|e| StartupError::Other(e.to_string()))?;
        let limits = &settings.limits;
        let exports = crate::audit::export::Slots::new(limits.exports_max, limits.exports_per_user);
        let state = AppState {
            exports,
            sealer: crate::auth::totp::Sealer::new(&second_factor_key),
            content: crate::content::store::ContentStores::postgres(),
            api_limit: portal::rate_limit::TokenLimit::new(
                settings.api_rate.per_second,
                settings.api_rate.burst,
                clock.clone(),
            ),
            keys: std::sync::Arc::new(crate::signing::Keyholder::new(
                settings.signing_key_file.clone(),
            )),
            metrics: portal::metrics::Metrics::new(clock.now())
                .map_err(|e| StartupError::Other(format!("metrics: {e}")))?,
            pool,
            clock,
            settings,
            hasher,
        };
        // One allowance per address across both portals' sign-in forms.
        let sign_in_limit = RateLimit::new(
            state.settings.sign_in_rate,
            state.clock.clone(),
            &state.settings.trusted_proxies,
        )
        .only_for(portal::signin::is_submission);
        // And one per address in front of the API, before any token is
        // looked up (the per-token allowance comes after).
        let api_address_limit = RateLimit::new(
            state.settings.api_address_rate,
            state.clock.clone(),
            &state.settings.trusted_proxies,
        )
        .only_for(portal::api::is_api);
        let limits = [sign_in_limit.clone(), api_address_limit.clone()];
        let (admin, admin_port) = serve(&state, Realm::Admin, &key, &limits)?;
        let (engineer, engineer_port) = serve(&state, Realm::Engineer, &key, &limits)?;
        Ok(Self {
            admin_port,
            engineer_port,
            admin,
            engineer,
            state,
            limits,
            first_rounds: std::sync::Arc::new(tokio::sync::watch::channel(false).0),
        })
    }

    /// Tells when the start-up rounds of the background work are over,
    /// once [`Application::run_until_stopped`] runs.
    pub fn first_rounds(&self) -> FirstRounds {
        FirstRounds(self.first_rounds.subscribe())
    }

    /// The password hasher both portals share; its
    /// [`Hasher::verifications`] tell what sign-in traffic costs.
    pub fn hasher(&self) -> &Hasher {
        &self.state.hasher
    }

    /// What the handlers share (a benchmark serves its reference page
    /// with it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    pub fn engineer_port(&self) -> u16 {
        self.engineer_port
    }

    /// Handles that stop both listeners gracefully, ending
    /// [`Application::run_until_stopped`] as a shutdown signal would (for
    /// an in-process server, e.g. `lockbox bench api`).
    pub fn stop_handles(&self) -> [actix_web::dev::ServerHandle; 2] {
        [self.admin.handle(), self.engineer.handle()]
    }

    /// Serves both portals until a shutdown signal (SIGTERM, SIGINT):
    /// then both stop accepting at once, in-flight requests get
    /// `LOCKBOX_SHUTDOWN_GRACE_SECONDS` to finish, and the background
    /// workers finish their current round and stop, so this process holds
    /// no lease and no half-done work that another instance would have to
    /// wait out.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let stop = std::sync::Arc::new(stop);
        // Every task holds a sender until its first round is done; the
        // receiver hears nothing more once the last one dropped it.
        let (first_round, mut first_rounds) = tokio::sync::mpsc::channel::<()>(1);
        let housekeeping = tokio::spawn(housekeeping(
            self.state.clone(),
            self.limits.clone(),
            first_round.clone(),
        ));
        let trimming = tokio::spawn(memory::trim_every(memory::TRIM_EVERY));
        let mut workers = self.spawn_workers(Stop::new(stopping, first_round));
        let done = self.first_rounds.clone();
        tokio::spawn(async move {
            let _ = first_rounds.recv().await;
            done.send_replace(true);
        });
        // The workers hear the signal when the listeners do, so both
        // drain within one grace period (not the workers after the HTTP
        // side: an orchestrator's grace would have to be twice as long).
        let grace = self.state.settings.resilience.shutdown_grace;
        let listeners = [self.admin.handle(), self.engineer.handle()];
        let on_signal = tokio::spawn(stop_on_signal(stop.clone(), listeners));
        let result = tokio::try_join!(self.admin, self.engineer).map(|_| ());
        housekeeping.abort();
        trimming.abort();
        let signalled = if on_signal.is_finished() {
            on_signal.await.ok().flatten()
        } else {
            on_signal.abort();
            None
        };
        let _ = stop.send(true);
        let deadline = signalled.unwrap_or_else(tokio::time::Instant::now) + grace;
        let all = futures_util::future::join_all(workers.iter_mut());
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            tracing::warn!("background work did not finish within the grace period");
        }
        for worker in &workers {
            worker.abort();
        }
        result
    }

    /// Starts the background work; each task ends after its round once
    /// `stopping` turns true. (Housekeeping is simply aborted: it holds
    /// nothing another instance would wait for.)
    fn spawn_workers(&self, stopping: Stop) -> Vec<tokio::task::JoinHandle<()>> {
        let (state, settings) = (&self.state, &self.state.settings);
        let mut tasks = vec![
            tokio::spawn(sweeper(
                state.clone(),
                settings.resilience.sweep_every,
                stopping.clone(),
            )),
            tokio::spawn(metrics_refresher(state.clone(), stopping.clone())),
        ];
        if let Some(every) = settings.audit_seal_every {
            tasks.push(tokio::spawn(sealer(state.clone(), every, stopping.clone())));
        }
        if let Some(every) = settings.checkpoint_every {
            tasks.push(tokio::spawn(checkpointer(
                state.clone(),
                every,
                stopping.clone(),
            )));
        }
        if let Some(every) = settings.mail.poll {
            tasks.push(tokio::spawn(mail_worker(
                state.clone(),
                every,
                stopping.clone(),
            )));
        }
        if let Some(every) = settings.webhooks.poll {
            tasks.push(tokio::spawn(webhook_worker(
                state.clone(),
                every,
                stopping.clone(),
            )));
        }
        tasks
    }
}

/// Refuses a database that lacks migrations, and a role that could not
/// serve; warns about a role that could rewrite the audit log.
fn check_database(conn: &mut diesel::PgConnection) -> Result<(), StartupError> {
    let pending = db::pending_migrations(conn)?;
    if !pending.is_empty() {
        return Err(StartupError::Other(format!(
            "the database lacks migrations {}: run `lockbox migrate` as its owner",
            pending.join(", ")
        )));
    }
    let role = db::roles::ServingRole::of(conn).map_err(db::DbError::from)?;
    match role.verdict() {
        db::roles::Verdict::LeastPrivilege => {
            tracing::info!(role = %role.name, "serving as a least-privilege database role");
            Ok(())
        }
        db::roles::Verdict::TooPowerful(warning) => {
            tracing::warn!(role = %role.name, "{warning}");
            Ok(())
        }
        db::roles::Verdict::Unusable(why) => Err(StartupError::Other(why)),
    }
}

/// A listener's routes.
type Routes = fn(&mut web::ServiceConfig);

fn serve(
    state: &AppState,
    realm: Realm,
    key: &Key,
    limits: &[RateLimit; 2],
) -> Result<(Server, u16), StartupError> {
    let addr = match realm {
        Realm::Admin => state.settings.admin_addr.clone(),
        Realm::Engineer => state.settings.engineer_addr.clone(),
    };
    let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|source| StartupError::Bind { addr, source })?
        .port();
    let data = web::Data::new(state.clone());
    let key = key.clone();
    let state = state.clone();
    let [sign_in_limit, api_address_limit] = limits.clone();
    let state_grace_secs = state.settings.resilience.shutdown_grace.as_secs();
    let server = HttpServer::new(move || {
        let settings = &state.settings;
        let sessions = sessions::middleware(&state, realm, &key);
        let (routes, api): (Routes, Routes) = match realm {
            Realm::Admin => (portal::admin::routes, portal::api::customer_api),
            Realm::Engineer => (portal::engineer::routes, portal::api::provider_api),
        };
        // The health check and the stylesheet never touch a session: no
        // session read for them, and they never extend one.
        let pages = web::scope("")
            .wrap(from_fn(portal::unavailable::unreadable_session))
            .wrap(sessions)
            // Outside the sessions: the session's connection serves the page.
            .wrap(from_fn(portal::one_checkout))
            .configure(portal::session_routes)
            // Before the pages: `/api/…` is never a page.
            .configure(api)
            .configure(routes)
            .default_service(web::to(portal::not_found));
        App::new()
            // Innermost: error pages in the reader's language, before the
            // security headers are added to them.
            .wrap(from_fn(portal::error::in_readers_language))
            .wrap(from_fn(portal::same_origin))
            // A 500 met while the database is unreachable answers 503.
            .wrap(from_fn(portal::unavailable::answer_503))
            // Outside the sessions: a refused request costs no database work.
            .wrap(sign_in_limit.clone())
            .wrap(api_address_limit.clone())
            .wrap(portal::security_headers(settings.tls))
            .wrap(TracingLogger::default())
            // Outermost: every answer counts, refusals included.
            .wrap(from_fn(portal::metrics::http::observe))
            .app_data(data.clone())
            // Which portal this is (the language switch records mail language).
            .app_data(web::Data::new(realm))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            // A malformed id in a URL is a page that does not exist.
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| AppError::BadRequest(e.to_string()).into()),
            )
            .configure(portal::sessionless_routes)
            .service(pages)
    })
    .shutdown_timeout(state_grace_secs)
    .listen(listener)
    .map_err(|source| StartupError::Bind {
        addr: format!("port {port}"),
        source,
    })?
    .run();
    Ok((server, port))
}

/// Waits for the shutdown signals actix-web's servers stop on (SIGINT,
/// SIGTERM, SIGQUIT), tells the workers and the listeners to stop, and
/// returns when that was; `None` if the signals cannot be watched. The
/// listeners watch the signals themselves too, but actix starts a
/// listener's workers before it watches them: a signal in between (a
/// process stopped right after its health check answered) stopped the
/// background workers and left the listeners serving.
async fn stop_on_signal(
    stop: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    listeners: [actix_web::dev::ServerHandle; 2],
) -> Option<tokio::time::Instant> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok()?;
    let mut int = signal(SignalKind::interrupt()).ok()?;
    let mut quit = signal(SignalKind::quit()).ok()?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = quit.recv() => {}
    }
    let _ = stop.send(true);
    for listener in listeners {
        // Graceful, as the signal would have it; a second stop is a no-op.
        tokio::spawn(async move { listener.stop(true).await });
    }
    Some(tokio::time::Instant::now())
}

/// Every few minutes: reports ended sign-in lock-outs to their tenants'
/// audit logs, reclaims expired sessions and stale throttling records, and
/// lets the rate limiter forget idle addresses. Safe with any number of
/// lockbox processes (each lock-out is reported once; see
/// [`auth::report_ended_lockouts`]).
async fn housekeeping(state: AppState, limits: [RateLimit; 2], first_round: FirstRound) {
    let mut first_round = Some(first_round);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        tick.tick().await;
        let now = state.clock.now();
        let result = db::blocking(&state.pool, move |conn| {
            auth::report_ended_lockouts(conn, now)?;
            let sessions = auth::session_store::prune(conn, now)?;
            let throttling = throttle::prune(conn, now)?;
            Ok::<_, db::DbError>(sessions + throttling)
        })
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "housekeeping failed");
        }
        for limit in &limits {
            limit.forget_idle();
        }
        state.api_limit.forget_idle();
        drop(first_round.take());
    }
}

/// Held by a background task until its first round is done (see
/// [`FirstRounds`]).
type FirstRound = tokio::sync::mpsc::Sender<()>;

mod rounds;
mod workers;

use rounds::Stop;
use workers::{checkpointer, mail_worker, metrics_refresher, sealer, sweeper, webhook_worker};
