//! Reading `/metrics` in tests: scrapes, and the value of a series.

use super::app::{TestApp, client};

impl TestApp {
    /// `/metrics` as a loopback client reads it.
    pub async fn scrape(&self) -> String {
        self.scrape_with(&client()).await
    }

    /// [`TestApp::scrape`] with `client` (its connection kept alive).
    pub async fn scrape_with(&self, client: &reqwest::Client) -> String {
        let resp = client
            .get(format!("{}/metrics", self.engineer_url))
            .send()
            .await
            .expect("scrape");
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        resp.text().await.expect("body")
    }

    /// Scrapes until `ready` holds: the gauges read from the database are
    /// refreshed by a background task (every 100 ms in tests), never by
    /// the scrape. Panics after 10 s, naming `what`.
    pub async fn scrape_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let text = self.scrape().await;
            if ready(&text) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never {what}:\n{text}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// The sum of the samples of `name` (exactly, not its `_bucket`…) whose
/// labels include every pair of `labels`; `None` when there is none.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        if metric != name
            || !labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        {
            continue;
        }
        let value: f64 = value.parse().expect("a number");
        found = Some(found.unwrap_or(0.0) + value);
    }
    found
}

/// [`sample`], 0 when absent.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or(0.0)
}
