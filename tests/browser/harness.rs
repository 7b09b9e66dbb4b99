//! Drives Debian's Chromium through chromedriver (WebDriver, fantoccini):
//! headless, a fresh profile per browser, the flags this environment needs.
//! Without chromedriver the tests fail with a clear message, unless
//! `LOCKBOX_SKIP_BROWSER_TESTS=1` opts out (for a laptop without Chromium).

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{
    Client, ClientBuilder, Locator,
    actions::{InputSource, KeyAction, KeyActions},
    key::Key,
};
use serde_json::json;

use super::axe;

/// Whether to skip: only when explicitly asked.
pub fn skip() -> bool {
    if std::env::var("LOCKBOX_SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("LOCKBOX_SKIP_BROWSER_TESTS=1: browser test skipped");
        return true;
    }
    false
}

fn chromedriver_path() -> PathBuf {
    let path = std::env::var("CHROMEDRIVER")
        .map_or_else(|_| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
    assert!(
        path.exists(),
        "chromedriver not found at {}: install Debian's `chromium` and `chromium-driver` \
         (scripts/test does), set CHROMEDRIVER, or set LOCKBOX_SKIP_BROWSER_TESTS=1 to skip",
        path.display()
    );
    path
}

/// A chromedriver process and one headless Chromium session on it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    port: u16,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    journey: String,
    shot: usize,
    /// The page's width in CSS pixels (the window starts 1280 wide).
    width: u32,
}

impl Browser {
    pub async fn start(journey: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let driver = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        axe::preload(&client, port).await;
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Self {
            client,
            driver,
            port,
            _profile: profile,
            shots,
            journey: journey.to_owned(),
            shot: 0,
            width: 1280,
        }
    }

    pub async fn goto(&mut self, url: &str) {
        self.client.goto(url).await.expect("navigate");
        self.check_page().await;
    }

    /// Makes the page `width` CSS pixels wide (360 is a phone) and checks
    /// the page shown (if any) again at that width.
    pub async fn set_width(&mut self, width: u32) {
        let (outer, height) = self.client.get_window_size().await.expect("window size");
        let inner = self.inner_width().await;
        let frame = u32::try_from(outer).expect("width") - inner;
        let height = u32::try_from(height).expect("height");
        self.client
            .set_window_size(width + frame, height)
            .await
            .expect("resize the window");
        assert_eq!(self.inner_width().await, width, "the page's width");
        self.width = width;
        let url = self.client.current_url().await.expect("url");
        if url.scheme().starts_with("http") {
            self.check_page().await;
        }
    }

    async fn inner_width(&self) -> u32 {
        let w = self
            .client
            .execute("return window.innerWidth;", vec![])
            .await
            .expect("innerWidth");
        w.as_u64()
            .and_then(|w| u32::try_from(w).ok())
            .expect("a width")
    }

    /// Presses Tab once and describes the element that has the focus then:
    /// its text or label, and whether a focus outline is visible on it.
    pub async fn tab(&mut self) -> Focused {
        self.press(Key::Tab).await;
        let focused = self
            .client
            .execute(
                r#"
                const el = document.activeElement;
                const style = getComputedStyle(el);
                const name = (el.labels && el.labels[0] ? el.labels[0].textContent : '')
                    || el.textContent || el.getAttribute('aria-label') || el.name || '';
                return {
                    name: name.replace(/\s+/g, ' ').trim(),
                    tag: el.tagName.toLowerCase(),
                    index: Array.prototype.indexOf.call(document.querySelectorAll('*'), el),
                    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                };
                "#,
                vec![],
            )
            .await
            .expect("the focused element");
        serde_json::from_value(focused).expect("a description")
    }

    /// Presses and releases one key, as a keyboard does, on whatever has
    /// the focus.
    async fn press(&self, key: Key) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Presses Tab until the element named `name` has the focus.
    pub async fn tab_to(&mut self, name: &str) {
        for _ in 0..200 {
            if self.tab().await.name == name {
                return;
            }
        }
        panic!("Tab never reaches {name:?}");
    }

    /// Presses Enter on the focused element (a link or button) and checks
    /// the page it loads.
    pub async fn press_enter(&mut self) {
        let old_page = self.client.find(Locator::Css("html")).await.expect("page");
        self.press(Key::Enter).await;
        self.wait_for_navigation(old_page).await;
        self.check_page().await;
    }

    /// Clicks the link or button whose visible text is `label`.
    pub async fn click(&mut self, label: &str) {
        let xpath = format!(
            "//a[normalize-space(.)={l}] | //button[normalize-space(.)={l}]",
            l = xpath_literal(label)
        );
        let target = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no link or button labelled {label:?}: {e}"));
        let old_page = self.client.find(Locator::Css("html")).await.expect("page");
        target.click().await.expect("click");
        self.wait_for_navigation(old_page).await;
        self.check_page().await;
    }

