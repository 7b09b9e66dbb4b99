//! Fuzzing: property tests over every parser of user input (arbitrary,
//! huge, NUL, control and right-to-left text: they never panic and accept
//! only what they should), and an HTTP fuzz that sends 10,000 generated
//! requests to every route of both portals and both APIs, signed in and
//! not, with API tokens of every kind and none, and then requires no 5xx
//! answer and no change to the database.
//!
//! The HTTP fuzz is seeded: `LOCKBOX_FUZZ_SEED` replays a run (the seed is
//! printed on failure) and `LOCKBOX_FUZZ_REQUESTS` changes the count.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    time::Instant,
};

use chrono::Datelike;
use diesel::RunQueryDsl;
use futures::StreamExt;
use lockbox::{
    audit::{self, export::Format},
    auth::api_tokens::TokenScope,
    content::{self, Operation},
    i18n::Lang,
    identity::{DisplayName, Email, NewPassword, RequestId, TenantId},
    requests::{
        AccessDuration, Comment, Cursor, Justification, NewRequestInput, Policy,
        ServiceRequestNumber, Status, Workload,
    },
    tenants::{Role, TenantName},
};
use proptest::prelude::*;
use reqwest::{Client, StatusCode};
use uuid::Uuid;

use crate::helpers::{TestApp, call, client, csrf_of, customer_token, staff_token, world_with};

// ---------------------------------------------------------------------
// Property tests of the parsers.
// ---------------------------------------------------------------------

/// Characters that break parsers: NUL and other controls, line breaks,
/// right-to-left marks, overrides and isolates, byte-order marks,
/// replacement and astral characters, and syntax characters.
const NASTY: &[char] = &[
    '\0', '\u{1}', '\u{8}', '\t', '\n', '\r', '\u{b}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}',
    '\u{200b}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{2028}', '\u{feff}', '\u{fffd}', 'é', 'ß',
    'İ', 'ﬃ', 'א', 'ع', '𝕏', '🦀', '%', '&', '=', '+', '-', '.', ':', ',', ';', '@', '/', '\\',
    '\'', '"', '<', '>', ' ', '#', '?',
];

fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        3 => prop::sample::select(NASTY),
        2 => prop::char::range('a', 'z'),
        2 => prop::char::range('0', '9'),
    ]
}

/// Arbitrary text: short, long (past every bound) or a known edge case.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(nasty_char(), 0..40).prop_map(String::from_iter),
        1 => prop::collection::vec(nasty_char(), 0..300).prop_map(String::from_iter),
        // Past every bound (cheap to make: one character repeated).
        1 => (prop::sample::select(NASTY), 0usize..5_000, prop::collection::vec(nasty_char(), 0..5))
            .prop_map(|(c, n, tail)| std::iter::repeat_n(c, n).chain(tail).collect()),
        1 => prop::sample::select(vec![
            "", " ", "\0", "ada@contoso.example", " Ada@Contoso.Example ", "a@b@c", "@", "a@",
            "Provider Operator", "Provider Operator\u{202e}", "\u{202e}rotarepO", "SR-4711",
            "240", " 240 ", "+240", "-1", "0", "241", "9223372036854775807",
            "-9223372036854775808", "99999999999999999999", "1e3", "４２", "exchange", "Exchange",
            "2026-03-02", "+262142-12-31", "-262144-01-01", "0000-01-01", "9999-12-31",
            "2026-02-30", "correct horse", "correct horse battery staple",
        ])
        .prop_map(str::to_owned),
    ]
}

