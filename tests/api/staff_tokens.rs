//! Engineer portal › API tokens: a staff member creates their own tokens
//! (the secret shown once), sees and revokes only their own.

use chrono::Duration;
use lockbox::auth::api_tokens;
use reqwest::StatusCode;

use crate::helpers::{call, location, texts, world};

/// The secret a creation page shows.
fn secret_of(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("#secret").expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_owned)
}

#[tokio::test]
async fn an_engineer_creates_a_token_uses_it_and_revokes_it_behind_a_confirmation() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let home = w.app.engineer_page(&engineer, "/").await;
    assert!(
        texts(&home, ".sidenav a").contains(&"API tokens".to_owned()),
        "a nav entry"
    );
    let empty = w.app.engineer_page(&engineer, "/tokens").await;
    assert_eq!(texts(&empty, "#tokens td.token-name").len(), 0);

    let resp = w
        .app
        .engineer_post(
            &engineer,
            "/tokens",
            "/tokens",
            &[("name", "ServiceNow"), ("expires_days", "30")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let html = resp.text().await.expect("body");
    let secret = secret_of(&html).expect("the secret is shown");
    assert!(secret.starts_with("lbx_") && secret.len() == 68);
    let again = w.app.engineer_page(&engineer, "/tokens").await;
    assert!(!again.contains(&secret), "shown once only");
    assert_eq!(texts(&again, "#tokens td.token-name"), vec!["ServiceNow"]);
    assert_eq!(texts(&again, "#tokens td.token-state"), vec!["Active"]);

    // It acts as its owner on the provider API (and nowhere else).
    let url = format!("{}/api/v1/requests", w.app.engineer_url);
    let resp = call(reqwest::Method::GET, url.clone(), &secret)
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = call(
        reqwest::Method::GET,
        format!("{}/api/v1/requests", w.app.admin_url),
        &secret,
    )
    .send()
    .await
    .expect("call");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Revoked behind its confirmation page.
    let doc = scraper::Html::parse_document(&again);
    let sel = scraper::Selector::parse("#tokens a").expect("selector");
    let revoke = doc
        .select(&sel)
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("a revoke link")
        .to_owned();
    let confirm = w.app.engineer_page(&engineer, &revoke).await;
    assert!(
        confirm.contains("Revoke the token “ServiceNow”?"),
        "{confirm}"
    );
    let resp = call(reqwest::Method::GET, url.clone(), &secret)
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::OK, "a GET revokes nothing");
    let resp = w.app.engineer_post(&engineer, &revoke, &revoke, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/tokens");
    let after = w.app.engineer_page(&engineer, "/tokens").await;
    assert!(after.contains("Token “ServiceNow” revoked."));
    assert_eq!(texts(&after, "#tokens td.token-state"), vec!["Revoked"]);
    let resp = call(reqwest::Method::GET, url, &secret)
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn staff_see_and_revoke_only_their_own_tokens_and_bad_input_is_named() {
    let w = world().await;
    let (theirs, their_secret) = api_tokens::create_staff_token(
        &mut w.app.conn(),
        w.other_engineer.staff_id(),
        "Theirs",
        Duration::days(30),
        w.app.clock_now(),
    )
    .expect("token");
    let manager = w.app.engineer_client(&w.manager).await;
    let page = w.app.engineer_page(&manager, "/tokens").await;
    assert!(!page.contains("Theirs"), "another's token is not listed");
    let revoke = format!("/tokens/{}/revoke", theirs.id);
    let resp = w.app.get_engineer(&manager, &revoke).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = w.app.engineer_post(&manager, "/tokens", &revoke, &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = call(
        reqwest::Method::GET,
        format!("{}/api/v1/requests", w.app.engineer_url),
        &their_secret,
    )
    .send()
    .await
    .expect("call");
    assert_eq!(resp.status(), StatusCode::OK, "still working");

    let resp = w
        .app
        .engineer_post(
            &manager,
            "/tokens",
            "/tokens",
            &[("name", ""), ("expires_days", "999")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.expect("body");
    assert_eq!(texts(&html, ".field-error").len(), 2, "both fields named");
    assert!(html.contains("value=\"999\""), "what was typed is kept");
    assert!(secret_of(&html).is_none());
    let none: Vec<_> =
        api_tokens::list_staff_tokens(&mut w.app.conn(), w.manager.staff_id(), 10).expect("list");
    assert!(none.is_empty(), "nothing was created");

    // Signed out: the sign-in page, not the tokens.
    let resp = w
        .app
        .get_engineer(&crate::helpers::client(), "/tokens")
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}
