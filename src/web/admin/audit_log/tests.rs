//! The search form's parser, fuzzed: it never panics and accepts only
//! what it should.
use chrono::Utc;
use proptest::prelude::*;

use super::summary::{Plain, plain_pairs};
use super::*;

/// Characters that break parsers: NUL, controls, right-to-left marks and
/// overrides, byte-order marks, astral characters, and the syntax of
/// query strings, dates and cursors.
fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        4 => prop::sample::select(vec![
            '\0', '\u{1}', '\t', '\n', '\r', '\u{7f}', '\u{85}', '\u{202e}', '\u{202b}',
            '\u{200f}', '\u{2066}', '\u{feff}', '\u{fffd}', '𝕏', 'é', '%', '&', '=', '+',
            '-', '.', ':', 'T', ' ', ',', '/', '\\', '\'', '"',
        ]),
        4 => prop::char::range('0', '9'),
    ]
}

fn nasty_string(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(nasty_char(), 0..max).prop_map(|v| v.into_iter().collect()),
        prop::sample::select(vec![
            "+262143-12-31T23:59",
            "-262143-01-01",
            "262143-12-31",
            "9999-12-31T23:59:59",
            "+262142-12-31",
            "+262142-12-31T23:59",
            "-262144-01-01",
            "0000-01-01",
            "-0001-12-31",
            "+10000-01-01",
            "2026-02-30",
            "2026-03-02 24:00",
            "9223372036854775807.9223372036854775807",
            "-9223372036854775808.1",
            "253402300799999999.1",
            "-62135596800000001.1",
            "1.-1",
            "+1.+1",
            "1e3.1",
        ])
        .prop_map(str::to_owned),
    ]
}

/// A query string of the search page's keys (and others) with nasty
/// values, percent-encoded or raw, and invalid escapes.
fn query() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "activity", "start", "end", "users", "item", "text", "narrow", "after", "x", "",
    ]);
    let value = prop_oneof![
        3 => nasty_string(40).prop_map(|v| {
            form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
        }),
        1 => nasty_string(40),
        1 => prop::sample::select(vec!["%FF", "%C3%28", "%00", "%", "%G1", "%E2%80%AE"])
            .prop_map(str::to_owned),
        1 => prop::sample::select(activity::ALL.to_vec()).prop_map(str::to_owned),
    ];
    prop::collection::vec((key, value), 0..8).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// The range PostgreSQL's `timestamptz` can store lies around it.
fn storable(t: chrono::DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&t.year())
}