fn no_bidi_control(s: &str) -> bool {
    !s.chars()
        .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        // A failure prints its minimal input; nothing is written to disk.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn emails_are_trimmed_lowercase_bounded_and_have_one_at(raw in text()) {
        if let Ok(email) = Email::parse(&raw) {
            let e = email.as_str();
            prop_assert_eq!(e, raw.trim().to_lowercase());
            prop_assert!(e.len() <= 254);
            prop_assert_eq!(e.matches('@').count(), 1);
            prop_assert!(!e.starts_with('@') && !e.ends_with('@'));
            prop_assert!(!e.chars().any(|c| c.is_whitespace() || c.is_control()));
            prop_assert!(no_bidi_control(e));
        }
    }

    #[test]
    fn display_names_are_trimmed_bounded_and_free_of_controls(raw in text()) {
        match DisplayName::parse(&raw) {
            Ok(name) => {
                let n = name.as_str();
                prop_assert_eq!(n, raw.trim());
                prop_assert!((1..=100).contains(&n.chars().count()));
                prop_assert!(!n.chars().any(char::is_control));
                prop_assert!(no_bidi_control(n));
            }
            Err(_) => {
                let t = raw.trim();
                prop_assert!(
                    t.is_empty()
                        || t.chars().count() > 100
                        || t.chars().any(char::is_control)
                        || !no_bidi_control(t),
                    "refused a good name: {:?}", t
                );
            }
        }
    }

    #[test]
    fn passwords_are_exactly_12_to_128_characters(raw in text()) {
        let n = raw.chars().count();
        prop_assert_eq!(NewPassword::parse(&raw).is_ok(), (12..=128).contains(&n));
    }

    #[test]
    fn tenant_names_never_panic(raw in text()) {
        if let Ok(name) = TenantName::parse(&raw) {
            prop_assert!(!name.as_str().is_empty());
            prop_assert!(!name.as_str().contains('\0'));
        }
    }

    #[test]
    fn service_request_numbers_are_1_to_64_characters_without_controls(raw in text()) {
        let t = raw.trim();
        let should = !t.is_empty() && t.chars().count() <= 64 && !t.chars().any(char::is_control);
        match ServiceRequestNumber::parse(&raw) {
            Ok(sr) => {
                prop_assert!(should);
                prop_assert_eq!(sr.as_str(), t);
            }
            Err(_) => prop_assert!(!should),
        }
    }

    #[test]
    fn justifications_are_1_to_2000_characters_with_only_line_breaks_and_tabs(raw in text()) {
        let t = raw.trim();
        let stray = t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        let should = !t.is_empty() && t.chars().count() <= 2_000 && !stray;
        match Justification::parse(&raw) {
            Ok(j) => {
                prop_assert!(should);
                prop_assert_eq!(j.as_str(), t);
                prop_assert!(!j.as_str().contains('\0'));
            }
            Err(_) => prop_assert!(!should),
        }
    }

    #[test]
    fn comments_are_optional_and_at_most_1000_characters(raw in text()) {
        let t = raw.trim();
        let stray = t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        let should = t.chars().count() <= 1_000 && !stray;
        match Comment::parse(&raw) {
            Ok(c) => {
                prop_assert!(should);
                prop_assert_eq!(c.as_deref(), (!t.is_empty()).then_some(t));
            }
            Err(_) => prop_assert!(!should),
        }
    }

    #[test]
    fn durations_are_whole_minutes_within_the_window(raw in text(), hours in 1i64..=8) {
        let policy = Policy {
            max_window: chrono::Duration::hours(hours),
            ..Policy::default()
        };
        let expected = raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|m| (1..=hours * 60).contains(m));
        prop_assert_eq!(
            AccessDuration::parse(&raw, &policy).ok().map(|d| i64::from(d.minutes())),
            expected
        );
    }

    #[test]
    fn new_request_forms_accept_only_every_field_valid(
        tenant in prop_oneof![Just(Uuid::from_u128(42).to_string()), text()],
        sr in text(),
        workload in prop_oneof![Just("exchange".to_owned()), Just("onedrive".to_owned()), text()],
        duration in prop_oneof![Just("240".to_owned()), text()],
        justification in text(),
    ) {
        let input = NewRequestInput {
            tenant: tenant.clone(),
            service_request: sr.clone(),
            workload: workload.clone(),
            duration: duration.clone(),
            justification: justification.clone(),
        };
        let policy = Policy::default();
        match input.parse(&policy) {
            Ok(new) => {
                prop_assert_eq!(new.tenant_id.0, Uuid::parse_str(tenant.trim()).expect("accepted"));
                prop_assert!(ServiceRequestNumber::parse(&sr).is_ok());
                prop_assert_eq!(Some(new.workload), Workload::from_db(workload.trim()));
                prop_assert!(AccessDuration::parse(&duration, &policy).is_ok());
                prop_assert!(Justification::parse(&justification).is_ok());
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                // Every error names a field of the form.
                for field in errors.keys() {
                    prop_assert!(
                        ["tenant", "service_request", "workload", "duration", "justification"]
                            .contains(field)
                    );
                }
            }
        }
    }

    #[test]
    fn names_from_the_database_vocabularies_parse_only_exactly(raw in text()) {
        prop_assert_eq!(Workload::from_db(&raw).map(Workload::as_db), Workload::ALL.iter().map(|w| w.as_db()).find(|w| *w == raw));
        prop_assert_eq!(Status::from_db(&raw).map(Status::as_db), Status::ALL.iter().map(|s| s.as_db()).find(|s| *s == raw));
        prop_assert_eq!(Role::from_db(&raw).map(Role::as_db), Role::ALL.iter().map(|r| r.as_db()).find(|r| *r == raw));
        prop_assert_eq!(Format::parse(&raw).map(Format::extension), ["csv", "jsonl"].into_iter().find(|f| *f == raw));
    }

    #[test]
    fn language_choices_never_panic(raw in text()) {
        let _ = Lang::from_code(&raw);
        let _ = Lang::from_accept_language(&raw);
    }

    #[test]
    fn content_operations_parse_only_known_names_and_bounded_fields(
        name in prop_oneof![
            prop::sample::select(content::OPERATIONS.iter().map(|o| o.name).collect::<Vec<_>>())
                .prop_map(str::to_owned),
            text(),
        ],
        fields in prop::collection::hash_map(
            prop_oneof![
                prop::sample::select(vec![
                    "mailbox", "sender", "recipient", "start", "end", "words", "site", "path",
                    "owner", "operation",
                ])
                .prop_map(str::to_owned),
                text(),
            ],
            prop_oneof![
                3 => text(),
                1 => prop::sample::select(vec![
                    "2026-03-02", "+262142-12-31", "-262144-01-01", "9999-12-31", "0000-01-01",
                ])
                .prop_map(str::to_owned),
            ],
            0..6,
        ),
    ) {
        match Operation::parse(&name, &fields) {
            Ok(op) => {
                let spec = content::spec(&name).expect("only known operations parse");
                prop_assert_eq!(op.name(), spec.name);
                for (field, required) in spec.fields {
                    let v = fields.get(*field).map(|v| v.trim()).unwrap_or("");
                    prop_assert!(!(*required && v.is_empty()), "required {field} missing");
                    prop_assert!(v.chars().count() <= 200);
                    prop_assert!(!v.chars().any(char::is_control));
                }
                // Its parameters are what the audit record stores.
                prop_assert!(op.parameters().is_object());
                prop_assert!(!op.parameters().to_string().contains("\\u0000"));
            }
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    #[test]
    fn audit_cursors_decode_only_what_encode_writes(raw in prop_oneof![
        text(),
        (any::<i64>(), any::<i64>()).prop_map(|(a, b)| format!("{a}.{b}")),
    ]) {
        if let Some(c) = audit::search::Cursor::decode(&raw) {
            prop_assert_eq!(audit::search::Cursor::decode(&c.encode()), Some(c));
            prop_assert!((1..=9999).contains(&c.occurred_at.year()), "{} cannot be stored", c.occurred_at);
            prop_assert!(raw.chars().all(|ch| ch.is_ascii_digit() || "+-.".contains(ch)));
        }
    }

    #[test]
    fn request_list_cursors_never_panic_and_round_trip(raw in prop_oneof![
        text(),
        (any::<i32>(), any::<i64>(), any::<u128>())
            .prop_map(|(r, m, u)| format!("{r}.{m}.{}", Uuid::from_u128(u))),
    ]) {
        if let Some(c) = Cursor::decode(&raw) {
            prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
    }
}

#[test]
fn huge_inputs_are_refused_quickly_without_panicking() {
    let huge = "\u{202e}\0x".repeat(1_000_000);
    let started = Instant::now();
    assert!(Email::parse(&huge).is_err());
    assert!(DisplayName::parse(&huge).is_err());
    assert!(NewPassword::parse(&huge).is_err());
    assert!(ServiceRequestNumber::parse(&huge).is_err());
    assert!(Justification::parse(&huge).is_err());
    assert!(Comment::parse(&huge).is_err());
    assert!(AccessDuration::parse(&huge, &Policy::default()).is_err());
    assert!(audit::search::Cursor::decode(&huge).is_none());
    assert!(Cursor::decode(&huge).is_none());
    let fields = HashMap::from([("words".to_owned(), huge.clone())]);
    assert!(Operation::parse("Search-Mailbox", &fields).is_err());
    // Linear work, not a pathological parse (a generous bound for an
    // unoptimised build on a busy machine).
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

// ---------------------------------------------------------------------
// The HTTP fuzz.
// ---------------------------------------------------------------------

/// A small, seedable generator (SplitMix64): the same seed gives the same
/// requests on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Escapes that are not valid UTF-8 (or not valid escapes at all).
const BAD_ESCAPES: &[&str] = &[
    "%FF",
    "%C3%28",
    "%00",
    "%",
    "%G1",
    "%E2%82",
    "%ED%A0%80",
    "%C0%AF",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Portal {
    Admin,
    Engineer,
}

/// Who sends a request: a signed-in person or a visitor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Persona {
    /// A visitor with a cookie jar (an anonymous session).
    Visitor,
    /// A client that keeps no cookies at all.
    Bare,
    GlobalAdmin,
    Approver,
    PlainUser,
    Engineer,
    Manager,
}

impl Persona {
    fn portal_default(self) -> Portal {
        match self {
            Persona::Engineer | Persona::Manager => Portal::Engineer,
            _ => Portal::Admin,
        }
    }
}

/// What the world holds that a request may name.
struct Ids {
    requests: Vec<RequestId>,
    records: Vec<i64>,
    users: Vec<Uuid>,
    tenants: Vec<TenantId>,
    /// API tokens (customers' and staff's): their pages may be shown, but
    /// no request with a valid CSRF token may name one to revoke.
    tokens: Vec<Uuid>,
    /// Service request numbers (issue 17).
    tickets: Vec<String>,
}

/// The bearer token an API call carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Bearer {
    None,
    Garbage,
    CustomerRead,
    CustomerDecide,
    CustomerAdmin,
    Engineer,
    Manager,
}

impl Bearer {
    const ALL: [Bearer; 7] = [
        Bearer::None,
        Bearer::Garbage,
        Bearer::CustomerRead,
        Bearer::CustomerDecide,
        Bearer::CustomerAdmin,
        Bearer::Engineer,
        Bearer::Manager,
    ];

    /// Whether the token is valid on `portal`'s listener.
    fn valid_on(self, portal: Portal) -> bool {
        match self {
            Bearer::None | Bearer::Garbage => false,
            Bearer::Engineer | Bearer::Manager => portal == Portal::Engineer,
            _ => portal == Portal::Admin,
        }
    }
}

/// A JSON API call's method, token and body type.
struct ApiCall {
    method: reqwest::Method,
    bearer: Bearer,
    /// `application/json` (or, sometimes, not).
    json: bool,
}

struct FuzzRequest {
    persona: Persona,
    portal: Portal,
    post: bool,
    /// Path and query, as sent.
    target: String,
    body: Vec<u8>,
    /// The body carries the session's CSRF token.
    valid_token: bool,
    /// A JSON API call (sent without cookies).
    api: Option<ApiCall>,
}

impl FuzzRequest {
    fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(300).collect();
        let method = match &self.api {
            Some(api) => format!(
                "{} (bearer {:?}, json {})",
                api.method, api.bearer, api.json
            ),
            None if self.post => "POST".into(),
            None => "GET".into(),
        };
        format!(
            "{:?} {:?} {method} {} (valid token: {}) body: {body:?}",
            self.persona,
            self.portal,
            self.target.chars().take(300).collect::<String>(),
            self.valid_token
        )
    }

    /// Whether the request asks for a change (and so must be refused).
    fn writes(&self) -> bool {
        match &self.api {
            Some(api) => api.method != reqwest::Method::GET,
            None => self.post,
        }
    }
}

/// A string of nasty characters, short, long or huge.
fn nasty(rng: &mut Rng) -> String {
    let len = match rng.below(20) {
        0 => rng.below(3_000),
        1 => 0,
        _ => rng.below(24),
    };
    let mut s = String::new();
    for _ in 0..len {
        let c = match rng.below(4) {
            0 => *rng.pick(NASTY),
            1 => char::from_u32((rng.next() % 0x11_0000) as u32).unwrap_or('\u{fffd}'),
            _ => *rng.pick(&['a', 'Z', '0', '7', '-', ' ', '.', 'x']),
        };
        s.push(c);
    }
    s
}

/// A value for a field or parameter: nasty text, or something close to
/// valid (dates with extreme years, cursors, ids, names of things).
fn value(rng: &mut Rng, ids: &Ids) -> String {
    match rng.below(11) {
        0..=3 => nasty(rng),
        4 | 10 => rng
            .pick(&[
                "2026-03-02",
                "2026-03-02T09:00",
                "+262142-12-31",
                "-262144-01-01T00:00",
                "0000-01-01",
                "9999-12-31T23:59",
                "2026-02-30",
                "2026-13-01",
                "20260302",
                "-5000-01-01",
                "-5000-01-01T00:00",
                "+10000-01-01",
                "-0001-12-31",
                "2026-03-02T09:00:00Z",
                "+262142-12-31T00:00:00Z",
                "-0001-12-31T00:00:00+01:00",
                "0000-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999999-23:59",
            ])
            .to_string(),
        5 => {
            let micros = *rng.pick(&[
                0i64,
                i64::MIN,
                i64::MAX,
                -8_000_000_000_000_000_000,
                253_402_300_800_000_000,
                1_772_441_000_000_000,
            ]);
            match rng.below(3) {
                0 => format!("{micros}.{}", rng.next() as i64),
                1 => format!("{}.{micros}.{}", rng.next() as i32, rng.pick(&ids.requests)),
                _ => format!("{micros}"),
            }
        }
        6 => match rng.below(4) {
            0 => rng.pick(&ids.requests).to_string(),
            1 => rng.pick(&ids.tenants).to_string(),
            2 => Uuid::from_u128(u128::from(rng.next())).to_string(),
            _ => rng.pick(&ids.records).to_string(),
        },
        7 => rng
            .pick(&[
                "approve",
                "deny",
                "cancel",
                "revoke",
                "reject",
                "exchange",
                "sharepoint",
                "onedrive",
                "pending_customer",
                "approved",
                "global_admin",
                "approver",
                "user",
                "Set-AccessToCustomerDataRequest",
                "Set-AccessToCustomerDataRequest,UserLoggedIn",
                "PendingCustomer",
                "Approve",
                "UserLoggedIn",
                "Get-MailboxStatistics",
                "Search-Mailbox",
                "csv",
                "jsonl",
                "en",
                "nl",
                "on",
                "yes",
            ])
            .to_string(),
        8 => rng
            .pick(&["", " ", "240", "-1", "0", "99999999999999999999", "1e3"])
            .to_string(),
        _ => "x".repeat(rng.below(70_000)),
    }
}

/// Up to `n` nasty characters, encoded.
fn short_nasty(rng: &mut Rng, n: usize) -> String {
    let s: String = nasty(rng).chars().take(n).collect();
    encode(rng, &s)
}

/// `s` percent-encoded, or (sometimes) raw with bad escapes spliced in.
fn encode(rng: &mut Rng, s: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
    if rng.chance(70) {
        return encoded;
    }
    let mut out = String::new();
    for part in encoded.split_inclusive('%').take(20) {
        out.push_str(part);
        if rng.chance(30) {
            let bad: &&str = rng.pick(BAD_ESCAPES);
            out.push_str(bad);
        }
    }
    let bad: &&str = rng.pick(BAD_ESCAPES);
    out.push_str(bad);
    out
}

const QUERY_KEYS: &[&str] = &[
    "activity",
    "start",
    "end",
    "users",
    "item",
    "text",
    "narrow",
    "after",
    "state",
    "from",
    "until",
    "to",
    "back",
    "format",
    "tenant",
    "ApprovalStatus",
    "CreatedAfter",
    "CreatedBefore",
    "RequestId",
    "cursor",
    "limit",
    "Activities",
    "StartDate",
    "EndDate",
    "Users",
    "Item",
    "FreeText",
    "workload",
    "severity",
];

const FIELD_KEYS: &[&str] = &[
    "organization",
    "email",
    "password",
    "comment",
    "tenant",
    "service_request",
    "workload",
    "duration",
    "justification",
    "operation",
    "mailbox",
    "sender",
    "recipient",
    "start",
    "end",
    "words",
    "site",
    "path",
    "owner",
    "require_approval",
    "approvals_required",
    "confirm",
    "role",
    "display_name",
    "name",
    "scope",
    "expires_days",
    "title",
    "description",
    "severity",
    "body",
    "text",
];

/// The query keys the page at `path` reads (so values reach its parser).
fn keys_of(path: &str) -> &'static [&'static str] {
    if path.starts_with("/api/v1/requests") {
        &[
            "ApprovalStatus",
            "CreatedAfter",
            "CreatedBefore",
            "RequestId",
            "cursor",
            "limit",
        ]
    } else if path.starts_with("/api/v1/audit") {
        &[
            "Activities",
            "StartDate",
            "EndDate",
            "Users",
            "Item",
            "FreeText",
            "cursor",
            "limit",
            "format",
        ]
    } else if path.starts_with("/api") {
        &["cursor", "limit"]
    } else if path.starts_with("/audit") {
        &[
            "activity", "start", "end", "users", "item", "text", "narrow", "after",
        ]
    } else if path == "/support/lockbox/requests" || path == "/requests" || path == "/queue" {
        &["state", "from", "until", "after"]
    } else if path == "/support" {
        &["tenant", "workload", "severity", "after"]
    } else if path == "/support/tickets" {
        &["after"]
    } else if path == "/lang" {
        &["to", "back"]
    } else {
        QUERY_KEYS
    }
}

