//! Two-factor sign-in (issue 16): enrolment, the second step after the
//! password, replay, skew, recovery codes, throttling, the tenant rule and
//! the staff setting, and bad input. Codes are computed from the secret the
//! enrolment page shows, at the app's settable clock: nobody sleeps.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use futures::future::join_all;
use lockbox::{
    audit::{Record, activity, view::audit_log as al},
    config::RateQuota,
    identity::TenantId,
    staff::StaffRole,
    tenants::Role,
};
use reqwest::StatusCode;

use crate::helpers::{
    Authenticator, Portal, TestApp, client, client_with_jar, csrf_of, location, spawn_app_with,
    texts, world, world_with,
};

fn records(app: &TestApp, tenant: TenantId, activity: &str) -> Vec<Record> {
    al::table
        .filter(al::tenant_id.eq(tenant))
        .filter(al::activity.eq(activity))
        .order(al::id.asc())
        .select(Record::as_select())
        .load(&mut app.conn())
        .expect("records")
}

use diesel::SelectableHelper;

fn alert(html: &str) -> String {
    texts(html, "[role=alert]").join(" ")
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_and_the_secret_and_completes_only_with_a_valid_code() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let admin = app.admin_client(&c.admin).await;

    let account = app.admin_page(&admin, "/account/two-factor").await;
    assert_eq!(texts(&account, "#two-factor-state"), vec!["Off"]);

    let page = app.get_admin(&admin, "/account/two-factor/enrol").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let html = page.text().await.expect("body");
    let secret = texts(&html, "#secret").pop().expect("the secret as text");
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    assert!(
        texts(&html, "#qr svg").len() == 1 || html.contains("<svg"),
        "a QR code"
    );
    assert!(!html.contains("<script"), "no script");
    // Reloading shows the same secret (the app has not been scanned twice).
    let again = app.admin_page(&admin, "/account/two-factor/enrol").await;
    assert_eq!(texts(&again, "#secret"), vec![secret.clone()]);

    // A wrong code: refused, nothing enrolled.
    let authenticator = Authenticator {
        secret: secret.clone(),
        recovery_codes: Vec::new(),
    };
    let wrong = app.code_in(&authenticator, 300);
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/account/two-factor/enrol",
            "/account/two-factor/enrol",
            &[("code", &wrong)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let html = resp.text().await.expect("body");
    assert!(
        alert(&html).contains("That code is not right"),
        "{}",
        alert(&html)
    );
    assert_eq!(
        texts(&html, "#secret"),
        vec![secret.clone()],
        "the same secret again"
    );
    assert!(records(app, w.contoso, activity::NEW_AUTHENTICATOR).is_empty());

    // The right one: ten recovery codes, shown once.
    let enrolled = app.enrol(Portal::Admin, &admin).await;
    assert_eq!(enrolled.secret, secret);
    assert_eq!(enrolled.recovery_codes.len(), 10);
    let account = app.admin_page(&admin, "/account/two-factor").await;
    assert_eq!(texts(&account, "#two-factor-state"), vec!["On"]);
    assert_eq!(
        texts(&account, "#recovery-left"),
        vec!["Recovery codes left: 10"]
    );
    assert!(
        !account.contains(&secret),
        "the secret is never shown again"
    );
    let resp = app.get_admin(&admin, "/account/two-factor/enrol").await;
    assert_eq!(location(&resp), "/account/two-factor");

    let record = records(app, w.contoso, activity::NEW_AUTHENTICATOR);
    assert_eq!(record.len(), 1);
    assert_eq!(record[0].parameters["Replaced"], false);
    assert_eq!(record[0].actor_id, c.admin.id.to_string());

    // Stored sealed: neither the base32 text nor the raw secret.
    use lockbox::schema::second_factors as sf;
    let stored: Vec<u8> = sf::table
        .select(sf::secret)
        .first(&mut app.conn())
        .expect("stored");
    let raw = totp_rs::Secret::try_from_base32(&secret).expect("base32");
    assert!(!stored.windows(20).any(|w| w == raw.as_bytes()));
    assert!(!String::from_utf8_lossy(&stored).contains(&secret));
}

#[tokio::test]
async fn users_with_an_authenticator_enter_a_code_after_their_password_and_get_a_new_session() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let authenticator = app
        .enrol(Portal::Admin, &app.admin_client(&c.admin).await)
        .await;
    app.advance(30);

    let (browser, jar) = client_with_jar();
    let resp = app.admin_sign_in(&browser, &c.admin).await;
    assert_eq!(location(&resp), "/signin/code");
    // Half signed in: nothing opens yet.
    assert_eq!(location(&app.get_admin(&browser, "/").await), "/signin");
    assert_eq!(
        location(&app.get_admin(&browser, "/support/lockbox/requests").await),
        "/signin"
    );
    let cookie = |jar: &reqwest::cookie::Jar| {
        use reqwest::cookie::CookieStore;
        jar.cookies(&app.admin_url.parse().expect("url"))
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default()
    };
    let half = cookie(&jar);
    let page = app.admin_page(&browser, "/signin/code").await;
    assert_eq!(texts(&page, "h1"), vec!["Enter your code"]);

    let resp = app
        .second_step(Portal::Admin, &browser, &app.code(&authenticator))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/");
    assert_ne!(
        cookie(&jar),
        half,
        "the session id is renewed after the code"
    );
    assert_eq!(app.get_admin(&browser, "/").await.status(), StatusCode::OK);

    // Without an authenticator (and no rule): straight in, as before.
    let resp = app.admin_sign_in(&client(), &c.approver).await;
    assert_eq!(location(&resp), "/");
}