    /// Every click in these journeys loads a new page: wait until the old
    /// document is gone and the new one has loaded.
    async fn wait_for_navigation(&mut self, old_page: fantoccini::elements::Element) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while old_page.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click did not load a page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while self
            .client
            .execute("return document.readyState", vec![])
            .await
            .map(|v| v != "complete")
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "the page did not finish loading");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Fills the form control whose label is `label`.
    pub async fn fill(&mut self, label: &str, value: &str) {
        let id = self.control_id(label).await;
        let field = self.client.find(Locator::Id(&id)).await.expect("control");
        if field.tag_name().await.expect("tag") == "select" {
            field
                .select_by_label(value)
                .await
                .unwrap_or_else(|e| panic!("{label}: no option {value:?}: {e}"));
        } else {
            field.clear().await.expect("clear");
            field.send_keys(value).await.expect("type");
        }
    }

    /// Ticks or unticks the checkbox labelled `label`.
    pub async fn set_checkbox(&mut self, label: &str, on: bool) {
        let id = self.control_id(label).await;
        let field = self.client.find(Locator::Id(&id)).await.expect("checkbox");
        if field.is_selected().await.expect("state") != on {
            field.click().await.expect("click");
        }
    }

    async fn control_id(&mut self, label: &str) -> String {
        let xpath = format!("//label[normalize-space(.)={}]", xpath_literal(label));
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no label {label:?}: {e}"))
            .attr("for")
            .await
            .expect("for")
            .unwrap_or_else(|| panic!("label {label:?} has no for"))
    }

    pub async fn text(&mut self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    pub async fn texts(&mut self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.client.find_all(Locator::Css(css)).await.expect("find") {
            out.push(e.text().await.expect("text"));
        }
        out
    }

    pub async fn h1(&mut self) -> String {
        self.text("h1").await
    }

    /// A PNG of the page under target/screenshots/.
    pub async fn screenshot(&mut self, name: &str) {
        self.shot += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self
            .shots
            .join(format!("{}-{:02}-{name}.png", self.journey, self.shot));
        std::fs::write(&path, png).expect("write screenshot");
    }

    /// A PNG of the whole page, top to bottom, not just the window: the
    /// window grows to the page's height for the picture.
    pub async fn full_page_screenshot(&mut self, name: &str) {
        let (outer_w, outer_h) = self.client.get_window_size().await.expect("window size");
        let (outer_w, outer_h) = (
            u32::try_from(outer_w).expect("width"),
            u32::try_from(outer_h).expect("height"),
        );
        let sizes = self
            .client
            .execute(
                "return [window.innerHeight, document.documentElement.scrollHeight];",
                vec![],
            )
            .await
            .expect("heights");
        let [inner_h, page_h]: [u32; 2] = serde_json::from_value(sizes).expect("two heights");
        self.client
            .set_window_size(outer_w, outer_h - inner_h + page_h.max(inner_h))
            .await
            .expect("a taller window");
        self.screenshot(name).await;
        self.client
            .set_window_size(outer_w, outer_h)
            .await
            .expect("the window as it was");
    }

    /// Every page: no server error, one h1, a lang attribute, a label for
    /// every form control, text on every button, no sideways scrolling at
    /// the window's width, and no WCAG 2.1 A/AA violation axe-core finds.
    /// `goto` and `click` call it after every page load, so every page a
    /// journey visits is checked without the journey asking.
    pub async fn check_page(&mut self) {
        let report = self
            .client
            .execute(
                r#"
                const problems = [];
                if (!document.documentElement.getAttribute('lang')) problems.push('no lang attribute');
                const h1s = document.querySelectorAll('h1');
                if (h1s.length !== 1) problems.push(h1s.length + ' h1 elements');
                if (document.querySelector('.status-code') && document.querySelector('.status-code').textContent.trim().startsWith('5'))
                    problems.push('server error page');
                for (const el of document.querySelectorAll('input, select, textarea')) {
                    if (el.type === 'hidden') continue;
                    const labelled = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label');
                    if (!labelled) problems.push('unlabelled ' + el.tagName + ' ' + (el.name || el.id));
                }
                for (const b of document.querySelectorAll('button')) {
                    if (!b.textContent.trim()) problems.push('a button without text');
                }
                const root = document.documentElement;
                if (root.scrollWidth > root.clientWidth)
                    problems.push('scrolls sideways: ' + root.scrollWidth + ' px of content in a '
                        + root.clientWidth + ' px wide window');
                return problems;
                "#,
                vec![],
            )
            .await
            .expect("page check");
        let mut problems: Vec<String> = serde_json::from_value(report).unwrap_or_default();
        problems.extend(axe::violations(&self.client).await);
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        assert!(
            problems.is_empty(),
            "{url} (window {} px wide):\n{}",
            self.width,
            problems.join("\n")
        );
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    /// Ends chromedriver, which quits the browsers it started, even when a
    /// test failed half-way (a failed test must not leave Chromium running).
    fn drop(&mut self) {
        use std::io::Write;
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            );
            let _ = std::io::Read::read_to_end(&mut s, &mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The element that has the keyboard focus.
#[derive(Debug, serde::Deserialize)]
pub struct Focused {
    /// Its visible text or label.
    pub name: String,
    pub tag: String,
    /// Its position in the document, to tell elements with the same text apart.
    pub index: u64,
    /// Whether a focus outline at least 2 px wide is drawn around it.
    pub outline: bool,
}

/// `s` as an XPath string literal, quotes and all.
fn xpath_literal(s: &str) -> String {
    if !s.contains('"') {
        format!("\"{s}\"")
    } else if !s.contains('\'') {
        format!("'{s}'")
    } else {
        let parts: Vec<String> = s.split('"').map(|p| format!("\"{p}\"")).collect();
        format!("concat({})", parts.join(", '\"', "))
    }
}
