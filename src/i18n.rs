//! Every user-visible string goes through [`Tr::t`], backed by Fluent bundles
//! in `templates/i18n/<lang>/lockbox.ftl`: adding a language is adding a
//! bundle. The language comes from the `lang` cookie (the switch), else from
//! `Accept-Language`, else English.

use std::{borrow::Cow, collections::HashMap};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
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

/// The translator handed to every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The message `key` in this language (falling back to English).
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.lang.langid(), key)
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
}

impl FromRequest for Tr {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Tr::new(Lang::from_request(req))))
    }
}

/// Times are shown in UTC, to the second, with the zone spelled out.
pub fn fmt_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
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
    fn lookup_falls_back_to_english() {
        let en = Tr::new(Lang::En);
        assert_eq!(en.t("product-name"), "lockbox");
        assert_eq!(en.t1("greeting", "name", "Ada"), "Signed in as Ada");
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
