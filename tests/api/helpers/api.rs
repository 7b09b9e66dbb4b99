//! The JSON API's side of the tests: tokens made through the domain, calls
//! with a bearer token, problem details read.

use chrono::Duration;
use lockbox::{
    auth::api_tokens::{self, NewToken, TokenScope},
    tenants,
};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::{TestApp, TestUser};

/// A customer token of `scope` created by `user` (through the domain).
pub fn customer_token(app: &TestApp, user: &TestUser, scope: TokenScope) -> String {
    let mut conn = app.conn();
    let found = tenants::find_user(&mut conn, lockbox::identity::UserId(user.id))
        .expect("query")
        .expect("user");
    let new = NewToken {
        name: format!("{scope:?} tool"),
        scope,
        valid_for: Duration::days(30),
    };
    api_tokens::create_customer_token(
        &mut conn,
        &found,
        &new,
        app.clock_now(),
        &lockbox::audit::Actor::command_line(),
    )
    .expect("token")
    .1
}

/// A staff token of `user`, valid for 30 days (as the CLI makes one).
pub fn staff_token(app: &TestApp, user: &TestUser) -> String {
    api_tokens::create_staff_token(
        &mut app.conn(),
        user.staff_id(),
        "ITSM",
        Duration::days(30),
        app.clock_now(),
    )
    .expect("token")
    .1
}

/// A call to `url` with the bearer `token`.
pub fn call(method: reqwest::Method, url: String, token: &str) -> reqwest::RequestBuilder {
    Client::new().request(method, url).bearer_auth(token)
}

/// Asserts that `resp` is the problem `slug` with `status`; its body.
pub async fn problem(resp: reqwest::Response, status: StatusCode, slug: &str) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["type"], format!("urn:lockbox:problem:{slug}"));
    assert_eq!(body["status"], status.as_u16());
    body
}
