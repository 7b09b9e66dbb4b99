//! Service requests: opened through the admin center's form or arranged
//! through the domain, and requests filed citing them.

use lockbox::{
    identity::{TenantId, UserId},
    requests::{Caller, tickets},
};
use reqwest::{Client, Response, StatusCode};

use super::{TestApp, TestUser, csrf_of, location};

impl TestApp {
    /// Opens a service request through the admin center's form.
    pub async fn open_ticket_form(&self, client: &Client, fields: &[(&str, &str)]) -> Response {
        let page = self.admin_page(client, "/support/tickets/new").await;
        let mut form = vec![("csrf_token", csrf_of(&page))];
        form.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        client
            .post(format!("{}/support/tickets", self.admin_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// Opens a valid service request (Exchange, severity B) and returns
    /// its number.
    pub async fn open_ticket(&self, client: &Client, title: &str) -> String {
        let resp = self
            .open_ticket_form(
                client,
                &[
                    ("title", title),
                    ("description", "Mail does not arrive since the migration."),
                    ("workload", "exchange"),
                    ("severity", "B"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "opened");
        location(&resp)
            .strip_prefix("/support/tickets/")
            .expect("a ticket location")
            .to_owned()
    }

    /// Opens a service request for `user` through the domain; returns its
    /// number.
    pub fn arrange_ticket(&self, user: &TestUser, title: &str) -> String {
        let mut conn = self.conn();
        let found = lockbox::tenants::find_user(&mut conn, UserId(user.id))
            .expect("query")
            .expect("user exists");
        let new = tickets::NewTicketInput {
            title: title.into(),
            description: "Arranged by a test.".into(),
            workload: "exchange".into(),
            severity: "B".into(),
        }
        .parse()
        .expect("valid");
        tickets::commands::open(
            &mut conn,
            &Caller::customer(&found),
            "127.0.0.1",
            &new,
            self.clock_now(),
        )
        .expect("opened")
        .as_str()
        .to_owned()
    }

    /// The fields of a valid new request for `tenant` citing `number`.
    pub fn citing(tenant: TenantId, number: &str) -> Vec<(&'static str, String)> {
        let mut form = super::request_form(tenant);
        for field in &mut form {
            if field.0 == "service_request" {
                field.1 = number.to_owned();
            }
        }
        form
    }
}