fn query(rng: &mut Rng, ids: &Ids, path: &str) -> String {
    if rng.chance(25) {
        return String::new();
    }
    let n = 1 + rng.below(6);
    let mut pairs = Vec::new();
    for _ in 0..n {
        let key = if rng.chance(60) {
            rng.pick(keys_of(path)).to_string()
        } else if rng.chance(85) {
            rng.pick(QUERY_KEYS).to_string()
        } else {
            short_nasty(rng, 20)
        };
        let mut v = value(rng, ids);
        v.truncate(v.char_indices().nth(4_000).map_or(v.len(), |(i, _)| i));
        pairs.push(format!("{key}={}", encode(rng, &v)));
    }
    format!("?{}", pairs.join("&"))
}

/// A path segment standing for an id: a real one, a random one, or junk.
fn id_segment(rng: &mut Rng, real: &[String]) -> String {
    match rng.below(6) {
        0 | 1 => rng.pick(real).clone(),
        2 => Uuid::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next())).to_string(),
        3 => rng.pick(BAD_ESCAPES).to_string(),
        4 => short_nasty(rng, 50),
        _ => rng
            .pick(&[
                "-1",
                "0",
                "9223372036854775808",
                "%2e%2e",
                "..",
                "1%2F2",
                "null",
            ])
            .to_string(),
    }
}

