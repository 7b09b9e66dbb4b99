//! A real HTTP receiver for webhooks (an actix server on a random port that
//! records what it gets and answers as the test plans), one delivery pass
//! of the webhook worker, and the signature checked the way the README
//! tells a customer to, with nothing of lockbox's own code.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use lockbox::{
    identity::TenantId,
    webhooks::{EventGroup, deliver},
};
use sha2::Sha256;
use uuid::Uuid;

use super::TestApp;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

/// How the receiver answers the next request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Answers 200, after this long.
    Sleep(Duration),
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    plan: Mutex<VecDeque<Answer>>,
    /// When the plan is empty (200 unless set).
    otherwise: Mutex<Option<u16>>,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Shared>,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    shared.received.lock().expect("lock").push(Received {
        path: req.path().to_owned(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let next = shared.plan.lock().expect("lock").pop_front();
    let otherwise = shared.otherwise.lock().expect("lock").unwrap_or(200);
    match next {
        Some(Answer::Status(s)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(s).expect("a status"))
                .finish()
        }
        Some(Answer::Sleep(d)) => {
            tokio::time::sleep(d).await;
            HttpResponse::Ok().finish()
        }
        None => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(otherwise).expect("a status"))
                .finish()
        }
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("address").port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .expect("listens")
        .run();
        tokio::spawn(server);
        Self { port, shared }
    }

    /// `http://127.0.0.1:<port>/hook`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn then(&self, answer: Answer) {
        self.shared.plan.lock().expect("lock").push_back(answer);
    }

    /// Answers `status` whenever nothing is planned.
    pub fn always(&self, status: u16) {
        *self.shared.otherwise.lock().expect("lock") = Some(status);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }
}

/// The signature as the README documents it: `v1,` and the base64 of
/// HMAC-SHA256 keyed with the base64-decoded part of the secret after
/// `whsec_`, over `{webhook-id}.{webhook-timestamp}.{body}`.
pub fn documented_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Asserts that `r` carries a valid signature made with `secret`.
pub fn assert_signed(r: &Received, secret: &str) {
    assert!(r.id.starts_with("msg_"), "webhook-id {:?}", r.id);
    assert_eq!(
        r.signature,
        documented_signature(secret, &r.id, &r.timestamp, &r.body),
        "signature of {}",
        r.body
    );
}

impl TestApp {
    /// The worker's settings, from this app's.
    pub fn webhook_delivery(&self) -> deliver::Delivery {
        deliver::Delivery {
            timeout: self.settings.webhooks.timeout,
            allow_http_loopback: self.settings.webhooks.allow_http_loopback,
            disable_after: self.settings.webhooks.disable_after,
        }
    }

    /// The servers' sealer (its key is shared through the database).
    pub fn sealer(&self) -> lockbox::auth::totp::Sealer {
        let key = lockbox::db::shared_secret(&mut self.owner_conn(), "second_factor_key")
            .expect("the shared key");
        lockbox::auth::totp::Sealer::new(&key)
    }

    /// One pass of the webhook worker at the clock's time.
    pub async fn deliver_webhooks(&self) -> deliver::Round {
        // A round takes one delivery per endpoint: rounds until one finds
        // nothing due, their counts added up.
        let (delivery, now) = (self.webhook_delivery(), self.clock_now());
        let mut total = deliver::Round::default();
        for _ in 0..100 {
            let r = deliver::deliver_due(&self.pool, &self.sealer(), delivery, now, 100)
                .await
                .expect("a delivery pass");
            let claimed = r.delivered + r.retrying;
            total.delivered += r.delivered;
            total.retrying += r.retrying;
            total.disabled += r.disabled;
            total.swept += r.swept;
            if claimed == 0 {
                break;
            }
        }
        total
    }

    /// Stores an endpoint directly (`tenant` `None`: the provider's),
    /// skipping the checks made when one is saved: the delivery-time checks
    /// are what such a test is about. Returns its id and secret.
    pub fn store_endpoint(&self, tenant: Option<TenantId>, url: &str) -> (Uuid, String) {
        use diesel::{ExpressionMethods, RunQueryDsl};
        use lockbox::schema::webhook_endpoints as we;
        let (id, secret) = (Uuid::new_v4(), lockbox::webhooks::sign::new_secret());
        let all: Vec<&str> = EventGroup::ALL.iter().map(|g| g.as_db()).collect();
        diesel::insert_into(we::table)
            .values((
                we::id.eq(id),
                we::tenant_id.eq(tenant.map(|t| t.0)),
                we::url.eq(url),
                we::events.eq(all),
                we::secret.eq(lockbox::webhooks::endpoints::seal(
                    &self.sealer(),
                    id,
                    &secret,
                )),
                we::created_at.eq(self.clock_now()),
            ))
            .execute(&mut self.owner_conn())
            .expect("endpoint stored");
        (id, secret)
    }

    /// Queues a test event for `endpoint`.
    pub fn queue_test_event(&self, endpoint: Uuid, tenant: TenantId) -> String {
        lockbox::webhooks::enqueue_test(&mut self.owner_conn(), endpoint, tenant, self.clock_now())
            .expect("queued")
    }

    /// The stored deliveries of `endpoint`: (status, attempts, last error).
    pub fn deliveries_of(&self, endpoint: Uuid) -> Vec<(String, i32, Option<String>)> {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use lockbox::schema::webhook_deliveries as wd;
        wd::table
            .filter(wd::endpoint_id.eq(endpoint))
            .order(wd::created_at.asc())
            .select((wd::status, wd::attempts, wd::last_error))
            .load(&mut self.owner_conn())
            .expect("deliveries")
    }
}
