//! Every user-visible string goes through [`Tr::t`], backed by Fluent bundles
//! in `templates/i18n/<lang>/lockbox.ftl`: adding a language is adding a
//! bundle. The language comes from the `lang` cookie (the switch), else from
//! `Accept-Language`, else English.
//!
//! The translator also carries the reader's time zone ([`Tr::zone`]), so
//! every time a page or a mail shows goes through [`Tr::fmt_time`] and is
//! in the zone of whoever reads it, with its abbreviation. The web layer
//! fills it from the signed-in account (`web::reader`), the mails from the
//! recipient's (`notify::time_zone`); without one it is UTC.

use std::{borrow::Cow, collections::HashMap};

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
pub use chrono_tz::Tz;
use fluent_templates::{Loader, fluent_bundle::FluentValue, static_loader};
use unic_langid::{LanguageIdentifier, langid};

static_loader! {
    static LOCALES = {
        locales: "./templates/i18n",
        fallback_language: "en-US",
        // Unicode isolation marks around arguments would end up in e-mails
        // and attribute values; the UI is left-to-right only.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The cookie the language switch sets.
pub const LANG_COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Nl,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Nl];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en-US"),
            Lang::Nl => langid!("nl"),
        }
    }

    /// Picks the best supported language from an `Accept-Language` value,
    /// honouring q-weights.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut choices: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::from_code(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map(|(_, l)| *l)
    }

    pub fn from_request(req: &HttpRequest) -> Self {
        req.cookie(LANG_COOKIE)
            .and_then(|c| Lang::from_code(c.value()))
            .or_else(|| {
                req.headers()
                    .get(actix_web::http::header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or(Lang::En)
    }
}

/// The translator handed to every page and mail: the reader's language
/// and time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Lang,
    /// The reader's time zone: every time shown is in it.
    pub zone: Tz,
}

impl Tr {
    /// A translator for `lang`, with times in UTC (until [`Tr::in_zone`]).
    pub fn new(lang: Lang) -> Self {
        Self {
            lang,
            zone: Tz::UTC,
        }
    }

    /// The same translator with times in `zone`.
    pub fn in_zone(self, zone: Tz) -> Self {
        Self { zone, ..self }
    }

    /// The message `key` in this language (falling back to English).
    pub fn t(&self, key: &str) -> String {
        plain(self.lang, key)
    }

    /// The message `key` with named arguments.
    pub fn t_args(&self, key: &str, args: &[(&'static str, &str)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.to_string())))
            .collect();
        LOCALES.lookup_with_args(&self.lang.langid(), key, &args)
    }

    /// Like [`Tr::t_args`] with a single argument; handy in templates.
    pub fn t1(&self, key: &str, name: &'static str, value: &str) -> String {
        self.t_args(key, &[(name, value)])
    }

    /// `at` in the reader's time zone, to the second, with the zone's
    /// abbreviation ("2026-03-29 03:30:00 CEST"): the one way a page or a
    /// mail shows a time.
    pub fn fmt_time(&self, at: impl std::borrow::Borrow<DateTime<Utc>>) -> String {
        fmt_time_in(self.zone, *at.borrow())
    }

    /// The reader's zone's IANA name ("Europe/Amsterdam"), e.g. next to a
    /// field whose time is read in it.
    pub fn zone_name(&self) -> &'static str {
        self.zone.name()
    }
}

/// The message `key`, without arguments, in `lang`. A page asks for dozens
/// of these, and formatting one through Fluent costs more than the page's
/// query; so each is formatted once per language and kept. Only keys the
/// bundles hold are kept (their number is fixed); an unknown key answers
/// Fluent's placeholder, uncached.
fn plain(lang: Lang, key: &str) -> String {
    use std::sync::{LazyLock, PoisonError, RwLock};
    type Kept = RwLock<HashMap<Box<str>, String>>;
    static KEPT: LazyLock<[Kept; Lang::ALL.len()]> = LazyLock::new(Default::default);
    let kept = &KEPT[lang as usize];
    if let Some(text) = kept.read().unwrap_or_else(PoisonError::into_inner).get(key) {
        return text.clone();
    }
    match LOCALES.try_lookup(&lang.langid(), key) {
        Some(text) => {
            kept.write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key.into(), text.clone());
            text
        }
        None => LOCALES.lookup(&lang.langid(), key),
    }
}

/// `at` in `zone`, to the second, with the zone's abbreviation ("CET",
/// "CEST", "UTC", or "+03" where the tz database names none). Written digit
/// by digit: a strftime pattern is parsed on every call, and padded `write!`
/// fields were 6 % of a fifty-row page's instructions (callgrind; issue 20).
pub fn fmt_time_in(zone: Tz, at: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use chrono_tz::OffsetName;
    let local = at.with_timezone(&zone);
    let year = local.year();
    if !(0..=9999).contains(&year) {
        // `%Y` signs such years; PostgreSQL holds none of them anyway.
        return local.format("%Y-%m-%d %H:%M:%S %Z").to_string();
    }
    let (year, mut text) = (year.unsigned_abs(), String::with_capacity(32));
    for (sep, n) in [
        ("", year / 100),
        ("", year % 100),
        ("-", local.month()),
        ("-", local.day()),
        (" ", local.hour()),
        (":", local.minute()),
        (":", local.second()),
    ] {
        text.push_str(sep);
        text.push(char::from(b'0' + (n / 10) as u8));
        text.push(char::from(b'0' + (n % 10) as u8));
    }
    // `%Z`: the abbreviation, or the offset's `Display` (`+03`) without one.
    match local.offset().abbreviation() {
        Some(name) => text.extend([" ", name]),
        None => text.extend([" ", local.offset().to_string().as_str()]),
    }
    text
}

/// A time in UTC, for readers who have no zone: the JSON API's messages
/// and the command line.
pub fn fmt_utc(at: DateTime<Utc>) -> String {
    fmt_time_in(Tz::UTC, at)
}

/// The zones a person can choose: UTC and the tz database's
/// `Region/City` names (no legacy aliases such as `US/Eastern` or
/// `Etc/GMT+5`, whose signs read backwards), by name.
pub fn offered_zones() -> impl Iterator<Item = Tz> {
    const REGIONS: [&str; 10] = [
        "Africa/",
        "America/",
        "Antarctica/",
        "Arctic/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    ];
    std::iter::once(Tz::UTC).chain(
        chrono_tz::TZ_VARIANTS
            .iter()
            .copied()
            .filter(|z| REGIONS.iter().any(|r| z.name().starts_with(r))),
    )
}

/// The offered zone named exactly `name`; `None` for anything else.
pub fn parse_zone(name: &str) -> Option<Tz> {
    let zone: Tz = name.parse().ok()?;
    (zone.name() == name && offered_zones().any(|z| z == zone)).then_some(zone)
}

/// The reader's zone: their own choice, else their organisation's default,
/// else UTC (one rule for pages and mails). A stored name that no longer
/// parses is skipped.
pub fn reader_zone(chosen: Option<&str>, default: Option<&str>) -> Tz {
    chosen
        .and_then(|n| n.parse().ok())
        .or_else(|| default.and_then(|n| n.parse().ok()))
        .unwrap_or(Tz::UTC)
}

/// The moment the clock in `zone` reads `local`: of two (the hour the clock
/// is set back) the earlier, or the `later`; a time the clock skips (set
/// forward) is read with the offset before the jump, so it falls just
/// after it.
pub fn local_to_utc(zone: Tz, local: chrono::NaiveDateTime, later: bool) -> chrono::DateTime<Utc> {
    use chrono::{LocalResult, Offset, TimeZone};
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, late) => if later { late } else { early }.with_timezone(&Utc),
        LocalResult::None => {
            let before = zone
                .offset_from_utc_datetime(&(local - chrono::Duration::days(1)))
                .fix();
            (local - chrono::Duration::seconds(i64::from(before.local_minus_utc()))).and_utc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_honours_weights() {
        assert_eq!(
            Lang::from_accept_language("nl-NL,nl;q=0.9,en;q=0.8"),
            Some(Lang::Nl)
        );
        assert_eq!(
            Lang::from_accept_language("de;q=1, en;q=0.5, nl;q=0.7"),
            Some(Lang::Nl)
        );
        assert_eq!(Lang::from_accept_language("de, fr"), None);
        assert_eq!(Lang::from_accept_language("en;q=0"), None);
    }

    #[test]
    fn times_are_in_the_readers_zone_across_both_dst_switches() {
        use chrono::TimeZone;
        let tr = Tr::new(Lang::En).in_zone(chrono_tz::Europe::Amsterdam);
        let at = |h, m| Utc.with_ymd_and_hms(2026, 3, 29, h, m, 0).unwrap();
        assert_eq!(tr.fmt_time(at(0, 59)), "2026-03-29 01:59:00 CET");
        assert_eq!(tr.fmt_time(at(1, 0)), "2026-03-29 03:00:00 CEST");
        let at = |h, m| Utc.with_ymd_and_hms(2026, 10, 25, h, m, 0).unwrap();
        assert_eq!(tr.fmt_time(at(0, 30)), "2026-10-25 02:30:00 CEST");
        assert_eq!(tr.fmt_time(at(1, 30)), "2026-10-25 02:30:00 CET");
        assert_eq!(
            Tr::new(Lang::Nl).fmt_time(at(1, 30)),
            "2026-10-25 01:30:00 UTC"
        );
    }

    #[test]
    fn only_offered_zone_names_parse() {
        assert_eq!(
            parse_zone("Europe/Amsterdam"),
            Some(chrono_tz::Europe::Amsterdam)
        );
        assert_eq!(parse_zone("UTC"), Some(Tz::UTC));
        for bad in [
            "",
            "europe/amsterdam",
            "US/Eastern",
            "Etc/GMT+5",
            "Mars/Olympus",
            " UTC",
        ] {
            assert_eq!(parse_zone(bad), None, "{bad:?}");
        }
        assert!(offered_zones().count() > 300);
    }

    #[test]
    fn the_readers_zone_is_theirs_else_the_default_else_utc() {
        use chrono_tz::{America, Europe};
        assert_eq!(
            reader_zone(Some("America/Denver"), Some("Europe/Amsterdam")),
            America::Denver
        );
        assert_eq!(
            reader_zone(None, Some("Europe/Amsterdam")),
            Europe::Amsterdam
        );
        assert_eq!(reader_zone(None, None), Tz::UTC);
        assert_eq!(reader_zone(Some("nowhere"), Some("also nowhere")), Tz::UTC);
    }

    #[test]
    fn lookup_falls_back_to_english() {
        let en = Tr::new(Lang::En);
        assert_eq!(en.t("product-name"), "lockbox");
        assert_eq!(en.t1("greeting", "name", "Ada"), "Signed in as Ada");
    }

    /// Kept messages read as Fluent formats them, the second time too;
    /// an unknown key is never kept.
    #[test]
    fn kept_messages_are_fluents_own() {
        let en = keys_of(include_str!("../templates/i18n/en-US/lockbox.ftl"));
        for lang in Lang::ALL {
            for _ in 0..2 {
                for key in &en {
                    assert_eq!(Tr::new(lang).t(key), LOCALES.lookup(&lang.langid(), key));
                }
            }
            let unknown = format!("no-such-key-{}", lang.code());
            assert_eq!(
                Tr::new(lang).t(&unknown),
                LOCALES.lookup(&lang.langid(), &unknown)
            );
            assert!(LOCALES.try_lookup(&lang.langid(), &unknown).is_none());
        }
    }

    /// The field-by-field time is the strftime pattern's, in every offered
    /// zone, around the year and at the ends of what PostgreSQL holds.
    #[test]
    fn times_read_as_the_strftime_pattern_wrote_them() {
        use chrono::TimeZone;
        let instants = [
            (1, 1, 1),
            (1970, 1, 1),
            (2026, 3, 29),
            (2026, 7, 1),
            (2026, 10, 25),
            (9999, 12, 31),
        ]
        .map(|(y, m, d)| Utc.with_ymd_and_hms(y, m, d, 1, 30, 7).unwrap());
        for zone in offered_zones() {
            for at in instants {
                let pattern = at
                    .with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string();
                assert_eq!(fmt_time_in(zone, at), pattern, "{zone} {at}");
            }
        }
    }

    fn keys_of(bundle: &str) -> std::collections::BTreeSet<String> {
        bundle
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '.']) && l.contains(" = "))
            .filter_map(|l| l.split(" = ").next().map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_dutch_bundle_has_every_english_message() {
        let en = keys_of(include_str!("../templates/i18n/en-US/lockbox.ftl"));
        let nl = keys_of(include_str!("../templates/i18n/nl/lockbox.ftl"));
        let missing: Vec<_> = en.difference(&nl).collect();
        assert!(missing.is_empty(), "missing in nl: {missing:?}");
        let extra: Vec<_> = nl.difference(&en).collect();
        assert!(extra.is_empty(), "only in nl: {extra:?}");
    }

    /// Every literal key a template or the code looks up exists in English.
    #[test]
    fn every_key_used_exists_in_english() {
        fn scan(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    scan(&path, found);
                } else if path.extension().is_some_and(|e| e == "html" || e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    for piece in text.split('"').collect::<Vec<_>>().windows(2) {
                        let (before, key) = (piece[0], piece[1]);
                        let is_lookup = [".t(", ".t1(", ".t_args(", "tr.t("]
                            .iter()
                            .any(|call| before.ends_with(call));
                        if is_lookup && !key.is_empty() && !key.contains(' ') {
                            found.push((path.display().to_string(), key.to_owned()));
                        }
                    }
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = Vec::new();
        scan(&root.join("templates"), &mut found);
        scan(&root.join("src"), &mut found);
        assert!(found.len() > 20, "the scan finds the lookups");
        let english = keys_of(include_str!("../templates/i18n/en-US/lockbox.ftl"));
        let missing: Vec<_> = found.iter().filter(|(_, k)| !english.contains(k)).collect();
        assert!(
            missing.is_empty(),
            "keys without an English message: {missing:?}"
        );
    }
}