fn action(rng: &mut Rng) -> String {
    if rng.chance(80) {
        rng.pick(&["approve", "deny", "cancel", "revoke", "reject", "session"])
            .to_string()
    } else {
        short_nasty(rng, 20)
    }
}

/// A form body with keys of the route's forms and nasty values; with
/// `poison`, a field set so the route must refuse it.
fn fields(rng: &mut Rng, ids: &Ids, poison: &[(&str, String)], skip: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..rng.below(7) {
        let key = if rng.chance(85) {
            *rng.pick(FIELD_KEYS)
        } else {
            "zz"
        };
        if skip.contains(&key) || poison.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let v = value(rng, ids);
        out.push(format!("{key}={}", encode(rng, &v)));
    }
    for (k, v) in poison {
        out.push(format!("{k}={}", encode(rng, v)));
    }
    out
}

/// The path of a POST route with a body that route must refuse even with
/// a valid token (so nothing may change), for `portal`.
fn refused_post(
    rng: &mut Rng,
    ids: &Ids,
    portal: Portal,
    real_requests: &[String],
    real_users: &[String],
) -> (String, Vec<String>) {
    let real_tenants: Vec<String> = ids.tenants.iter().map(ToString::to_string).collect();
    let too_long = |n: usize| "x".repeat(n);
    // A token id that is never a real one (only these may be revoked with
    // a valid CSRF token).
    let no_token = |rng: &mut Rng| -> String {
        if rng.chance(70) {
            Uuid::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next())).to_string()
        } else {
            short_nasty(rng, 40)
        }
    };
    // A new token's form with one field the form must refuse (the staff
    // form has no scope: a bad one there is no refusal).
    let bad_token_form = |rng: &mut Rng, has_scope: bool| -> Vec<String> {
        let poison = match rng.below(if has_scope { 3 } else { 2 }) {
            0 => ("name", too_long(101)),
            1 => (
                "expires_days",
                rng.pick(&["0", "366", "-1", "1e3", "x"]).to_string(),
            ),
            _ => ("scope", format!("root-{}", nasty(rng))),
        };
        fields(rng, ids, &[poison], &[])
    };
    match portal {
        Portal::Admin => match rng.below(13) {
            // A quorum out of bounds (issue 19): refused, kept, unchanged.
            11 => {
                let bad = rng.pick(&["0", "6", "-1", "2.5", "x", "", "99999999999"]);
                let body = fields(rng, ids, &[("approvals_required", bad.to_string())], &[]);
                ("/settings/org/lockbox/approvals".into(), body)
            }
            // A webhook endpoint that is not https (or not a URL at all),
            // or one that is not the tenant's: refused.
            12 => {
                if rng.chance(50) {
                    let url = format!("http://{}", short_nasty(rng, 40));
                    let body = fields(
                        rng,
                        ids,
                        &[("url", url), ("event_decided", "on".into())],
                        &[],
                    );
                    ("/settings/webhooks".into(), body)
                } else {
                    let action = rng.pick(&["test", "remove"]);
                    let path = format!("/settings/webhooks/{}/{action}", no_token(rng));
                    (path, fields(rng, ids, &[], &[]))
                }
            }
            // No half-signed-in session, or no authenticator: refused.
            7 => (
                rng.pick(&[
                    "/signin/code",
                    "/signin/enrol",
                    "/account/two-factor/replace",
                    "/account/two-factor/remove",
                ])
                .to_string(),
                fields(rng, ids, &[], &[]),
            ),
            8 => {
                let body = fields(rng, ids, &[("title", too_long(201))], &[]);
                ("/support/tickets".into(), body)
            }
            9 => {
                let path = format!(
                    "/support/tickets/{}/messages",
                    id_segment(rng, &ids.tickets)
                );
                (path, fields(rng, ids, &[("body", too_long(4_001))], &[]))
            }
            10 => {
                let path = format!(
                    "/support/lockbox/requests/{}/information",
                    id_segment(rng, real_requests)
                );
                (path, fields(rng, ids, &[("text", too_long(2_001))], &[]))
            }
            5 => ("/settings/api-tokens".into(), bad_token_form(rng, true)),
            6 => {
                let path = format!("/settings/api-tokens/{}/revoke", no_token(rng));
                (path, fields(rng, ids, &[], &[]))
            }
            0 => {
                // An organisation that does not exist: refused, not audited.
                let org = format!("no such org {}", nasty(rng));
                let body = fields(rng, ids, &[("organization", org)], &[]);
                ("/signin".into(), body)
            }
            1 => {
                let path = format!(
                    "/support/lockbox/requests/{}/{}",
                    id_segment(rng, real_requests),
                    action(rng)
                );
                (path, fields(rng, ids, &[("comment", too_long(1_001))], &[]))
            }
            2 => {
                // Without the box ticked and without "yes": the switch is
                // only explained, never turned.
                let body = fields(rng, ids, &[], &["require_approval", "confirm"]);
                ("/settings/org/lockbox".into(), body)
            }
            3 => {
                let body = fields(rng, ids, &[("password", "short".into())], &[]);
                ("/roles/users".into(), body)
            }
            _ => {
                let role = format!("no-role-{}", nasty(rng));
                let path = format!("/roles/users/{}", id_segment(rng, real_users));
                (path, fields(rng, ids, &[("role", role)], &[]))
            }
        },
        Portal::Engineer => match rng.below(9) {
            6 => (
                rng.pick(&[
                    "/signin/code",
                    "/signin/enrol",
                    "/account/two-factor/replace",
                    "/account/two-factor/remove",
                ])
                .to_string(),
                fields(rng, ids, &[], &[]),
            ),
            7 => {
                let path = format!(
                    "/support/{}/{}/messages",
                    id_segment(rng, &real_tenants),
                    id_segment(rng, &ids.tickets)
                );
                (path, fields(rng, ids, &[("body", too_long(4_001))], &[]))
            }
            8 => {
                let path = format!("/requests/{}/information", id_segment(rng, real_requests));
                (path, fields(rng, ids, &[("text", too_long(2_001))], &[]))
            }
            4 => ("/tokens".into(), bad_token_form(rng, false)),
            5 => {
                let path = format!("/tokens/{}/revoke", no_token(rng));
                (path, fields(rng, ids, &[], &[]))
            }
            0 => ("/signin".into(), fields(rng, ids, &[], &[])),
            1 => {
                let tenant = format!("not-a-tenant {}", nasty(rng));
                (
                    "/requests".into(),
                    fields(rng, ids, &[("tenant", tenant)], &[]),
                )
            }
            2 => {
                let path = format!(
                    "/requests/{}/{}",
                    id_segment(rng, real_requests),
                    action(rng)
                );
                (path, fields(rng, ids, &[("comment", too_long(1_001))], &[]))
            }
            _ => {
                // A known operation with one of its fields too long, or an
                // unknown one: refused before the enforcement point.
                let spec = rng.pick(content::OPERATIONS);
                let poison = match spec.fields.first() {
                    Some((field, _)) if rng.chance(70) => {
                        vec![("operation", spec.name.to_owned()), (*field, too_long(201))]
                    }
                    _ => vec![("operation", format!("Drop-{}", nasty(rng)))],
                };
                let path = format!("/requests/{}/session", id_segment(rng, real_requests));
                (path, fields(rng, ids, &poison, &[]))
            }
        },
    }
}

