use chrono::Duration;
use lockbox::{staff::StaffRole, tenants::Role};
use reqwest::StatusCode;

use crate::helpers::{client, client_from, csrf_of, location, spawn_app, texts};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for url in [
        format!("{}/signin", app.admin_url),
        format!("{}/signin", app.engineer_url),
        format!("{}/no-such-page", app.admin_url),
    ] {
        let resp = client().get(&url).send().await.expect("request");
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(
            !csp.contains("script-src") || !csp.contains("unsafe-inline"),
            "{csp}"
        );
        for part in [
            "default-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{url}: {csp} lacks {part}");
        }
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
}

#[tokio::test]
async fn over_tls_cookies_are_secure_host_prefixed_and_hsts_is_sent() {
    let app = crate::helpers::spawn_app_with(|s| s.tls = true).await;
    let resp = client()
        .get(format!("{}/signin", app.admin_url))
        .send()
        .await
        .expect("request");
    assert!(
        resp.headers()["strict-transport-security"]
            .to_str()
            .expect("ascii")
            .contains("max-age=")
    );
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.starts_with("__Host-lockbox_admin="), "{cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
}

#[tokio::test]
async fn session_cookies_are_http_only_and_same_site_strict() {
    let app = spawn_app().await;
    let resp = client()
        .get(format!("{}/signin", app.engineer_url))
        .send()
        .await
        .expect("request");
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii");
    assert!(cookie.starts_with("lockbox_engineer="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"));
}

/// Signs in an engineer and returns the client and a page's CSRF token.
async fn signed_in_engineer(app: &crate::helpers::TestApp) -> (reqwest::Client, String) {
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let client = client();
    app.engineer_sign_in(&client, &engineer).await;
    let home = app.engineer_page(&client, "/").await;
    (client, csrf_of(&home))
}

#[tokio::test]
async fn a_post_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (client, _) = signed_in_engineer(&app).await;
    let resp = client
        .post(format!("{}/signout", app.engineer_url))
        .form(&[("other", "x")])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.expect("body");
    assert!(html.contains("This form has expired or did not come from this site."));
    assert_eq!(
        app.get_engineer(&client, "/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn a_post_with_a_wrong_csrf_token_is_refused() {
    let app = spawn_app().await;
    let (client, token) = signed_in_engineer(&app).await;
    let mut wrong = token.clone();
    wrong.replace_range(0..1, if token.starts_with('a') { "b" } else { "a" });
    let resp = client
        .post(format!("{}/signout", app.engineer_url))
        .form(&[("csrf_token", wrong.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_engineer(&client, "/").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_sign_in_without_a_csrf_token_is_refused() {
    let app = spawn_app().await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let client = client();
    let resp = client
        .post(format!("{}/signin", app.engineer_url))
        .form(&[
            ("email", engineer.email.as_str()),
            ("password", engineer.password.as_str()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(location(&app.get_engineer(&client, "/").await), "/signin");
}

#[tokio::test]
async fn a_post_from_a_foreign_origin_is_refused_even_with_the_token() {
    let app = spawn_app().await;
    let (client, token) = signed_in_engineer(&app).await;
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let resp = client
            .post(format!("{}/signout", app.engineer_url))
            .header(name, value)
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(resp.headers().contains_key("content-security-policy"));
        assert!(
            resp.text()
                .await
                .expect("body")
                .contains("came from another site")
        );
    }
    assert_eq!(
        app.get_engineer(&client, "/").await.status(),
        StatusCode::OK
    );

    let same = client
        .post(format!("{}/signout", app.engineer_url))
        .header("origin", app.engineer_url.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(location(&same), "/signin", "the same origin is accepted");
}

#[tokio::test]
async fn an_opaque_origin_is_judged_by_sec_fetch_site() {
    // What Chromium sends for a same-origin form post under no-referrer.
    let app = spawn_app().await;
    let (client, token) = signed_in_engineer(&app).await;
    let cross = client
        .post(format!("{}/signout", app.engineer_url))
        .header("origin", "null")
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let same = client
        .post(format!("{}/signout", app.engineer_url))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(location(&same), "/signin");
}

#[tokio::test]
async fn a_too_large_body_is_answered_413() {
    let app = spawn_app().await;
    let big = "x".repeat(100 * 1024);
    let resp = client()
        .post(format!("{}/signin", app.admin_url))
        .form(&[("email", big.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn five_failures_lock_the_pair_out_but_the_real_user_elsewhere_still_gets_in() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let attacker = client();
    for _ in 0..5 {
        let resp = app
            .admin_sign_in_with(&attacker, "Contoso", &admin.email, "guessing the password")
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = app.admin_sign_in(&attacker, &admin).await;
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password"
    );
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec!["Too many failed sign-in attempts. Wait 15 minutes and try again."]
    );

    let real_user = client_from("127.0.0.2");
    let resp = app.admin_sign_in(&real_user, &admin).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "another address is not locked out"
    );

    app.clock.advance(Duration::minutes(14));
    assert_eq!(
        app.admin_sign_in(&attacker, &admin).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        app.admin_sign_in(&attacker, &admin).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_unknown_account_is_throttled_with_the_same_message() {
    let app = spawn_app().await;
    let attacker = client();
    for _ in 0..5 {
        app.engineer_sign_in_with(
            &attacker,
            "nobody@provider.example",
            "guessing the password",
        )
        .await;
    }
    let resp = app
        .engineer_sign_in_with(
            &attacker,
            "nobody@provider.example",
            "guessing the password",
        )
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_address_is_capped_across_accounts() {
    // More sign-ins than the per-address rate limit lets through.
    let app = crate::helpers::spawn_app_with(|s| {
        s.sign_in_rate = lockbox::config::RateQuota::UNLIMITED;
    })
    .await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let attacker = client_from("127.0.0.3");
    for i in 0..50 {
        let resp = app
            .engineer_sign_in_with(
                &attacker,
                &format!("guess{i}@provider.example"),
                "guessing the password",
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let resp = app.engineer_sign_in(&attacker, &engineer).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.engineer_sign_in(&client(), &engineer).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn healthz_answers_on_both_listeners() {
    let app = spawn_app().await;
    for base in [&app.admin_url, &app.engineer_url] {
        let resp = client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["database"], "ok");
    }
}

#[tokio::test]
async fn livez_answers_on_both_listeners_without_a_session() {
    let app = spawn_app().await;
    for base in [&app.admin_url, &app.engineer_url] {
        let resp = client()
            .get(format!("{base}/livez"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get("set-cookie").is_none());
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["status"], "ok");
    }
}

#[tokio::test]
async fn an_unknown_page_answers_404_with_a_friendly_page() {
    let app = spawn_app().await;
    let resp = client()
        .get(format!("{}/nope", app.admin_url))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let html = resp.text().await.expect("body");
    assert_eq!(texts(&html, "h1"), vec!["Page not found"]);
}
