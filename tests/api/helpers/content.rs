//! Access sessions: a request taken all the way to Approved, content to
//! read, and operations run from the session page.

use lockbox::identity::{RequestId, TenantId, UserId};
use reqwest::{Client, Response};
use uuid::Uuid;

use super::{TestApp, TestUser, csrf_of};

impl TestApp {
    /// Files a request for `workload` and takes it all the way to Approved
    /// (manager, then the customer if the tenant's Lockbox is on), through
    /// the domain. Returns its id.
    pub fn approved_request(
        &self,
        tenant: TenantId,
        engineer: &TestUser,
        manager: &TestUser,
        workload: &str,
    ) -> RequestId {
        use lockbox::requests::{
            AccessDuration, Actor, Comment, Event, Justification, NewRequest, Policy, Scope,
            ServiceRequestNumber, Status, Workload,
            commands::{self, Decision},
            effects::By,
        };
        let policy = Policy::default();
        let new = NewRequest {
            tenant_id: tenant,
            service_request: ServiceRequestNumber::parse("SR-2000").expect("valid"),
            workload: Workload::from_db(workload).expect("workload"),
            duration: AccessDuration::parse("240", &policy).expect("valid"),
            justification: Justification::parse("Investigating a support case.").expect("valid"),
        };
        let mut conn = self.conn();
        let now = self.clock_now();
        let by = By {
            actor: Actor::Engineer(engineer.staff_id()),
            name: "engineer",
            ip: "127.0.0.1",
            via: &lockbox::requests::Via::Portal,
        };
        let id = commands::file(&mut conn, by, engineer.staff_id(), &new, now).expect("filed");
        let decide = |conn: &mut diesel::PgConnection, event, actor| {
            let decision = Decision {
                event,
                actor,
                actor_name: "someone".into(),
                ip: "127.0.0.1".into(),
                comment: Comment::default(),
                via: lockbox::requests::Via::Portal,
                signer: Some(self.signer()),
            };
            commands::decide(conn, id, Scope::Provider, &decision, &self.clock, &policy)
                .expect("decided")
        };
        let after = decide(
            &mut conn,
            Event::ManagerApprove { lockbox_on: true },
            Actor::Manager(manager.staff_id()),
        );
        if after.status == Status::PendingCustomer {
            decide(
                &mut conn,
                Event::CustomerApprove(lockbox::requests::Tally::SINGLE),
                Actor::Customer(UserId(Uuid::from_u128(77))),
            );
        }
        id
    }

    /// Seeds a little content for the tenant (5 messages per mailbox).
    pub fn seed_content(&self, tenant: TenantId, domain: &str) {
        lockbox::content::seed::seed_tenant(&mut self.conn(), tenant, domain, 5, self.clock_now())
            .expect("seeded");
    }

    /// A word the tenant's seeded mail has: the last word of a subject's
    /// topic (e.g. "budget"). The seed varies with the tenant's id, so a
    /// fixed word may be in none of its forty messages.
    pub fn a_word_in_the_mail(&self, tenant: TenantId) -> String {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use lockbox::schema::{mail_messages, mailboxes};
        let subject: String = mail_messages::table
            .inner_join(mailboxes::table)
            .filter(mailboxes::tenant_id.eq(tenant))
            .select(mail_messages::subject)
            .first(&mut self.conn())
            .expect("seeded mail");
        subject.rsplit(' ').next().expect("a word").to_owned()
    }

    /// Runs an operation from the request's access session page.
    pub async fn run_operation(
        &self,
        client: &Client,
        request: RequestId,
        fields: &[(&str, &str)],
    ) -> Response {
        let page = self
            .engineer_page(client, &format!("/requests/{request}/session"))
            .await;
        let token = csrf_of(&page);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        client
            .post(format!("{}/requests/{request}/session", self.engineer_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }
}
