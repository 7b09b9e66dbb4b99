//! Two-factor sign-in from the test's side: the tenant rule, enrolling an
//! authenticator through its page (reading the secret as a person would),
//! and the codes a real authenticator app would show at the app's clock.

use chrono::Duration;
use lockbox::identity::TenantId;
use reqwest::{Client, Response, StatusCode};

use super::{TestApp, TestUser, client, csrf_of, texts};

/// An authenticator enrolled through its page: its secret as the page
/// showed it, and the recovery codes shown once.
#[derive(Debug, Clone)]
pub struct Authenticator {
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// Which portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Portal {
    Admin,
    Engineer,
}

/// The code an authenticator app shows for `secret` (base32) at `at`,
/// computed by the TOTP crate itself, not by lockbox.
pub fn totp_code(secret: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    let totp = totp_rs::Builder::new()
        .with_secret(secret.as_bytes().to_vec())
        .build()
        .expect("totp");
    totp.generate(u64::try_from(at.timestamp()).expect("after 1970"))
        .to_string()
}

impl TestApp {
    /// Turns the tenant's rule "Require two-factor sign-in for global
    /// administrators and approvers" on or off (as the owner).
    pub fn require_two_factor(&self, tenant: TenantId, on: bool) {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use lockbox::schema::tenants;
        diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
            .set(tenants::require_two_factor.eq(on))
            .execute(&mut self.conn())
            .expect("rule set");
    }

    pub fn url(&self, portal: Portal) -> &str {
        match portal {
            Portal::Admin => &self.admin_url,
            Portal::Engineer => &self.engineer_url,
        }
    }

    /// The code `authenticator` shows now, at the app's clock.
    pub fn code(&self, authenticator: &Authenticator) -> String {
        totp_code(&authenticator.secret, self.clock_now())
    }

    /// The code it shows `seconds` from now.
    pub fn code_in(&self, authenticator: &Authenticator, seconds: i64) -> String {
        totp_code(
            &authenticator.secret,
            self.clock_now() + Duration::seconds(seconds),
        )
    }

    /// Lets the clock move on by `seconds` (a new TOTP step after 30).
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    /// GETs `page` of `portal` and POSTs `fields` to `action` with its CSRF
    /// token.
    pub async fn post_from(
        &self,
        portal: Portal,
        client: &Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let base = self.url(portal);
        let html = client
            .get(format!("{base}{page}"))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        let token = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        client
            .post(format!("{base}{action}"))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// Enrols an authenticator on `enrol_path` (`/account/two-factor/enrol`
    /// when signed in, `/signin/enrol` when the rule sent them there):
    /// reads the secret off the page and confirms it with its code.
    pub async fn enrol_on(
        &self,
        portal: Portal,
        client: &Client,
        enrol_path: &str,
    ) -> Authenticator {
        let base = self.url(portal);
        let page = client
            .get(format!("{base}{enrol_path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(page.status(), StatusCode::OK, "the enrolment page");
        let html = page.text().await.expect("body");
        let secret = texts(&html, "#secret").pop().expect("the secret as text");
        assert!(html.contains("<svg"), "a QR code");
        let code = totp_code(&secret, self.clock_now());
        let resp = client
            .post(format!("{base}{enrol_path}"))
            .form(&[
                ("csrf_token", csrf_of(&html).as_str()),
                ("code", code.as_str()),
            ])
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK, "enrolled");
        let html = resp.text().await.expect("body");
        let recovery_codes = texts(&html, "#recovery-codes code");
        assert_eq!(recovery_codes.len(), 10, "{html}");
        Authenticator {
            secret,
            recovery_codes,
        }
    }

    /// Enrols a signed-in client from its account page.
    pub async fn enrol(&self, portal: Portal, client: &Client) -> Authenticator {
        self.enrol_on(portal, client, "/account/two-factor/enrol")
            .await
    }

    /// Posts `code` as the second step of a half-signed-in client.
    pub async fn second_step(&self, portal: Portal, client: &Client, code: &str) -> Response {
        self.post_from(
            portal,
            client,
            "/signin/code",
            "/signin/code",
            &[("code", code)],
        )
        .await
    }

    /// Signs `user` in on `portal` with their password and `authenticator`'s
    /// current code; returns the signed-in client.
    pub async fn signed_in_with_code(
        &self,
        portal: Portal,
        user: &TestUser,
        authenticator: &Authenticator,
    ) -> Client {
        let c = client();
        let resp = match portal {
            Portal::Admin => self.admin_sign_in(&c, user).await,
            Portal::Engineer => self.engineer_sign_in(&c, user).await,
        };
        assert_eq!(super::location(&resp), "/signin/code");
        let resp = self
            .second_step(portal, &c, &self.code(authenticator))
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "signed in with a code"
        );
        c
    }
}
