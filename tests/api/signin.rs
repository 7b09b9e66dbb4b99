use lockbox::{staff::StaffRole, tenants::Role};
use reqwest::StatusCode;

use crate::helpers::{client, location, spawn_app, texts};

#[tokio::test]
async fn a_global_admin_signs_in_and_sees_the_admin_center_with_the_tenant_name() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let client = client();

    let resp = app.admin_sign_in(&client, &admin).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/");

    let home = app.get_admin(&client, "/").await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.expect("body");
    assert_eq!(texts(&html, "h1"), vec!["Home"]);
    assert_eq!(texts(&html, ".tenant"), vec!["Contoso"]);
    assert!(texts(&html, ".badge-on")[0].starts_with("Customer Lockbox is on"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", false);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let client = client();

    let resp = app
        .admin_sign_in_with(&client, "Contoso", &admin.email, "not the password at all")
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec!["The organization, email address or password is incorrect."]
    );
    let doc = scraper::Html::parse_document(&html);
    let value = |sel: &str| {
        doc.select(&scraper::Selector::parse(sel).expect("selector"))
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_owned))
    };
    assert_eq!(value("#organization").as_deref(), Some("Contoso"));
    assert_eq!(value("#email").as_deref(), Some("admin@contoso.example"));
    assert_eq!(value("#password"), None, "the password is never echoed");
    assert!(!html.contains("not the password at all"));

    assert_eq!(location(&app.get_admin(&client, "/").await), "/signin");
}

#[tokio::test]
async fn the_right_password_in_the_wrong_organization_is_refused() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", false);
    app.create_tenant("Fabrikam", false);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let resp = app
        .admin_sign_in_with(&client(), "Fabrikam", &admin.email, &admin.password)
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn empty_fields_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let resp = app.admin_sign_in_with(&client(), "", "", "").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec!["Enter your organization, email address and password."]
    );
}

#[tokio::test]
async fn a_plain_user_signs_in_but_sees_the_no_access_page() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let user = app.create_user("Contoso", "user@contoso.example", Role::User);
    let client = client();

    assert_eq!(
        app.admin_sign_in(&client, &user).await.status(),
        StatusCode::SEE_OTHER
    );
    let resp = app.get_admin(&client, "/").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "h1"),
        vec!["You don't have access to Customer Lockbox"]
    );
    assert!(
        html.contains("You need the global administrator or Customer Lockbox access approver role")
    );
    assert_eq!(
        texts(&html, ".sidenav a"),
        vec!["Support › Service requests"],
        "no navigation to pages they cannot use: only their service requests"
    );
}

#[tokio::test]
async fn an_approver_sees_the_admin_center() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", false);
    let approver = app.create_user("Contoso", "approver@contoso.example", Role::Approver);
    let client = app.admin_client(&approver).await;
    let html = app.admin_page(&client, "/").await;
    assert!(texts(&html, "dd").contains(&"Customer Lockbox access approver".to_owned()));
    assert!(texts(&html, ".badge-off")[0].starts_with("Customer Lockbox is off"));
}

#[tokio::test]
async fn an_engineer_signs_in_to_the_engineer_portal() {
    let app = spawn_app().await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let client = client();

    let resp = app.engineer_sign_in(&client, &engineer).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = app.engineer_page(&client, "/").await;
    assert_eq!(texts(&html, "h1"), vec!["Engineer portal"]);
    assert!(texts(&html, "dd").contains(&"Support engineer".to_owned()));
    assert!(html.contains("class=\"portal-engineer\""));
}

#[tokio::test]
async fn an_engineer_with_a_wrong_password_is_refused() {
    let app = spawn_app().await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let client = client();
    let resp = app
        .engineer_sign_in_with(&client, &engineer.email, "wrong password here")
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&app.get_engineer(&client, "/").await), "/signin");
}

#[tokio::test]
async fn a_tenant_user_cannot_sign_in_to_the_engineer_portal() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let resp = app.engineer_sign_in(&client(), &admin).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_ask_for_sign_in_first() {
    let app = spawn_app().await;
    let resp = app.get_admin(&client(), "/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/signin");
    let resp = app.get_engineer(&client(), "/").await;
    assert_eq!(location(&resp), "/signin");
}

#[tokio::test]
async fn the_ui_speaks_dutch_by_accept_language_and_by_the_switch() {
    let app = spawn_app().await;
    let client = client();
    let html = client
        .get(format!("{}/signin", app.admin_url))
        .header("accept-language", "nl-NL,nl;q=0.9,en;q=0.5")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(texts(&html, "h1"), vec!["Aanmelden"]);
    assert!(html.contains("<html lang=\"nl\">"));

    let resp = app.get_admin(&client, "/lang?to=nl&back=/signin").await;
    assert_eq!(location(&resp), "/signin");
    let html = app.admin_page(&client, "/signin").await;
    assert_eq!(texts(&html, "h1"), vec!["Aanmelden"]);

    for back in [
        "//evil.example",
        "/%09/evil.example",
        "/%5Cevil.example",
        "https://evil.example",
    ] {
        let resp = app
            .get_admin(&client, &format!("/lang?to=en&back={back}"))
            .await;
        assert_eq!(location(&resp), "/", "no open redirect through {back}");
    }
}