#[tokio::test]
async fn a_code_is_accepted_once_and_one_step_of_skew_either_way_but_not_two() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let authenticator = app
        .enrol(Portal::Admin, &app.admin_client(&c.admin).await)
        .await;
    app.advance(300);

    // Two steps early or late: refused as wrong.
    let half = client();
    app.admin_sign_in(&half, &c.admin).await;
    for seconds in [-60, 60] {
        let resp = app
            .second_step(Portal::Admin, &half, &app.code_in(&authenticator, seconds))
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{seconds} s");
        let html = resp.text().await.expect("body");
        assert!(
            alert(&html).contains("not right"),
            "{seconds} s: {}",
            alert(&html)
        );
    }
    // One step early: accepted.
    let resp = app
        .second_step(Portal::Admin, &half, &app.code_in(&authenticator, -30))
        .await;
    assert_eq!(location(&resp), "/");
    // One step late: accepted too.
    let ahead = client();
    app.admin_sign_in(&ahead, &c.admin).await;
    let late = app.code_in(&authenticator, 30);
    let resp = app.second_step(Portal::Admin, &ahead, &late).await;
    assert_eq!(location(&resp), "/");

    // The same code again (another browser, same window): refused, and
    // so is an earlier step's code.
    let replay = client();
    app.admin_sign_in(&replay, &c.admin).await;
    let resp = app.second_step(Portal::Admin, &replay, &late).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let html = resp.text().await.expect("body");
    assert!(alert(&html).contains("used already"), "{}", alert(&html));
    let resp = app
        .second_step(Portal::Admin, &replay, &app.code(&authenticator))
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "an earlier step");
    // The next step's code works.
    app.advance(60);
    let resp = app
        .second_step(Portal::Admin, &replay, &app.code(&authenticator))
        .await;
    assert_eq!(location(&resp), "/");
    let failures = records(app, w.contoso, activity::SECOND_FACTOR_FAILED);
    let reasons: Vec<_> = failures
        .iter()
        .map(|r| r.parameters["Reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            "InvalidCode",
            "InvalidCode",
            "CodeAlreadyUsed",
            "CodeAlreadyUsed"
        ]
    );
}

#[tokio::test]
async fn a_recovery_code_works_once_and_says_how_many_remain() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let authenticator = app
        .enrol(Portal::Admin, &app.admin_client(&c.admin).await)
        .await;
    let recovery = authenticator.recovery_codes[3]
        .to_uppercase()
        .replace('-', " ");

    let lost_phone = client();
    app.admin_sign_in(&lost_phone, &c.admin).await;
    let resp = app.second_step(Portal::Admin, &lost_phone, &recovery).await;
    assert_eq!(location(&resp), "/account/two-factor");
    let page = app.admin_page(&lost_phone, "/account/two-factor").await;
    assert!(
        texts(&page, "[role=status]")[0].contains("9 recovery codes remain"),
        "{:?}",
        texts(&page, "[role=status]")
    );
    assert_eq!(
        texts(&page, "#recovery-left"),
        vec!["Recovery codes left: 9"]
    );

    let again = client();
    app.admin_sign_in(&again, &c.admin).await;
    let resp = app.second_step(Portal::Admin, &again, &recovery).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "used once");
    let used = records(app, w.contoso, activity::RECOVERY_CODE_USED);
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].parameters["Remaining"], 9);
    assert!(
        !used[0]
            .parameters
            .to_string()
            .contains(&authenticator.recovery_codes[3])
    );
}

