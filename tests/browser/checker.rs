//! The checker checks: axe-core finds the violations a deliberately broken
//! page has (an image without alternative text, a field without a label),
//! finds none on a sound page, and the harness fails a journey that visits
//! the broken page (and also because it scrolls sideways).

use super::{
    axe,
    harness::{Browser, skip},
};

/// A page that passes the harness's own heuristics (a lang attribute, one
/// h1, a label element for the field) but that axe must reject: the image
/// has no alternative text and the label names no field. It is also wider
/// than any window.
const BROKEN: &str = "<!DOCTYPE html><html lang='en'><head><title>Broken</title></head>\
    <body><main><h1>Broken</h1><img src='chart.png'>\
    <label>Name</label> <input type='text' name='name'>\
    <div style='width:3000px'>Wide</div></main></body></html>";

/// The same page made sound.
const SOUND: &str = "<!DOCTYPE html><html lang='en'><head><title>Sound</title></head>\
    <body><main><h1>Sound</h1><img src='chart.png' alt='Requests per week'>\
    <label for='name'>Name</label> <input id='name' type='text' name='name'></main></body></html>";

fn data_url(html: &str) -> String {
    format!("data:text/html;charset=utf-8,{}", html.replace(' ', "%20"))
}

#[tokio::test]
async fn axe_reports_an_image_without_alt_and_a_field_without_label() {
    if skip() {
        return;
    }
    let b = Browser::start("checker").await;
    b.client.goto(&data_url(BROKEN)).await.expect("navigate");
    let found = axe::violations(&b.client).await;
    let rules: Vec<&str> = found
        .iter()
        .filter_map(|v| v.split_whitespace().next())
        .collect();
    assert!(rules.contains(&"image-alt"), "{found:#?}");
    assert!(rules.contains(&"label"), "{found:#?}");

    b.client.goto(&data_url(SOUND)).await.expect("navigate");
    let found = axe::violations(&b.client).await;
    assert!(found.is_empty(), "{found:#?}");
    b.close().await;
}

#[tokio::test]
async fn a_journey_that_visits_an_inaccessible_page_fails() {
    if skip() {
        return;
    }
    let mut b = Browser::start("checker-journey").await;
    b.goto(&data_url(SOUND)).await;
    let visit = tokio::spawn(async move { b.goto(&data_url(BROKEN)).await });
    let failure = visit.await.expect_err("the visit fails");
    let message = failure.into_panic();
    let message = message.downcast_ref::<String>().expect("a panic message");
    assert!(message.contains("image-alt ("), "{message}");
    assert!(message.contains("label ("), "{message}");
    assert!(message.contains("scrolls sideways"), "{message}");
}
