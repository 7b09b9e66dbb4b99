//! The README's API examples, replayed: every `sh` block between
//! `<!-- api-examples -->` and `<!-- /api-examples -->`, in order, against
//! the real server, so the README cannot drift from the API. The blocks are
//! read as a shell would read them (quotes, `$VAR`, line continuations,
//! `NAME=$(…)`, pipes); the commands they may use are `curl`, `lockbox`,
//! `jq -r <path>` and `tail -n <n>`, and each must succeed.

use std::{collections::HashMap, process::Command};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{World, world_with};

const README: &str = include_str!("../../README.md");
const START: &str = "<!-- api-examples -->";
const END: &str = "<!-- /api-examples -->";

/// The `sh` blocks between the markers, each as its logical lines (a
/// backslash before a line break continues the line).
fn example_blocks() -> Vec<Vec<String>> {
    let start = README.find(START).expect("the README has API examples") + START.len();
    let end = start + README[start..].find(END).expect("the examples end");
    let mut blocks = Vec::new();
    let mut rest = &README[start..end];
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + "```sh\n".len()..];
        let close = body.find("\n```").expect("a closed block");
        let lines: Vec<String> = body[..close]
            .replace("\\\n", "")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        blocks.push(lines);
        rest = &body[close + 4..];
    }
    blocks
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Pipe,
}

/// The value of `$name` (an unknown one is a mistake in the README).
fn var<'a>(vars: &'a HashMap<String, String>, name: &str, line: &str) -> &'a str {
    vars.get(name)
        .unwrap_or_else(|| panic!("${name} is not set before: {line}"))
}

/// Reads a `$NAME` or `${NAME}` at the start of `chars` (after the `$`).
fn var_name(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let braced = chars.peek() == Some(&'{');
    if braced {
        chars.next();
    }
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    if braced {
        assert_eq!(chars.next(), Some('}'), "an unclosed ${{{name}");
    }
    name
}

/// Splits a command line into words as a POSIX shell does (single and
/// double quotes, backslash escapes, `$VAR` expansion) and pipes.
fn tokenize(line: &str, vars: &HashMap<String, String>) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    tokens.push(Token::Word(w));
                }
            }
            '|' => {
                if let Some(w) = word.take() {
                    tokens.push(Token::Word(w));
                }
                tokens.push(Token::Pipe);
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => panic!("an unclosed ' in: {line}"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => panic!("a dangling \\ in: {line}"),
                        },
                        Some('$') => {
                            let name = var_name(&mut chars);
                            w.push_str(var(vars, &name, line));
                        }
                        Some(c) => w.push(c),
                        None => panic!("an unclosed \" in: {line}"),
                    }
                }
            }
            '\\' => {
                let c = chars.next().expect("an escaped character");
                word.get_or_insert_with(String::new).push(c);
            }
            '$' => {
                let name = var_name(&mut chars);
                word.get_or_insert_with(String::new)
                    .push_str(var(vars, &name, line));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word.take() {
        tokens.push(Token::Word(w));
    }
    tokens
}

/// A pipeline's commands, each as its words.
fn pipeline(line: &str, vars: &HashMap<String, String>) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    for token in tokenize(line, vars) {
        match token {
            Token::Word(w) => commands.last_mut().expect("a command").push(w),
            Token::Pipe => commands.push(Vec::new()),
        }
    }
    assert!(
        commands.iter().all(|c| !c.is_empty()),
        "an empty command in: {line}"
    );
    commands
}

/// One curl the README ran, and what it answered.
struct Called {
    method: reqwest::Method,
    url: String,
    body: Option<String>,
    answer: String,
}

struct Replay<'a> {
    w: &'a World,
    vars: HashMap<String, String>,
    /// Names the test sets itself (its addresses, ids and the token it
    /// made): the README's example values for them are not used.
    given: Vec<&'static str>,
    called: Vec<Called>,
}

