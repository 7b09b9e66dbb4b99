//! Requests: filed through the portal's form or arranged through the
//! domain, decided through the confirmation pages; the world most request
//! tests start from.

use lockbox::{
    config::Settings,
    identity::{RequestId, TenantId},
    staff::StaffRole,
    tenants::Role,
};
use reqwest::{Client, Response};

use super::{TestApp, TestDatabase, TestUser, csrf_of, location, spawn_app_on, spawn_app_with};

/// The fields of a valid new request for `tenant_id`.
pub fn request_form(tenant_id: TenantId) -> Vec<(&'static str, String)> {
    vec![
        ("tenant", tenant_id.to_string()),
        ("service_request", "SR-4711".to_owned()),
        ("workload", "exchange".to_owned()),
        ("duration", "240".to_owned()),
        (
            "justification",
            "Mailbox does not sync; need to read its statistics.".to_owned(),
        ),
    ]
}

/// The request id a "303 to /requests/{id}" points at.
pub fn request_id_of(resp: &Response) -> RequestId {
    let loc = location(resp);
    let id = loc
        .strip_prefix("/requests/")
        .unwrap_or_else(|| panic!("not a request location: {loc:?}"));
    RequestId::parse(id).expect("a request id")
}

impl TestApp {
    /// Files a request through the engineer portal's form.
    pub async fn file_request(
        &self,
        client: &Client,
        fields: &[(&'static str, String)],
    ) -> Response {
        let page = self.engineer_page(client, "/requests/new").await;
        let mut form = vec![("csrf_token", csrf_of(&page))];
        form.extend(fields.iter().cloned());
        client
            .post(format!("{}/requests", self.engineer_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// Files a valid request and returns its id.
    pub async fn filed_request(&self, client: &Client, tenant_id: TenantId) -> RequestId {
        let resp = self.file_request(client, &request_form(tenant_id)).await;
        assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER, "filed");
        request_id_of(&resp)
    }

    /// Takes a decision in the engineer portal through its confirmation page.
    pub async fn staff_decide(
        &self,
        client: &Client,
        id: RequestId,
        action: &str,
        comment: &str,
    ) -> Response {
        let confirm = self
            .get_engineer(client, &format!("/requests/{id}/{action}"))
            .await;
        let token = if confirm.status().is_success() {
            csrf_of(&confirm.text().await.expect("body"))
        } else {
            // Refused pages carry no form; take a token from the home page.
            csrf_of(&self.engineer_page(client, "/").await)
        };
        client
            .post(format!("{}/requests/{id}/{action}", self.engineer_url))
            .form(&[("csrf_token", token.as_str()), ("comment", comment)])
            .send()
            .await
            .expect("request")
    }

    /// Counts the timeline entries of `request` that moved it to `status`.
    pub fn events_to(&self, request: RequestId, status: &str) -> i64 {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use lockbox::schema::access_request_events as ev;
        ev::table
            .filter(ev::request_id.eq(request))
            .filter(ev::to_status.eq(status))
            .count()
            .get_result(&mut self.conn())
            .expect("count")
    }

    pub fn stored_status(&self, request: RequestId) -> String {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use lockbox::schema::access_requests as ar;
        ar::table
            .filter(ar::id.eq(request))
            .select(ar::status)
            .first(&mut self.conn())
            .expect("request exists")
    }
}

/// The world most request tests start from: Contoso (Lockbox on),
/// Fabrikam (off), an engineer, a second engineer and a manager.
pub struct World {
    pub app: TestApp,
    pub contoso: TenantId,
    pub fabrikam: TenantId,
    pub engineer: TestUser,
    pub other_engineer: TestUser,
    pub manager: TestUser,
}

pub async fn world() -> World {
    world_with(|_| {}).await
}

pub async fn world_with(configure: impl FnOnce(&mut Settings)) -> World {
    world_of(spawn_app_with(configure).await)
}

/// [`world`] on a database of the test's choosing (see
/// [`super::TestDatabase::migrated_on`]).
pub async fn world_on(db: TestDatabase) -> World {
    world_of(spawn_app_on(db, |_| {}).await)
}

fn world_of(app: TestApp) -> World {
    let contoso = app.create_tenant("Contoso", true);
    let fabrikam = app.create_tenant("Fabrikam", false);
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let other_engineer = app.create_staff("eng2@provider.example", StaffRole::Engineer);
    let manager = app.create_staff("boss@provider.example", StaffRole::Manager);
    World {
        app,
        contoso,
        fabrikam,
        engineer,
        other_engineer,
        manager,
    }
}

impl TestApp {
    /// Arranges a request through the domain directly: filed by `engineer`
    /// for `tenant` (Exchange, 4 h) and, if `manager` is given, approved by
    /// them. Returns its id.
    pub fn arrange_request(
        &self,
        tenant: TenantId,
        engineer: &TestUser,
        manager: Option<&TestUser>,
    ) -> RequestId {
        use lockbox::requests::{
            AccessDuration, Actor, Comment, Event, Justification, NewRequest, Policy, Scope,
            ServiceRequestNumber, Workload,
            commands::{self, Decision},
            effects::By,
        };
        let policy = Policy::default();
        let new = NewRequest {
            tenant_id: tenant,
            service_request: ServiceRequestNumber::parse("SR-1000").expect("valid"),
            workload: Workload::Exchange,
            duration: AccessDuration::parse("240", &policy).expect("valid"),
            justification: Justification::parse("Investigating a support case.").expect("valid"),
        };
        let mut conn = self.conn();
        let by = By {
            actor: Actor::Engineer(engineer.staff_id()),
            name: "engineer",
            ip: "127.0.0.1",
            via: &lockbox::requests::Via::Portal,
        };
        let id = commands::file(&mut conn, by, engineer.staff_id(), &new, self.clock_now())
            .expect("filed");
        if let Some(manager) = manager {
            let decision = Decision {
                event: Event::ManagerApprove { lockbox_on: true },
                actor: Actor::Manager(manager.staff_id()),
                actor_name: "manager".into(),
                ip: "127.0.0.1".into(),
                comment: Comment::default(),
                via: lockbox::requests::Via::Portal,
                signer: Some(self.signer()),
            };
            commands::decide(
                &mut conn,
                id,
                Scope::Provider,
                &decision,
                &self.clock,
                &policy,
            )
            .expect("approved");
        }
        id
    }

    /// Cancels a request as its engineer, through the domain.
    pub fn arrange_cancel(&self, request: RequestId, engineer: &TestUser) {
        use lockbox::requests::{Actor, Comment, Event, Policy, Scope, commands};
        let decision = commands::Decision {
            event: Event::Cancel,
            actor: Actor::Engineer(engineer.staff_id()),
            actor_name: "engineer".into(),
            ip: "127.0.0.1".into(),
            comment: Comment::default(),
            via: lockbox::requests::Via::Portal,
            signer: None,
        };
        commands::decide(
            &mut self.conn(),
            request,
            Scope::Provider,
            &decision,
            &self.clock,
            &Policy::default(),
        )
        .expect("cancelled");
    }

    /// Takes a customer decision through its confirmation page.
    pub async fn customer_decide(
        &self,
        client: &Client,
        id: RequestId,
        action: &str,
        comment: &str,
    ) -> Response {
        let base = format!("/support/lockbox/requests/{id}");
        let confirm = self.get_admin(client, &format!("{base}/{action}")).await;
        let token = if confirm.status().is_success() {
            csrf_of(&confirm.text().await.expect("body"))
        } else {
            // Refused pages carry no form; the frame's sign-out form has one.
            csrf_of(&self.admin_page(client, "/").await)
        };
        client
            .post(format!("{}{base}/{action}", self.admin_url))
            .form(&[("csrf_token", token.as_str()), ("comment", comment)])
            .send()
            .await
            .expect("request")
    }

    /// POSTs `fields` to `action` on the admin center with a CSRF token
    /// taken from `page`.
    pub async fn admin_post(
        &self,
        client: &Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let html = self.admin_page(client, page).await;
        let token = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        client
            .post(format!("{}{action}", self.admin_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// POSTs `fields` to `action` on the engineer portal with a CSRF token
    /// taken from `page`.
    pub async fn engineer_post(
        &self,
        client: &Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let html = self.engineer_page(client, page).await;
        let token = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        client
            .post(format!("{}{action}", self.engineer_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }
}

/// Contoso's people on top of [`World`]: a global admin, an approver and a
/// plain user, plus Fabrikam's global admin for isolation tests.
pub struct Customers {
    pub admin: TestUser,
    pub approver: TestUser,
    pub user: TestUser,
    pub fabrikam_admin: TestUser,
}

impl World {
    pub fn customers(&self) -> Customers {
        Customers {
            admin: self
                .app
                .create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin),
            approver: self
                .app
                .create_user("Contoso", "approver@contoso.example", Role::Approver),
            user: self
                .app
                .create_user("Contoso", "user@contoso.example", Role::User),
            fabrikam_admin: self.app.create_user(
                "Fabrikam",
                "admin@fabrikam.example",
                Role::GlobalAdmin,
            ),
        }
    }
}