#[tokio::test]
async fn a_parallel_burst_of_wrong_codes_gets_five_checks() {
    let app = spawn_app_with(|s| s.sign_in_rate = RateQuota::UNLIMITED).await;
    let contoso = app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let authenticator = app
        .enrol(Portal::Admin, &app.admin_client(&admin).await)
        .await;
    app.advance(30);
    let attacker = client();
    app.admin_sign_in(&attacker, &admin).await;
    let token = csrf_of(&app.admin_page(&attacker, "/signin/code").await);
    let wrong = app.code_in(&authenticator, 600);

    let answers = join_all((0..40).map(|_| {
        attacker
            .post(format!("{}/signin/code", app.admin_url))
            .form(&[("csrf_token", token.as_str()), ("code", wrong.as_str())])
            .send()
    }))
    .await;
    let statuses: Vec<StatusCode> = answers
        .into_iter()
        .map(|r| r.expect("answer").status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, throttled), (5, 35), "{statuses:?}");
    assert_eq!(
        records(&app, contoso, activity::SECOND_FACTOR_FAILED).len(),
        5
    );
    // Locked out: even the right code waits.
    let resp = app
        .second_step(Portal::Admin, &attacker, &app.code(&authenticator))
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_tenant_rule_sends_approvers_to_enrol_and_nothing_else_opens_until_they_do() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    app.require_two_factor(w.contoso, true);

    let approver = client();
    let resp = app.admin_sign_in(&approver, &c.approver).await;
    assert_eq!(location(&resp), "/signin/enrol");
    for path in ["/", "/support/lockbox/requests", "/account/two-factor"] {
        assert_eq!(
            location(&app.get_admin(&approver, path).await),
            "/signin",
            "{path}"
        );
    }
    let page = app.admin_page(&approver, "/signin/enrol").await;
    assert!(alert(&page).is_empty(), "no error yet");
    assert_eq!(
        texts(&page, "[role=status]"),
        vec![
            "Your organization requires two-factor sign-in. Set up an authenticator app to continue."
        ]
    );
    app.enrol_on(Portal::Admin, &approver, "/signin/enrol")
        .await;
    assert_eq!(app.get_admin(&approver, "/").await.status(), StatusCode::OK);

    // Plain users are not covered by the rule.
    assert_eq!(location(&app.admin_sign_in(&client(), &c.user).await), "/");
    // Under the rule, an authenticator can be replaced but not removed.
    let page = app.admin_page(&approver, "/account/two-factor").await;
    assert!(texts(&page, "form[action='/account/two-factor/remove']").is_empty());
}

#[tokio::test]
async fn provider_staff_must_enrol_unless_the_deployment_makes_it_optional() {
    let w = world_with(|s| s.staff_mfa_required = true).await;
    let app = &w.app;
    let manager = client();
    let resp = app.engineer_sign_in(&manager, &w.manager).await;
    assert_eq!(location(&resp), "/signin/enrol");
    assert_eq!(
        location(&app.get_engineer(&manager, "/queue").await),
        "/signin"
    );
    let authenticator = app
        .enrol_on(Portal::Engineer, &manager, "/signin/enrol")
        .await;
    assert_eq!(
        app.get_engineer(&manager, "/queue").await.status(),
        StatusCode::OK
    );
    app.advance(30);
    let again = app
        .signed_in_with_code(Portal::Engineer, &w.manager, &authenticator)
        .await;
    assert_eq!(app.get_engineer(&again, "/").await.status(), StatusCode::OK);

    let optional = spawn_app_with(|_| {}).await;
    let engineer = optional.create_staff("eng@provider.example", StaffRole::Engineer);
    assert_eq!(
        location(&optional.engineer_sign_in(&client(), &engineer).await),
        "/"
    );
}