fn generate(seed: u64, count: usize, ids: &Ids) -> Vec<FuzzRequest> {
    let mut rng = Rng(seed);
    let real_requests: Vec<String> = ids.requests.iter().map(RequestId::to_string).collect();
    let real_users: Vec<String> = ids.users.iter().map(Uuid::to_string).collect();
    let real_records: Vec<String> = ids.records.iter().map(i64::to_string).collect();
    let real_tokens: Vec<String> = ids.tokens.iter().map(Uuid::to_string).collect();
    let real_tenants: Vec<String> = ids.tenants.iter().map(ToString::to_string).collect();
    let personas = [
        Persona::Visitor,
        Persona::Bare,
        Persona::GlobalAdmin,
        Persona::Approver,
        Persona::PlainUser,
        Persona::Engineer,
        Persona::Manager,
    ];
    (0..count)
        .map(|_| {
            let persona = *rng.pick(&personas);
            // Mostly the portal the persona belongs to, sometimes the other.
            let portal = match (persona.portal_default(), rng.chance(80)) {
                (p, true) => p,
                (Portal::Admin, false) => Portal::Engineer,
                (Portal::Engineer, false) => Portal::Admin,
            };
            if rng.chance(25) {
                return api_request(&mut rng, ids, persona, portal, &real_requests);
            }
            let post = rng.chance(50);
            if !post {
                let path = match portal {
                    Portal::Admin => match rng.below(32) {
                        31 => {
                            let id = id_segment(&mut rng, &real_tokens);
                            let tail = rng.pick(&["", "/remove"]);
                            if rng.chance(30) {
                                "/settings/webhooks".into()
                            } else {
                                format!("/settings/webhooks/{id}{tail}")
                            }
                        }
                        24 => "/settings/security".into(),
                        25 => rng
                            .pick(&[
                                "/account/two-factor",
                                "/account/two-factor/enrol",
                                "/account/mail-language",
                                "/account/time-zone",
                            ])
                            .to_string(),
                        26 | 27 => rng.pick(&["/signin/code", "/signin/enrol"]).to_string(),
                        28 => "/support/tickets".into(),
                        29 => "/support/tickets/new".into(),
                        30 => format!("/support/tickets/{}", id_segment(&mut rng, &ids.tickets)),
                        21 => format!(
                            "/support/lockbox/requests/{}/evidence.json",
                            id_segment(&mut rng, &real_requests)
                        ),
                        22 => format!(
                            "/support/lockbox/requests/{}/receipts/{}.{}",
                            id_segment(&mut rng, &real_requests),
                            id_segment(&mut rng, &real_records),
                            rng.pick(&["json", "bin", "sig", "%FF", ""])
                        ),
                        23 => format!(
                            "/audit/checkpoints/{}.json",
                            id_segment(&mut rng, &real_records)
                        ),
                        19 => "/settings/api-tokens".into(),
                        20 => format!(
                            "/settings/api-tokens/{}/revoke",
                            id_segment(&mut rng, &real_tokens)
                        ),
                        0 => "/".into(),
                        1 => "/signin".into(),
                        2 | 3 | 16 => "/audit".into(),
                        17 | 18 => "/support/lockbox/requests".into(),
                        4 => format!("/audit/records/{}", id_segment(&mut rng, &real_records)),
                        5 => format!(
                            "/audit/export.{}",
                            rng.pick(&["csv", "jsonl", "xml", "%FF", ""])
                        ),
                        6 | 7 => "/support/lockbox/requests".into(),
                        8 => format!(
                            "/support/lockbox/requests/{}",
                            id_segment(&mut rng, &real_requests)
                        ),
                        9 => format!(
                            "/support/lockbox/requests/{}/{}",
                            id_segment(&mut rng, &real_requests),
                            action(&mut rng)
                        ),
                        10 => "/settings/org/lockbox".into(),
                        11 => "/roles".into(),
                        12 => "/lang".into(),
                        13 => rng
                            .pick(&["/healthz", "/livez", "/static/app.css", "/metrics"])
                            .to_string(),
                        _ => format!("/{}", id_segment(&mut rng, &real_requests)),
                    },
                    Portal::Engineer => match rng.below(21) {
                        16 => rng
                            .pick(&[
                                "/account/two-factor",
                                "/account/mail-language",
                                "/account/time-zone",
                            ])
                            .to_string(),
                        17 => "/account/two-factor/enrol".into(),
                        18 => rng.pick(&["/signin/code", "/signin/enrol"]).to_string(),
                        19 => "/support".into(),
                        20 => format!(
                            "/support/{}/{}",
                            id_segment(&mut rng, &real_tenants),
                            id_segment(&mut rng, &ids.tickets)
                        ),
                        15 => format!(
                            "/requests/{}/receipts/{}.{}",
                            id_segment(&mut rng, &real_requests),
                            id_segment(&mut rng, &real_records),
                            rng.pick(&["json", "bin", "sig", ""])
                        ),
                        13 => "/tokens".into(),
                        14 => format!("/tokens/{}/revoke", id_segment(&mut rng, &real_tokens)),
                        0 => "/".into(),
                        1 => "/signin".into(),
                        2 | 3 => "/requests".into(),
                        4 => "/requests/new".into(),
                        5 => format!("/requests/{}", id_segment(&mut rng, &real_requests)),
                        6 => format!(
                            "/requests/{}/{}",
                            id_segment(&mut rng, &real_requests),
                            action(&mut rng)
                        ),
                        7 => format!("/requests/{}/session", id_segment(&mut rng, &real_requests)),
                        8 => "/queue".into(),
                        9 => "/metrics".into(),
                        10 => "/lang".into(),
                        11 => rng
                            .pick(&["/healthz", "/livez", "/static/app.css"])
                            .to_string(),
                        _ => format!("/{}", id_segment(&mut rng, &real_requests)),
                    },
                };
                let target = format!("{path}{}", query(&mut rng, ids, &path));
                return FuzzRequest {
                    persona,
                    portal,
                    post,
                    target,
                    body: Vec::new(),
                    valid_token: false,
                    api: None,
                };
            }
            let valid_token = rng.chance(50);
            let (path, mut body) = if valid_token {
                refused_post(&mut rng, ids, portal, &real_requests, &real_users)
            } else {
                // Anything at all, to any route (sign-out included): without
                // the session's token nothing may happen.
                let path = match (portal, rng.below(11)) {
                    (_, 9) => rng
                        .pick(&[
                            "/signin/code",
                            "/signin/enrol",
                            "/account/two-factor/enrol",
                            "/account/two-factor/replace",
                            "/account/two-factor/remove",
                            "/account/mail-language",
                            "/account/time-zone",
                        ])
                        .to_string(),
                    (Portal::Admin, 10) => {
                        if rng.chance(50) {
                            "/settings/security".to_owned()
                        } else {
                            format!(
                                "/roles/users/{}/two-factor/reset",
                                id_segment(&mut rng, &real_users)
                            )
                        }
                    }
                    (Portal::Engineer, 10) => "/signin/code".to_owned(),
                    (_, 0) => "/signin".to_owned(),
                    (_, 1) => "/signout".to_owned(),
                    (Portal::Admin, 7) => rng
                        .pick(&["/settings/api-tokens", "/settings/webhooks"])
                        .to_string(),
                    (Portal::Admin, 8) => format!(
                        "/settings/api-tokens/{}/revoke",
                        id_segment(&mut rng, &real_tokens)
                    ),
                    (Portal::Engineer, 7) => "/tokens".to_owned(),
                    (Portal::Engineer, 8) => {
                        format!("/tokens/{}/revoke", id_segment(&mut rng, &real_tokens))
                    }
                    (Portal::Admin, 5) => format!(
                        "/support/tickets/{}/{}",
                        id_segment(&mut rng, &ids.tickets),
                        rng.pick(&["close", "messages"])
                    ),
                    (Portal::Admin, 6) => "/support/tickets".to_owned(),
                    (Portal::Engineer, 5) => format!(
                        "/support/{}/{}/{}",
                        id_segment(&mut rng, &real_tenants),
                        id_segment(&mut rng, &ids.tickets),
                        rng.pick(&["close", "messages"])
                    ),
                    (Portal::Engineer, 6) => format!(
                        "/{}/{}/information",
                        rng.pick(&["requests", "support/lockbox/requests"]),
                        id_segment(&mut rng, &real_requests)
                    ),
                    (Portal::Admin, 2) => rng
                        .pick(&[
                            "/settings/org/lockbox",
                            "/settings/org/lockbox/approvals",
                            "/settings/org/time-zone",
                        ])
                        .to_string(),
                    (Portal::Admin, 3) => "/roles/users".to_owned(),
                    (Portal::Admin, 4) => {
                        format!("/roles/users/{}", id_segment(&mut rng, &real_users))
                    }
                    (Portal::Admin, _) => format!(
                        "/support/lockbox/requests/{}/{}",
                        id_segment(&mut rng, &real_requests),
                        action(&mut rng)
                    ),
                    (Portal::Engineer, 2) => "/requests".to_owned(),
                    (Portal::Engineer, 3) => {
                        format!("/requests/{}/session", id_segment(&mut rng, &real_requests))
                    }
                    (Portal::Engineer, _) => format!(
                        "/requests/{}/{}",
                        id_segment(&mut rng, &real_requests),
                        action(&mut rng)
                    ),
                };
                let mut body = fields(&mut rng, ids, &[], &[]);
                match rng.below(4) {
                    0 => {}
                    1 => body.push(format!(
                        "csrf_token={}",
                        lockbox::auth::token::random_token()
                    )),
                    2 => body.push(format!("csrf_token={}", short_nasty(&mut rng, 100))),
                    _ => body.push("csrf_token=".into()),
                }
                (path, body)
            };
            // The fields in any order (the token placed at send time).
            for i in (1..body.len()).rev() {
                body.swap(i, rng.below(i + 1));
            }
            let mut bytes = body.join("&").into_bytes();
            if !valid_token && rng.chance(10) {
                // Not even a form: raw bytes, invalid UTF-8 included.
                bytes = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            }
            let target = format!(
                "{path}{}",
                if rng.chance(20) {
                    query(&mut rng, ids, &path)
                } else {
                    String::new()
                }
            );
            FuzzRequest {
                persona,
                portal,
                post: true,
                target,
                body: bytes,
                valid_token,
                api: None,
            }
        })
        .collect()
}

