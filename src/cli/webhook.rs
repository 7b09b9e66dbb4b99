//! `lockbox webhook`: the provider's own endpoints (`add`, `list`,
//! `remove`), which receive every tenant's events for ITSM and chat
//! integration, and `listen`, a small receiver that prints the events whose
//! signature it verified — with the same code the worker signs with.

use clap::Subcommand;
use uuid::Uuid;

use super::CliError;
use crate::{
    db::{self, DbError, PgPool},
    webhooks::{EventGroup, endpoints, sign},
};

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Add a provider endpoint; prints its id and its signing secret (shown
    /// once).
    Add {
        /// Where to send (http or https: provider endpoints are trusted).
        #[arg(long)]
        url: String,
        /// Comma-separated event groups: pending_customer, decided, expired,
        /// ended, operator_action, checkpoint, ticket; or `all`.
        #[arg(long, default_value = "all")]
        events: String,
    },
    /// List the provider endpoints (id, state, events, URL).
    List,
    /// Remove a provider endpoint and its deliveries.
    Remove {
        #[arg(long)]
        id: Uuid,
    },
    /// Receive webhooks on 127.0.0.1:<port> and print each verified event
    /// (for the demo and for testing a receiver's setup).
    Listen {
        #[arg(long, default_value_t = 9000)]
        port: u16,
        /// The endpoint's `whsec_…` secret. Prefer the environment variable
        /// LOCKBOX_WEBHOOK_SECRET: a `--secret` shows in the process list.
        #[arg(long, env = "LOCKBOX_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
    },
}

/// The event groups named on the command line.
pub fn parse_events(list: &str) -> Result<Vec<EventGroup>, CliError> {
    if list.trim() == "all" {
        return Ok(EventGroup::ALL.to_vec());
    }
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            EventGroup::from_db(s).ok_or_else(|| CliError(format!("unknown event group {s:?}")))
        })
        .collect()
}

pub async fn run(
    command: WebhookCommand,
    pool: &PgPool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), CliError> {
    match command {
        WebhookCommand::Add { url, events } => {
            let groups = parse_events(&events)?;
            let (endpoint, secret) = db::blocking(pool, move |conn| {
                // Sealed with the servers' key (shared through the database).
                let key = db::shared_secret(conn, "second_factor_key")?;
                let sealer = crate::auth::totp::Sealer::new(&key);
                Ok::<_, DbError>(endpoints::add_for_provider(
                    conn, &sealer, &url, &groups, now,
                ))
            })
            .await??;
            println!("added {} {}", endpoint.id, endpoint.url);
            println!("secret {secret}");
            Ok(())
        }
        WebhookCommand::List => {
            let list = db::blocking(pool, |conn| {
                endpoints::list_for_provider(conn).map_err(DbError::from)
            })
            .await?;
            for e in list {
                let state = if e.enabled { "enabled" } else { "disabled" };
                println!("{}\t{state}\t{}\t{}", e.id, e.events.join(","), e.url);
            }
            Ok(())
        }
        WebhookCommand::Remove { id } => {
            let removed = db::blocking(pool, move |conn| {
                Ok::<_, DbError>(endpoints::remove_for_provider(conn, id))
            })
            .await??;
            println!("removed {} {}", removed.id, removed.url);
            Ok(())
        }
        WebhookCommand::Listen { .. } => Ok(()),
    }
}

/// The webhook ids `listen` verified: delivery is at least once, so a
/// receiver de-duplicates by `webhook-id`, and so does `listen` (within
/// its process).
type Seen = std::sync::Mutex<std::collections::HashSet<String>>;

/// `lockbox webhook listen`: answers 204 to a verified event (and prints
/// its id and body, or `duplicate` and its id for a replay of one already
/// printed), 401 to anything else (and says why on stderr).
pub async fn listen(port: u16, secret: &str) -> Result<(), CliError> {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let key = sign::key_of(secret)
        .ok_or_else(|| CliError("the secret must be a whsec_… secret".into()))?;
    let key = web::Data::new(key);
    let seen = web::Data::new(Seen::default());
    async fn receive(
        req: HttpRequest,
        body: web::Bytes,
        key: web::Data<Vec<u8>>,
        seen: web::Data<Seen>,
    ) -> HttpResponse {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let id = header("webhook-id");
        let now = chrono::Utc::now().timestamp();
        match sign::verify(
            &key,
            &id,
            &header("webhook-timestamp"),
            &header("webhook-signature"),
            &body,
            now,
        ) {
            Ok(()) => {
                let first = seen.lock().map_or(true, |mut s| s.insert(id.clone()));
                if first {
                    println!("verified {id} {}", String::from_utf8_lossy(&body));
                } else {
                    println!("duplicate {id}");
                }
                HttpResponse::NoContent().finish()
            }
            Err(e) => {
                eprintln!("refused {id:?}: {e}");
                HttpResponse::Unauthorized().body(e.to_string())
            }
        }
    }
    let server = HttpServer::new(move || {
        App::new()
            .app_data(key.clone())
            .app_data(seen.clone())
            .default_service(web::post().to(receive))
    })
    .workers(1)
    .bind(("127.0.0.1", port))
    .map_err(|e| CliError(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    println!("listening on http://127.0.0.1:{port}/ for signed webhooks");
    server.run().await.map_err(|e| CliError(e.to_string()))
}