#[tokio::test]
async fn bad_codes_get_clear_messages_and_change_nothing() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let admin_key = app
        .enrol(Portal::Admin, &app.admin_client(&c.admin).await)
        .await;
    let approver_key = app
        .enrol(Portal::Admin, &app.admin_client(&c.approver).await)
        .await;
    app.advance(30);

    let half = client();
    app.admin_sign_in(&half, &c.admin).await;
    // Malformed: said so, not counted.
    let resp = app.second_step(Portal::Admin, &half, "12ab").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.expect("body");
    assert_eq!(
        alert(&html),
        "Enter the six digits your authenticator app shows, or a recovery code."
    );
    assert!(records(app, w.contoso, activity::SECOND_FACTOR_FAILED).is_empty());
    // A code of another account's authenticator: wrong.
    let resp = app
        .second_step(Portal::Admin, &half, &app.code(&approver_key))
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The half-signed-in session runs out after five minutes (the form
    // was loaded before).
    let token = csrf_of(&app.admin_page(&half, "/signin/code").await);
    app.advance(5 * 60);
    let resp = half
        .post(format!("{}/signin/code", app.admin_url))
        .form(&[
            ("csrf_token", token.as_str()),
            ("code", &app.code(&admin_key)),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let html = resp.text().await.expect("body");
    assert!(
        alert(&html).starts_with("Your sign-in has expired"),
        "{}",
        alert(&html)
    );
    assert_eq!(location(&app.get_admin(&half, "/").await), "/signin");
    // Nothing was used up: the same code signs in a fresh attempt.
    let fresh = client();
    app.admin_sign_in(&fresh, &c.admin).await;
    let resp = app
        .second_step(Portal::Admin, &fresh, &app.code(&admin_key))
        .await;
    assert_eq!(location(&resp), "/");
}

#[tokio::test]
async fn an_authenticator_is_replaced_or_removed_only_after_a_current_code() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let admin = app.admin_client(&c.admin).await;
    let old = app.enrol(Portal::Admin, &admin).await;
    app.advance(30);

    let wrong = app.code_in(&old, 600);
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/account/two-factor",
            "/account/two-factor/remove",
            &[("code", &wrong)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/account/two-factor",
            "/account/two-factor/replace",
            &[("code", &app.code(&old))],
        )
        .await;
    assert_eq!(location(&resp), "/account/two-factor/enrol");
    app.advance(30);
    let new = app.enrol(Portal::Admin, &admin).await;
    assert_ne!(new.secret, old.secret);
    let replaced = records(app, w.contoso, activity::NEW_AUTHENTICATOR);
    assert_eq!(
        replaced.last().map(|r| r.parameters["Replaced"].clone()),
        Some(true.into())
    );
    app.advance(30);
    // The old authenticator no longer signs in.
    let half = client();
    app.admin_sign_in(&half, &c.admin).await;
    let resp = app.second_step(Portal::Admin, &half, &app.code(&old)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/account/two-factor",
            "/account/two-factor/remove",
            &[("code", &app.code(&new))],
        )
        .await;
    assert_eq!(location(&resp), "/account/two-factor");
    assert_eq!(
        records(app, w.contoso, activity::REMOVE_AUTHENTICATOR).len(),
        1
    );
    assert_eq!(location(&app.admin_sign_in(&client(), &c.admin).await), "/");
}

#[tokio::test]
async fn the_operator_resets_a_staff_members_authenticator_and_they_enrol_again() {
    let w = world_with(|s| s.staff_mfa_required = true).await;
    let app = &w.app;
    let manager = client();
    app.engineer_sign_in(&manager, &w.manager).await;
    app.enrol_on(Portal::Engineer, &manager, "/signin/enrol")
        .await;
    let reset = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lockbox"))
            .args(["staff", "reset-two-factor", "--email", email])
            .env(
                "DATABASE_URL",
                app.settings
                    .database_url
                    .as_ref()
                    .expect("a database")
                    .expose(),
            )
            .env("LOCKBOX_MIGRATE_DATABASE_URL", &app.owner_url)
            .env("LOCKBOX_LOG", "warn")
            .output()
            .expect("lockbox runs")
    };
    let out = reset(&w.manager.email);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("removed the authenticator of"));
    let resp = app.engineer_sign_in(&client(), &w.manager).await;
    assert_eq!(location(&resp), "/signin/enrol");
    let out = reset("nobody@provider.example");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no staff member"));
}