/// A JSON API call: a read of any route with any token (or none), or a
/// write that must be refused: with a token valid there, a body the route
/// refuses; without one, anything at all.
fn api_request(
    rng: &mut Rng,
    ids: &Ids,
    persona: Persona,
    portal: Portal,
    real_requests: &[String],
) -> FuzzRequest {
    let bearer = *rng.pick(&Bearer::ALL);
    let get = rng.chance(50);
    let json = rng.chance(90);
    let (method, path, body) = if get {
        let path = match portal {
            Portal::Admin => match rng.below(9) {
                0 | 1 => "/api/v1/requests".to_owned(),
                2 => format!("/api/v1/requests/{}", id_segment(rng, real_requests)),
                3 => "/api/v1/organization".to_owned(),
                4 | 5 => "/api/v1/audit".to_owned(),
                6 => "/api/v1/audit/export".to_owned(),
                7 => "/api/v1/openapi.json".to_owned(),
                _ => format!("/api/{}", short_nasty(rng, 30)),
            },
            Portal::Engineer => match rng.below(7) {
                0 | 1 => "/api/v1/requests".to_owned(),
                2 => "/api/v1/queue".to_owned(),
                3 => format!("/api/v1/requests/{}", id_segment(rng, real_requests)),
                4 => "/api/v1/openapi.json".to_owned(),
                5 => format!(
                    "/api/v1/requests/{}/{}",
                    id_segment(rng, real_requests),
                    action(rng)
                ),
                _ => format!("/api/v1/{}", short_nasty(rng, 30)),
            },
        };
        let query = query(rng, ids, &path);
        (reqwest::Method::GET, format!("{path}{query}"), Vec::new())
    } else {
        let too_long = |n: usize| "x".repeat(n);
        let (method, path, body) = match (portal, rng.below(4)) {
            (Portal::Admin, 0 | 1) => {
                let body = match rng.below(4) {
                    0 => {
                        serde_json::json!({"ApprovalDecision": "Maybe", "Comment": value(rng, ids)})
                    }
                    1 => {
                        serde_json::json!({"ApprovalDecision": "Approve", "Comment": too_long(1_001)})
                    }
                    2 => serde_json::json!({"ApprovalDecision": "Deny", "Extra": value(rng, ids)}),
                    _ => serde_json::json!({"Comment": value(rng, ids)}),
                };
                let path = format!(
                    "/api/v1/requests/{}/decision",
                    id_segment(rng, real_requests)
                );
                (reqwest::Method::POST, path, body.to_string())
            }
            (Portal::Admin, 2) => {
                let body = match rng.below(3) {
                    0 => serde_json::json!({"CustomerLockBoxEnabled": value(rng, ids)}),
                    1 => serde_json::json!({}),
                    _ => {
                        serde_json::json!({"CustomerLockBoxEnabled": false, "Name": value(rng, ids)})
                    }
                };
                (
                    reqwest::Method::PATCH,
                    "/api/v1/organization".to_owned(),
                    body.to_string(),
                )
            }
            (Portal::Engineer, 0) => {
                let body = serde_json::json!({
                    "TenantId": format!("not-a-tenant {}", value(rng, ids)),
                    "ServiceRequestNumber": value(rng, ids),
                    "Workload": value(rng, ids),
                    "DurationMinutes": 60,
                    "Justification": value(rng, ids),
                });
                (
                    reqwest::Method::POST,
                    "/api/v1/requests".to_owned(),
                    body.to_string(),
                )
            }
            (Portal::Engineer, 1) => {
                let path = format!(
                    "/api/v1/requests/{}/{}",
                    id_segment(rng, real_requests),
                    action(rng)
                );
                let body = serde_json::json!({"Comment": too_long(1_001)});
                (reqwest::Method::POST, path, body.to_string())
            }
            (Portal::Engineer, 2) => {
                let spec = rng.pick(content::OPERATIONS);
                let (name, body) = match spec.fields.first() {
                    Some((field, _)) if rng.chance(70) => (
                        spec.name.to_owned(),
                        serde_json::json!({ *field: too_long(201) }),
                    ),
                    _ => (
                        format!("Drop-{}", short_nasty(rng, 20)),
                        serde_json::json!({}),
                    ),
                };
                let path = format!(
                    "/api/v1/requests/{}/operations/{name}",
                    id_segment(rng, real_requests)
                );
                (reqwest::Method::POST, path, body.to_string())
            }
            // Not JSON at all.
            (_, _) => {
                let path = match portal {
                    Portal::Admin => format!(
                        "/api/v1/requests/{}/decision",
                        id_segment(rng, real_requests)
                    ),
                    Portal::Engineer => "/api/v1/requests".to_owned(),
                };
                let raw: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
                (
                    reqwest::Method::POST,
                    path,
                    String::from_utf8_lossy(&raw).into_owned(),
                )
            }
        };
        // Without a token valid here, the body may be anything at all.
        let body = if bearer.valid_on(portal) || rng.chance(50) {
            body
        } else {
            nasty(rng)
        };
        (method, path, body.into_bytes())
    };
    FuzzRequest {
        persona,
        portal,
        post: false,
        target: path,
        body,
        valid_token: false,
        api: Some(ApiCall {
            method,
            bearer,
            json,
        }),
    }
}