/// A real log's parameters (a new request's: strings, an integer, a
/// boolean; an approval's: strings, one empty) are read borrowed, with no
/// `Value` built; what needs parsing is refused.
#[test]
fn plain_parameters_are_read_borrowed_and_the_rest_refused() {
    let raw = r#"{"Workload": "Exchange Online", "DurationMinutes": 60, "Big": 18446744073709551615, "MatchingServiceRequest": true, "Comment": "", "Ticket": null}"#;
    let pairs = plain_pairs(raw).expect("plain");
    assert_eq!(
        pairs,
        [
            ("Big", Plain::Int(u64::MAX.into())),
            ("Comment", Plain::Text("")),
            ("DurationMinutes", Plain::Int(60)),
            ("MatchingServiceRequest", Plain::Bool(true)),
            ("Ticket", Plain::Null),
            ("Workload", Plain::Text("Exchange Online")),
        ]
    );
    assert_eq!(
        summary(raw),
        "Big: 18446744073709551615; Comment: ; DurationMinutes: 60; \
         MatchingServiceRequest: true; Ticket: null; Workload: Exchange Online"
    );
    for refused in [
        r#"{"a": 1.5}"#,
        r#"{"a": [1, 2]}"#,
        r#"{"a": {"b": "c"}}"#,
        r#"{"a": "line\nbreak"}"#,
        r#"["a"]"#,
    ] {
        assert!(plain_pairs(refused).is_none(), "{refused}");
    }
    assert_eq!(
        summary(r#"{"a": "line\nbreak", "b": 1.5}"#),
        "a: line\nbreak; b: 1.5"
    );
}

/// A summary is cut after its 160th character, also where the bytes
/// alone decide (no more than 160 of them, or all ASCII) and where a
/// character takes more than one byte.
#[test]
fn the_summary_is_cut_after_its_160th_character() {
    let cut = |value: &str| summary(&serde_json::json!({ "k": value }).to_string());
    // "k: " and 157 more characters: 160 in all, not cut.
    assert_eq!(cut(&"a".repeat(157)), format!("k: {}", "a".repeat(157)));
    assert_eq!(cut(&"a".repeat(158)), format!("k: {}…", "a".repeat(157)));
    assert_eq!(cut(&"a".repeat(400)), format!("k: {}…", "a".repeat(157)));
    // 160 characters in more bytes than that: not cut.
    assert_eq!(cut(&"é".repeat(157)), format!("k: {}", "é".repeat(157)));
    assert_eq!(cut(&"é".repeat(158)), format!("k: {}…", "é".repeat(157)));
    let mixed = format!("{}é{}", "a".repeat(100), "b".repeat(100));
    assert_eq!(
        cut(&mixed),
        format!("k: {}é{}…", "a".repeat(100), "b".repeat(56))
    );
}

proptest! {
    // Failures print their minimal input; nothing is written to disk.
    #![proptest_config(ProptestConfig {
        cases: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_search_query_parser_never_panics_and_accepts_only_sound_filters(q in query()) {
        let form = SearchForm::from_query(&q);
        // What is kept is echoed back into the form: still a query.
        let _ = SearchForm::from_query(&form.query_string());
        if let Ok((filter, after)) = form.parse(Tz::UTC) {
            prop_assert!(filter.activities.iter().all(|a| activity::ALL.contains(&a.as_str())));
            if let (Some(s), Some(e)) = (filter.start, filter.end) {
                prop_assert!(s <= e);
            }
            for t in [filter.start, filter.end, after.map(|c| c.occurred_at)].into_iter().flatten() {
                prop_assert!(storable(t), "{t} cannot be stored");
            }
            if let Some(c) = after {
                prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
            }
            for text in [&filter.text, &filter.narrow, &filter.item].into_iter().flatten() {
                prop_assert!(!text.is_empty() && text.trim() == text.as_str());
            }
        }
    }

    #[test]
    fn any_date_and_time_the_form_accepts_can_be_stored(raw in nasty_string(30)) {
        let form = SearchForm { start: raw.clone(), end: raw, ..SearchForm::default() };
        if let Ok((filter, _)) = form.parse(Tz::UTC) {
            prop_assert!(filter.start.is_none_or(storable));
            prop_assert!(filter.end.is_none_or(storable));
        }
    }
}

#[test]
fn the_years_postgresql_cannot_store_are_refused_not_passed_on() {
    for raw in [
        "+262143-12-31",
        "+262142-12-31",
        "-5000-01-01T00:00",
        "0000-01-01",
        "+10000-01-01",
    ] {
        let form = SearchForm {
            end: raw.into(),
            ..SearchForm::default()
        };
        assert_eq!(form.parse(Tz::UTC).err(), Some("error-audit-date"), "{raw}");
    }
    let form = SearchForm {
        start: "2026-03-02".into(),
        end: "9999-12-31T23:59".into(),
        ..SearchForm::default()
    };
    assert!(form.parse(Tz::UTC).is_ok());
}

#[test]
fn start_and_end_are_read_in_the_readers_zone_across_dst() {
    use chrono::TimeZone;
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let utc = |m, d, h, min| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
    let us = chrono::Duration::microseconds(1);
    let parse = |start: &str, end: &str| {
        let form = SearchForm {
            start: start.into(),
            end: end.into(),
            ..SearchForm::default()
        };
        let (f, _) = form.parse(amsterdam).expect("parses");
        (f.start, f.end)
    };
    // Summer time starts: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    assert_eq!(
        parse("2026-03-29T01:30", "2026-03-29T03:00"),
        (Some(utc(3, 29, 0, 30)), Some(utc(3, 29, 1, 1) - us))
    );
    // A time the clock skips is read just after the jump.
    assert_eq!(parse("2026-03-29T02:30", "").0, Some(utc(3, 29, 1, 30)));
    // Winter time: 02:30 happens twice; start at the first, end after the second.
    assert_eq!(
        parse("2026-10-25T02:30", "2026-10-25T02:30"),
        (Some(utc(10, 25, 0, 30)), Some(utc(10, 25, 1, 31) - us))
    );
    // A whole day is the local day (25 hours on 25 October).
    assert_eq!(
        parse("2026-10-25", "2026-10-25"),
        (Some(utc(10, 24, 22, 0)), Some(utc(10, 25, 23, 0) - us))
    );
    // Read in a zone west of UTC, the last minute of 9999 is in 10000.
    let form = SearchForm {
        end: "9999-12-31T23:59".into(),
        ..SearchForm::default()
    };
    assert_eq!(
        form.parse(chrono_tz::America::Denver).err(),
        Some("error-audit-date")
    );
}

#[test]
fn huge_queries_are_parsed_without_trouble() {
    let huge = format!(
        "text={}&after={}",
        "%E2%80%AE".repeat(100_000),
        "9".repeat(100_000)
    );
    let form = SearchForm::from_query(&huge);
    assert_eq!(form.parse(Tz::UTC).err(), Some("error-filter-page"));
}

/// The summary as first written, from the parsed parameters: every pair
/// joined, then cut at 160 characters. The one-string summary read from
/// jsonb's text (whatever its key order) must read the same.
fn summary_as_joined(params: &serde_json::Value) -> String {
    let text = match params {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

proptest! {
    #[test]
    fn the_summary_reads_as_the_pairs_joined_and_cut(
        pairs in prop::collection::vec((nasty_string(12), nasty_string(120), any::<i64>(), any::<u64>(), 0..7u8), 0..12),
    ) {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .into_iter()
            .map(|(k, s, n, u, kind)| {
                let v = match kind {
                    0 | 1 => s.into(),
                    2 => n.into(),
                    3 => u.into(),
                    4 => (n % 2 == 0).into(),
                    5 => serde_json::Value::Null,
                    _ => serde_json::json!([n as f64 / 7.0, {"k": s}]),
                };
                (k, v)
            })
            .collect();
        // As PostgreSQL writes jsonb: its own key order (here reversed),
        // a space after each colon and comma.
        let raw = format!(
            "{{{}}}",
            map.iter()
                .rev()
                .map(|(k, v)| format!("{}: {v}", serde_json::Value::from(k.as_str())))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // The summary as it was: of the Value diesel parsed from the text
        // (a fraction may come back one ulp off what was written).
        let was = |text: &str| summary_as_joined(&serde_json::from_str(text).expect("JSON"));
        prop_assert_eq!(summary(&raw), was(&raw));
        let compact = serde_json::Value::Object(map).to_string();
        prop_assert_eq!(summary(&compact), was(&compact));
        for other in [serde_json::json!(["é".repeat(200)]), serde_json::json!("text"), serde_json::Value::Null] {
            let other = other.to_string();
            prop_assert_eq!(summary(&other), was(&other));
        }
    }
}