impl Replay<'_> {
    async fn line(&mut self, line: &str) {
        let assignment = line
            .split_once('=')
            .filter(|(name, _)| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .map(|(name, value)| (name.to_owned(), value.to_owned()));
        match assignment {
            Some((name, _)) if self.given.contains(&name.as_str()) => {}
            Some((name, value)) => {
                let value = match value.strip_prefix("$(").and_then(|v| v.strip_suffix(')')) {
                    Some(inner) => self.run(inner).await.trim().to_owned(),
                    None => match tokenize(&value, &self.vars).as_slice() {
                        [Token::Word(w)] => w.clone(),
                        other => panic!("{name}= takes one word, not {other:?}"),
                    },
                };
                self.vars.insert(name, value);
            }
            None => {
                self.run(line).await;
            }
        }
    }

    /// Runs a pipeline; its standard output.
    async fn run(&mut self, line: &str) -> String {
        let mut output = String::new();
        for (i, argv) in pipeline(line, &self.vars).into_iter().enumerate() {
            output = match argv[0].as_str() {
                "curl" => {
                    assert_eq!(i, 0, "curl reads no input: {line}");
                    self.curl(&argv[1..], line).await
                }
                "lockbox" => {
                    assert_eq!(i, 0, "lockbox reads no input here: {line}");
                    self.lockbox(&argv[1..])
                }
                "jq" => jq(&argv[1..], &output),
                "tail" => tail(&argv[1..], &output),
                other => panic!("the README uses `{other}`, which this test cannot run: {line}"),
            };
        }
        output
    }

    async fn curl(&mut self, args: &[String], line: &str) -> String {
        let (mut method, mut url, mut body, mut to_file) = (None, None, None, false);
        let mut headers = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-s" | "-S" | "-sS" | "--silent" | "--show-error" | "--fail-with-body" => {}
                "-X" => method = args.next().cloned(),
                "-H" => {
                    let header = args.next().expect("-H takes a header");
                    let (name, value) = header.split_once(':').expect("Name: value");
                    headers.push((name.trim().to_owned(), value.trim().to_owned()));
                }
                "-d" | "--data" => body = args.next().cloned(),
                "-o" => {
                    args.next();
                    to_file = true;
                }
                u if u.starts_with("http://") => url = Some(u.to_owned()),
                other => panic!("curl {other} is not understood by this test: {line}"),
            }
        }
        let url = url.expect("curl needs a URL");
        let method = method.unwrap_or_else(|| {
            if body.is_some() {
                "POST".into()
            } else {
                "GET".into()
            }
        });
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = reqwest::Client::new().request(method.clone(), &url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        if let Some(b) = &body {
            request = request.body(b.clone());
        }
        let resp = request.send().await.expect("the call");
        let status = resp.status();
        let answer = resp.text().await.expect("the answer");
        assert!(
            status.is_success(),
            "README: {line}\nanswered {status}: {answer}"
        );
        self.called.push(Called {
            method,
            url,
            body,
            answer: answer.clone(),
        });
        if to_file { String::new() } else { answer }
    }

    /// Runs the `lockbox` binary on the test's database, as the operator
    /// would on theirs.
    fn lockbox(&self, args: &[String]) -> String {
        let app = &self.w.app;
        let out = Command::new(env!("CARGO_BIN_EXE_lockbox"))
            .args(args)
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
            .expect("lockbox runs");
        assert!(
            out.status.success(),
            "lockbox {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }
}

/// `jq -r PATH` for paths like `.RequestId` and `.Items[0].RequestId`.
fn jq(args: &[String], input: &str) -> String {
    let [raw, path] = args else {
        panic!("jq -r PATH only: {args:?}")
    };
    assert_eq!(raw, "-r", "jq -r PATH only");
    let mut value: Value = serde_json::from_str(input).expect("jq reads JSON");
    for step in path.trim_start_matches('.').split('.') {
        let (key, index) = match step.split_once('[') {
            Some((k, i)) => (
                k,
                Some(i.trim_end_matches(']').parse::<usize>().expect("[n]")),
            ),
            None => (step, None),
        };
        if !key.is_empty() {
            value = value[key].take();
        }
        if let Some(i) = index {
            value = value[i].take();
        }
    }
    match value {
        Value::String(s) => format!("{s}\n"),
        other => format!("{other}\n"),
    }
}

/// `tail -n N` (or `tail -N`).
fn tail(args: &[String], input: &str) -> String {
    let n: usize = match args {
        [flag, n] if flag == "-n" => n.parse().expect("tail -n N"),
        [n] if n.starts_with('-') => n[1..].parse().expect("tail -N"),
        _ => panic!("tail -n N only: {args:?}"),
    };
    let lines: Vec<&str> = input.lines().collect();
    let mut out = lines[lines.len().saturating_sub(n)..].join("\n");
    out.push('\n');
    out
}

#[test]
fn the_replay_reads_shell_words_as_a_shell_does() {
    let vars = HashMap::from([("A".to_owned(), "x y".to_owned())]);
    assert_eq!(
        tokenize(
            r#"curl -H "B: $A" '{"c": "$A"}' "{\"d\": \"${A}\"}" | jq -r .e"#,
            &vars
        ),
        vec![
            Token::Word("curl".into()),
            Token::Word("-H".into()),
            Token::Word("B: x y".into()),
            Token::Word(r#"{"c": "$A"}"#.into()),
            Token::Word(r#"{"d": "x y"}"#.into()),
            Token::Pipe,
            Token::Word("jq".into()),
            Token::Word("-r".into()),
            Token::Word(".e".into()),
        ]
    );
    assert_eq!(
        jq(
            &["-r".into(), ".Items[1].Id".into()],
            r#"{"Items": [{"Id": 1}, {"Id": "b"}]}"#
        ),
        "b\n"
    );
    assert_eq!(tail(&["-n".into(), "1".into()], "a\nb\n"), "b\n");
}

#[tokio::test]
async fn the_readme_api_examples_work_as_written() {
    // As deployed: the request must cite an open service request.
    let w = world_with(|s| s.require_ticket = true).await;
    let c = w.customers();
    let sr_number = w.app.arrange_ticket(&c.user, "Mailbox does not sync");
    // As the README says: a global administrator creates a decide token
    // under Settings › API tokens and copies its secret.
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/settings/api-tokens",
            "/settings/api-tokens",
            &[
                ("name", "Change board"),
                ("scope", "decide"),
                ("expires_days", "90"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.expect("body");
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#secret").expect("selector");
    let token = doc
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("the secret is shown")
        .to_owned();

    let mut replay = Replay {
        w: &w,
        vars: HashMap::from([
            ("ADMIN".to_owned(), w.app.admin_url.clone()),
            ("ENGINEER".to_owned(), w.app.engineer_url.clone()),
            ("TENANT_ID".to_owned(), w.contoso.to_string()),
            ("TOKEN".to_owned(), token),
            ("SR_NUMBER".to_owned(), sr_number),
        ]),
        given: vec!["ADMIN", "ENGINEER", "TENANT_ID", "TOKEN", "SR_NUMBER"],
        called: Vec::new(),
    };
    let blocks = example_blocks();
    assert!(blocks.len() >= 5, "the README's example blocks: {blocks:?}");
    for line in blocks.iter().flatten() {
        replay.line(line).await;
    }

    // What the issue asks the README to show, it shows, and it worked.
    let id = lockbox::identity::RequestId(
        uuid::Uuid::parse_str(&replay.vars["REQUEST_ID"]).expect("a request id was captured"),
    );
    let called = |method: reqwest::Method, url: &str| {
        replay
            .called
            .iter()
            .find(|c| c.method == method && c.url.ends_with(url))
            .unwrap_or_else(|| panic!("the README calls {method} {url}"))
    };
    let pending = called(
        reqwest::Method::GET,
        "/api/v1/requests?ApprovalStatus=PendingCustomer",
    );
    assert!(
        pending.answer.contains(&id.to_string()),
        "{}",
        pending.answer
    );
    let queue = called(reqwest::Method::GET, "/api/v1/queue");
    assert!(queue.answer.contains(&id.to_string()), "{}", queue.answer);
    let decision = called(
        reqwest::Method::POST,
        &format!("/api/v1/requests/{id}/decision"),
    );
    let body: Value =
        serde_json::from_str(decision.body.as_deref().expect("a body")).expect("JSON");
    assert_eq!(body["ApprovalDecision"], "Approve");
    assert_eq!(w.app.stored_status(id), "approved");
    let export = called(
        reqwest::Method::GET,
        "/api/v1/audit/export?format=csv&Activities=Set-AccessToCustomerDataRequest",
    );
    assert!(export.answer.starts_with("id,occurred_at_utc,"));
    assert!(export.answer.contains(&id.to_string()), "{}", export.answer);
}