/// Row count and digest of every table but the ones sessions and sign-in
/// throttling write, and every tenant's audit head.
fn database_state(app: &TestApp, tenants: &[TenantId]) -> BTreeMap<String, String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Digest {
        #[diesel(sql_type = diesel::sql_types::Text)]
        digest: String,
    }
    let mut conn = app.conn();
    // `/lang` records a signed-in person's mail language by design (a GET
    // a browser makes): that table may change.
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
           AND table_name NOT IN ('web_sessions', 'sign_in_failures', 'sign_in_lockouts', \
                                  'language_preferences') \
         ORDER BY 1",
    )
    .load(&mut conn)
    .expect("tables");
    assert!(tables.len() > 10, "every table: {}", tables.len());
    let mut state = BTreeMap::new();
    for Name { name } in tables {
        let Digest { digest } = diesel::sql_query(format!(
            "SELECT count(*)::text || ' rows, ' || \
                    coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') AS digest \
             FROM \"{name}\" t"
        ))
        .get_result(&mut conn)
        .expect("digest");
        state.insert(name, digest);
    }
    for tenant in tenants {
        let head = audit::head(&mut conn, *tenant).expect("head");
        state.insert(format!("audit head of {tenant}"), format!("{head:?}"));
    }
    state
}

/// The client and CSRF token of each persona.
async fn personas(
    app: &TestApp,
    people: &[(Persona, crate::helpers::TestUser)],
) -> HashMap<Persona, (Client, String, String)> {
    let mut out = HashMap::new();
    for (persona, user) in people {
        let (c, portal) = match persona {
            Persona::Engineer | Persona::Manager => {
                (app.engineer_client(user).await, &app.engineer_url)
            }
            _ => (app.admin_client(user).await, &app.admin_url),
        };
        let home = c
            .get(format!("{portal}/"))
            .send()
            .await
            .expect("home")
            .text()
            .await
            .expect("body");
        // The other portal's token (a session of its own there).
        let other = if portal == &app.admin_url {
            &app.engineer_url
        } else {
            &app.admin_url
        };
        let page = c
            .get(format!("{other}/signin"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("body");
        let (admin_token, engineer_token) = if portal == &app.admin_url {
            (csrf_of(&home), csrf_of(&page))
        } else {
            (csrf_of(&page), csrf_of(&home))
        };
        out.insert(*persona, (c, admin_token, engineer_token));
    }
    let visitor = client();
    let admin_page = visitor
        .get(format!("{}/signin", app.admin_url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    let engineer_page = visitor
        .get(format!("{}/signin", app.engineer_url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    out.insert(
        Persona::Visitor,
        (visitor, csrf_of(&admin_page), csrf_of(&engineer_page)),
    );
    let bare = crate::helpers::client_builder().build().expect("client");
    out.insert(Persona::Bare, (bare, String::new(), String::new()));
    out
}

/// 10,000 generated requests (GET and POST, signed in and not, both
/// portals, half the POSTs with a valid CSRF token and a body the route
/// must refuse): no 5xx, no POST accepted, and the database unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_generated_requests_get_no_5xx_and_change_nothing() {
    let seed: u64 = std::env::var("LOCKBOX_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x10C_B0C5);
    let count: usize = std::env::var("LOCKBOX_FUZZ_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);

    let w = world_with(|s| {
        s.audit_seal_every = None;
        // The per-token allowance would answer most API calls 429 (the
        // clock stands still); the fuzz wants them to reach the routes.
        s.api_rate = lockbox::config::ApiRate::UNLIMITED;
    })
    .await;
    let c = w.customers();
    let app = &w.app;
    app.seed_content(w.contoso, "contoso.example");
    // Requests in every kind of state (filed before any window opens: an
    // open window refuses another request for its workload).
    let pending_manager = app.arrange_request(w.contoso, &w.engineer, None);
    let pending_customer = app.arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    let cancelled = app.arrange_request(w.contoso, &w.engineer, None);
    app.arrange_cancel(cancelled, &w.engineer);
    let approved = app.approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    let sharepoint = app.approved_request(w.contoso, &w.engineer, &w.manager, "sharepoint");
    let fabrikam = app.approved_request(w.fabrikam, &w.other_engineer, &w.manager, "onedrive");
    let tickets = vec![
        app.arrange_ticket(&c.admin, "Fuzz: Contoso's open ticket"),
        app.arrange_ticket(&c.user, "Fuzz: a plain user's ticket"),
        app.arrange_ticket(&c.fabrikam_admin, "Fuzz: Fabrikam's ticket"),
    ];
    let people = vec![
        (Persona::GlobalAdmin, c.admin.clone()),
        (Persona::Approver, c.approver.clone()),
        (Persona::PlainUser, c.user.clone()),
        (Persona::Engineer, w.engineer.clone()),
        (Persona::Manager, w.manager.clone()),
    ];
    let clients = personas(app, &people).await;
    let bearers: HashMap<Bearer, String> = HashMap::from([
        (Bearer::None, String::new()),
        (Bearer::Garbage, format!("lbx_{}", "0".repeat(64))),
        (
            Bearer::CustomerRead,
            customer_token(app, &c.admin, TokenScope::Read),
        ),
        (
            Bearer::CustomerDecide,
            customer_token(app, &c.admin, TokenScope::Decide),
        ),
        (
            Bearer::CustomerAdmin,
            customer_token(app, &c.admin, TokenScope::Admin),
        ),
        (Bearer::Engineer, staff_token(app, &w.engineer)),
        (Bearer::Manager, staff_token(app, &w.manager)),
    ]);
    // Each token used once now: its last use is stamped before the
    // snapshot (and not again while the clock stands still).
    for (bearer, secret) in &bearers {
        let base = match bearer {
            Bearer::Engineer | Bearer::Manager => &app.engineer_url,
            _ => &app.admin_url,
        };
        call(
            reqwest::Method::GET,
            format!("{base}/api/v1/requests"),
            secret,
        )
        .send()
        .await
        .expect("a first call");
    }
    let tokens: Vec<Uuid> = {
        use diesel::QueryDsl;
        use lockbox::schema::api_tokens as t;
        t::table.select(t::id).load(&mut app.conn()).expect("ids")
    };
    app.seal_audit();
    let records: Vec<i64> = {
        use diesel::{ExpressionMethods, QueryDsl};
        use lockbox::schema::audit_records as ar;
        ar::table
            .select(ar::id)
            .order(ar::id.asc())
            .limit(20)
            .load(&mut app.conn())
            .expect("ids")
    };
    let ids = Ids {
        requests: vec![
            pending_manager,
            pending_customer,
            approved,
            sharepoint,
            fabrikam,
            cancelled,
        ],
        records,
        users: vec![c.admin.id, c.approver.id, c.user.id, c.fabrikam_admin.id],
        tenants: vec![w.contoso, w.fabrikam],
        tokens,
        tickets,
    };
    let tenants = [w.contoso, w.fabrikam];
    let before = database_state(app, &tenants);

    let requests = generate(seed, count, &ids);
    let started = Instant::now();
    let results: Vec<(usize, Outcome)> = futures::stream::iter(requests.iter().enumerate())
        .map(|(i, r)| {
            let (client, admin_token, engineer_token) = &clients[&r.persona];
            let (base, token) = match r.portal {
                Portal::Admin => (&app.admin_url, admin_token),
                Portal::Engineer => (&app.engineer_url, engineer_token),
            };
            let url = format!("{base}{}", r.target);
            let send = if let Some(api) = &r.api {
                // No cookies: a bearer token, or none.
                let mut send = clients[&Persona::Bare].0.request(api.method.clone(), url);
                if api.bearer != Bearer::None {
                    send = send.bearer_auth(&bearers[&api.bearer]);
                }
                if api.method != reqwest::Method::GET {
                    let kind = if api.json {
                        "application/json"
                    } else {
                        "text/plain"
                    };
                    send = send.header("content-type", kind).body(r.body.clone());
                }
                send
            } else if r.post {
                let mut body = r.body.clone();
                if r.valid_token {
                    let sep: &[u8] = if body.is_empty() { b"" } else { b"&" };
                    body = [format!("csrf_token={token}").as_bytes(), sep, &body].concat();
                }
                client
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            } else {
                client.get(url)
            };
            async move {
                let outcome = match send.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        let location = resp
                            .headers()
                            .get("location")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        // Read every answer to its end (exports too).
                        match resp.bytes().await {
                            Ok(_) => Ok((status, location)),
                            Err(e) => Err(format!("body: {e}")),
                        }
                    }
                    // With its causes: "error sending request" alone
                    // does not say what broke.
                    Err(e) => Err(format!("request: {}", causes(&e))),
                };
                (i, outcome)
            }
        })
        .buffer_unordered(12)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    // The API's share: what its calls with a token valid there answered.
    let mut api_statuses: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    let mut failures = String::new();
    for (i, outcome) in &results {
        let r = &requests[*i];
        match outcome {
            Ok((status, location)) => {
                *statuses.entry(status.as_u16()).or_default() += 1;
                if let Some(api) = r.api.as_ref().filter(|a| a.bearer.valid_on(r.portal)) {
                    *api_statuses
                        .entry((api.method.as_str(), status.as_u16()))
                        .or_default() += 1;
                }
                let accepted_post = r.writes()
                    && (status.is_success() && !refusal_page(r)
                        || status.is_redirection() && location != "/signin");
                if status.is_server_error() || accepted_post {
                    let _ = writeln!(failures, "#{i}: {status} → {location:?}: {}", r.describe());
                }
            }
            // A URL the client itself refuses to send is no server answer.
            Err(e) if e.starts_with("request: builder error") => {
                *statuses.entry(0).or_default() += 1;
            }
            Err(e) => {
                let _ = writeln!(failures, "#{i}: {e}: {}", r.describe());
            }
        }
    }
    println!(
        "fuzz seed {seed}: {} requests in {:.1} s; statuses {statuses:?}; \
         API calls with a valid token {api_statuses:?}",
        results.len(),
        elapsed.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "fuzz seed {seed} (LOCKBOX_FUZZ_SEED={seed} replays it):\n{failures}"
    );
    let after = database_state(app, &tenants);
    for (table, was) in &before {
        assert_eq!(
            after.get(table),
            Some(was),
            "fuzz seed {seed}: {table} changed"
        );
    }
    assert_eq!(results.len(), count);
}

/// A request's status and `Location`, or why it got no answer.
type Outcome = Result<(StatusCode, String), String>;

/// An error and its causes, joined by ": ".
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// The POSTs that answer 200 while refusing: forms shown again with what
/// is wrong (the switch's confirmation, an operation's field errors).
fn refusal_page(r: &FuzzRequest) -> bool {
    r.api.is_none()
        && (r.target.starts_with("/settings/org/lockbox") || r.target.starts_with("/signin"))
}

/// Found by the fuzz: a date or cursor time PostgreSQL's `timestamptz`
/// cannot hold (before 4713 BC) reached the admin request list's query and
/// failed it, a 500 where a 400 "Enter dates as YYYY-MM-DD" belongs.
#[tokio::test]
async fn the_admin_request_list_refuses_times_postgresql_cannot_store() {
    let w = world_with(|_| {}).await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    for query in [
        "from=-5000-01-01",
        "until=-5000-01-01",
        "after=0.-8000000000000000000.00000000-0000-0000-0000-000000000005",
    ] {
        let resp = w
            .app
            .get_admin(&admin, &format!("/support/lockbox/requests?{query}"))
            .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}
