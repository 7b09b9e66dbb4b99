//! axe-core, the accessibility checker the industry runs, on the page the
//! browser shows. The script is vendored under `vendor/` (version, source
//! and licence in `vendor/README.md`) and compiled into the test binary, so
//! nothing is fetched at run time; the test browser evaluates it in each
//! page it loads (the product itself carries no script).

use fantoccini::Client;
use serde_json::{Value, json};

/// axe-core's minified build, as published on the npm registry.
const AXE_SOURCE: &str = include_str!("vendor/axe.min.js");

/// The rules for WCAG 2.1 levels A and AA, by axe's tags.
const WCAG_21_AA: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Runs axe in the page (its callback is WebDriver's async-script callback)
/// and answers each violation as one line: rule, impact, what it asks for,
/// and every offending element with axe's explanation.
const RUN_AXE: &str = r#"
const [tags, done] = arguments;
axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
  .then(r => done(r.violations.map(v =>
      v.id + ' (' + v.impact + '): ' + v.help + '\n' +
      v.nodes.map(n => '    ' + n.target.join(' ') + ' :: ' + n.failureSummary.replace(/\n/g, ' ')).join('\n'))))
  .catch(e => done(['axe failed: ' + e]));
"#;

/// Has Chromium evaluate axe in every document it loads from now on (the
/// DevTools command chromedriver relays), so that checking a page does not
/// send the 650 kB script over WebDriver each time. `violations` still
/// injects it where it is missing.
pub async fn preload(client: &Client, driver_port: u16) {
    let session = client
        .session_id()
        .await
        .expect("session id")
        .expect("a session");
    let answer = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{driver_port}/session/{session}/goog/cdp/execute"
        ))
        .json(&json!({
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": { "source": AXE_SOURCE },
        }))
        .send()
        .await
        .expect("chromedriver answers");
    assert!(answer.status().is_success(), "preload axe: {answer:?}");
}

/// The WCAG 2.1 A/AA violations axe finds on the current page; empty when
/// there are none.
pub async fn violations(client: &Client) -> Vec<String> {
    let loaded = client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .expect("ask whether axe is loaded");
    if loaded != Value::Bool(true) {
        // A new document each navigation: inject axe once per page.
        client
            .execute(&format!("{AXE_SOURCE}\n;return true;"), vec![])
            .await
            .expect("inject axe-core");
    }
    let found = client
        .execute_async(RUN_AXE, vec![json!(WCAG_21_AA)])
        .await
        .expect("run axe-core");
    serde_json::from_value(found).expect("axe's violations as strings")
}