fn stored_secret(app: &TestApp, user: &crate::helpers::TestUser) -> Vec<u8> {
    use lockbox::schema::second_factors as sf;
    sf::table
        .filter(sf::account_id.eq(user.id))
        .select(sf::secret)
        .first(&mut app.conn())
        .expect("an authenticator")
}

#[tokio::test]
async fn a_signed_in_session_cannot_replace_the_authenticator_without_a_current_code() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let admin = app.admin_client(&c.admin).await;
    let authenticator = app.enrol(Portal::Admin, &admin).await;
    let before = stored_secret(app, &c.admin);
    // Someone at the signed-in browser posts to the enrolment form without
    // having begun a replacement (which takes a current code).
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/account/two-factor",
            "/account/two-factor/enrol",
            &[("code", "x")],
        )
        .await;
    assert_eq!(location(&resp), "/account/two-factor");
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/account/two-factor",
            "/account/two-factor/enrol",
            &[("code", "123456")],
        )
        .await;
    assert_eq!(location(&resp), "/account/two-factor");
    let page = app.admin_page(&admin, "/account/two-factor/enrol").await;
    assert!(texts(&page, "#secret").is_empty(), "no new secret shown");
    assert_eq!(
        stored_secret(app, &c.admin),
        before,
        "the authenticator stays"
    );
    // The owner's code (of the next step: this one was used) still works.
    app.advance(30);
    let again = app
        .signed_in_with_code(Portal::Admin, &c.admin, &authenticator)
        .await;
    assert_eq!(app.get_admin(&again, "/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_codes_from_many_networks_are_capped_per_account() {
    let app = spawn_app_with(|s| s.sign_in_rate = RateQuota::UNLIMITED).await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let authenticator = app
        .enrol(Portal::Admin, &app.admin_client(&admin).await)
        .await;
    app.advance(30);
    let wrong = app.code_in(&authenticator, 600);
    let mut statuses = Vec::new();
    // Two wrong codes from each of eight addresses: every network stays
    // under its own allowance of five.
    for n in 0..8 {
        let attacker = crate::helpers::client_from(&format!("127.0.0.{}", 20 + n));
        app.admin_sign_in(&attacker, &admin).await;
        for _ in 0..2 {
            statuses.push(
                app.second_step(Portal::Admin, &attacker, &wrong)
                    .await
                    .status(),
            );
        }
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(
        checked,
        lockbox::auth::totp::store::CODE_ACCOUNT_LIMIT as usize,
        "{statuses:?}"
    );
    assert!(
        statuses[10..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_enrolment_forced_after_the_password_never_replaces_an_authenticator() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    app.require_two_factor(w.contoso, true);
    // Two half-signed-in sessions of one approver with no authenticator:
    // the owner's and that of someone who has the password.
    let owner = client();
    assert_eq!(
        location(&app.admin_sign_in(&owner, &c.approver).await),
        "/signin/enrol"
    );
    let other = client();
    assert_eq!(
        location(&app.admin_sign_in(&other, &c.approver).await),
        "/signin/enrol"
    );
    let html = app.admin_page(&other, "/signin/enrol").await;
    let their_secret = texts(&html, "#secret").pop().expect("a secret");
    let theirs_token = csrf_of(&html);
    app.enrol_on(Portal::Admin, &owner, "/signin/enrol").await;
    let mine = stored_secret(app, &c.approver);
    let resp = other
        .post(format!("{}/signin/enrol", app.admin_url))
        .form(&[
            ("csrf_token", theirs_token.as_str()),
            (
                "code",
                crate::helpers::totp_code(&their_secret, app.clock_now()).as_str(),
            ),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(location(&resp), "/signin");
    assert_eq!(stored_secret(app, &c.approver), mine, "the owner's stays");
    assert_eq!(location(&app.get_admin(&other, "/").await), "/signin");
}

#[tokio::test]
async fn a_global_admin_resets_other_authenticators_not_their_own() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let admin = app.admin_client(&c.admin).await;
    app.enrol(Portal::Admin, &admin).await;
    let before = stored_secret(app, &c.admin);
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/roles",
            &format!("/roles/users/{}/two-factor/reset", c.admin.id),
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stored_secret(app, &c.admin), before);
}
