//! Audit › Audit log search: filters, newest first, keyset pages, a filter
//! box over the shown results, a "More information" page per record, export
//! of the whole result as CSV or JSON Lines (streamed), and the chain head a
//! customer can note to prove later that nothing was rewritten.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::{Datelike, NaiveDateTime, Utc};

use super::{LockboxUser, chrome};
use crate::{
    audit::{
        self, Record, activity,
        export::{self, Format},
        search::{self, Cursor, Filter},
    },
    db::{self, DbError},
    i18n::{Tr, fmt_time},
    web::error::AppError,
    web::{
        AppState,
        chrome::Chrome,
        export::{ExportJob, RETRY_AFTER_SECS},
        render_status,
    },
};

const PATH: &str = "/audit";
/// Records per page.
const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(search_page))
        .route("/audit/records/{id}", web::get().to(detail))
        .route("/audit/export.{format}", web::get().to(export_file))
        .route("/audit/signing-key.pem", web::get().to(signing_key_pem))
        .route(
            "/audit/checkpoints/{seq}.json",
            web::get().to(checkpoint_json),
        );
}

/// Checkpoints the Audit page lists (the newest).
const CHECKPOINTS_SHOWN: i64 = 20;

/// The deployment's current public key, from the public keyring (the page
/// never reads the private key). Reads a small file: call it where
/// blocking is allowed.
fn current_key(key_file: &std::path::Path) -> Option<crate::signing::PublicKeyEntry> {
    match crate::signing::PublicKeys::load(key_file) {
        Ok(keys) => keys.current().cloned(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the signing keyring");
            None
        }
    }
}

/// The current public key as a `PUBLIC KEY` PEM file.
async fn signing_key_pem(
    state: web::Data<AppState>,
    LockboxUser(_): LockboxUser,
) -> Result<HttpResponse, AppError> {
    let key_file = state.settings.signing_key_file.clone();
    let key = web::block(move || current_key(&key_file))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the keyring: {e}")))?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"lockbox-signing-key-{}.pem\"",
                key.key_id
            ),
        ))
        .body(key.pem()))
}

/// One of the tenant's checkpoints as JSON (another tenant's: 404).
async fn checkpoint_json(
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (tenant, seq) = (user.tenant_id, path.into_inner());
    let checkpoint = db::blocking(&state.pool, move |conn| {
        audit::checkpoint::find(conn, tenant, seq).map_err(DbError::from)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"lockbox-checkpoint-{seq}.json\""),
        ))
        .json(checkpoint.published()))
}

/// The search form as typed (a query string; activities repeat).
#[derive(Debug, Clone, Default)]
struct SearchForm {
    activities: Vec<String>,
    start: String,
    end: String,
    users: String,
    item: String,
    text: String,
    /// The filter box over the shown results.
    narrow: String,
    after: String,
}

impl SearchForm {
    fn from_query(query: &str) -> Self {
        let mut form = SearchForm::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "activity" if !value.is_empty() => form.activities.push(value),
                "start" => form.start = value,
                "end" => form.end = value,
                "users" => form.users = value,
                "item" => form.item = value,
                "text" => form.text = value,
                "narrow" => form.narrow = value,
                "after" => form.after = value,
                _ => {}
            }
        }
        form
    }

    /// The filter, or the translation key of what is wrong.
    fn parse(&self) -> Result<(Filter, Option<Cursor>), &'static str> {
        // A time and how much it stands for: a minute, a second or a day.
        let when =
            |raw: &str| -> Result<Option<(chrono::DateTime<Utc>, chrono::Duration)>, &'static str> {
                let raw = raw.trim();
                if raw.is_empty() {
                    return Ok(None);
                }
                let minute = chrono::Duration::minutes(1);
                [
                    ("%Y-%m-%dT%H:%M", minute),
                    ("%Y-%m-%d %H:%M", minute),
                    ("%Y-%m-%dT%H:%M:%S", chrono::Duration::seconds(1)),
                ]
                .iter()
                .find_map(|(f, span)| {
                    NaiveDateTime::parse_from_str(raw, f)
                        .ok()
                        .map(|t| (t, *span))
                })
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| (t, chrono::Duration::days(1)))
                })
                // Years PostgreSQL can store (and arithmetic cannot overflow).
                .filter(|(t, _)| (1..=9999).contains(&t.year()))
                .map(|(t, span)| Some((t.and_utc(), span)))
                .ok_or("error-audit-date")
            };
        let start = when(&self.start)?.map(|(t, _)| t);
        // The end is inclusive of the whole minute (or day) it names.
        let end = when(&self.end)?
            .map(|(t, span)| {
                t.checked_add_signed(span - chrono::Duration::microseconds(1))
                    .ok_or("error-audit-date")
            })
            .transpose()?;
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            return Err("error-audit-order");
        }
        if let Some(unknown) = self
            .activities
            .iter()
            .find(|a| !activity::ALL.contains(&a.as_str()))
        {
            tracing::debug!(%unknown, "unknown activity in audit search");
            return Err("error-audit-activity");
        }
        let after = match self.after.trim() {
            "" => None,
            raw => Some(Cursor::decode(raw).ok_or("error-filter-page")?),
        };
        let text = [self.text.trim(), self.narrow.trim()];
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Ok((
            Filter {
                activities: self.activities.clone(),
                start,
                end,
                users: self
                    .users
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect(),
                item: nonempty(self.item.trim()),
                text: nonempty(text[0]),
                narrow: nonempty(text[1]),
            },
            after,
        ))
    }

    /// The query string of this search (without the page position).
    fn query_string(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for a in &self.activities {
            s.append_pair("activity", a);
        }
        for (k, v) in [
            ("start", &self.start),
            ("end", &self.end),
            ("users", &self.users),
            ("item", &self.item),
            ("text", &self.text),
            ("narrow", &self.narrow),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }

    fn is_empty(&self) -> bool {
        self.query_string().is_empty()
    }
}

struct RecordRow {
    id: i64,
    at: String,
    actor: String,
    ip: String,
    activity: String,
    item: String,
    summary: String,
}

impl From<&Record> for RecordRow {
    fn from(r: &Record) -> Self {
        Self {
            id: r.id,
            at: fmt_time(r.occurred_at),
            actor: r.actor_name.clone(),
            ip: r.ip.clone(),
            activity: r.activity.clone(),
            item: r.item.clone(),
            summary: summary(&r.parameters),
        }
    }
}

/// `Key: value; …` of the parameters, shortened for the result table.
fn summary(params: &serde_json::Value) -> String {
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

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct SearchPage {
    tr: Tr,
    chrome: Chrome,
    form: SearchForm,
    activities: &'static [&'static str],
    rows: Vec<RecordRow>,
    next: Option<String>,
    error: Option<String>,
    head: audit::Head,
    query: String,
    key: Option<crate::signing::PublicKeyEntry>,
    checkpoints: Vec<audit::checkpoint::Published>,
}

impl SearchPage {
    fn checked(&self, activity: &str) -> bool {
        self.form.activities.iter().any(|a| a == activity)
    }
}

async fn search_page(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
) -> Result<HttpResponse, AppError> {
    let form = SearchForm::from_query(req.query_string());
    show_search(&req, tr, &state, &user, form, None).await
}

/// The search page for `form`; with `refusal` (a status and the message's
/// key), that message in place of the results.
async fn show_search(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &crate::tenants::TenantUser,
    form: SearchForm,
    refusal: Option<(StatusCode, &'static str)>,
) -> Result<HttpResponse, AppError> {
    let parsed = form.parse();
    let tenant = user.tenant_id;
    let (filter, after) = parsed.clone().unwrap_or_default();
    let valid = parsed.is_ok() && refusal.is_none();
    let key_file = state.settings.signing_key_file.clone();
    let (rows, next, head, checkpoints, key) = db::blocking(&state.pool, move |conn| {
        let key = current_key(&key_file);
        let head = audit::head(conn, tenant)?;
        let checkpoints = audit::checkpoint::list(conn, tenant, CHECKPOINTS_SHOWN)?;
        let (rows, next) = if valid {
            search::search(conn, tenant, &filter, after, PAGE_SIZE)?
        } else {
            (Vec::new(), None)
        };
        Ok::<_, DbError>((rows, next, head, checkpoints, key))
    })
    .await?;
    let query = form.query_string();
    let (status, error) = match (refusal, parsed) {
        (Some((status, key)), _) => (status, Some(tr.t(key))),
        (None, Err(key)) => (StatusCode::BAD_REQUEST, Some(tr.t(key))),
        (None, Ok(_)) => (StatusCode::OK, None),
    };
    let page = SearchPage {
        chrome: chrome(req, user)?,
        activities: activity::ALL,
        rows: rows.iter().map(RecordRow::from).collect(),
        next: next.map(|c| {
            let sep = if query.is_empty() { "" } else { "&" };
            format!("{query}{sep}after={}", c.encode())
        }),
        error,
        head,
        query,
        form,
        key,
        checkpoints: checkpoints.iter().map(|c| c.published()).collect(),
        tr,
    };
    render_status(status, &page)
}

#[derive(Template)]
#[template(path = "admin/audit_record.html")]
struct DetailPage {
    tr: Tr,
    chrome: Chrome,
    record: Record,
    at: String,
    parameters: String,
    /// The seal, once the sealer has chained the record (see audit::seal).
    seq: Option<i64>,
    hash: Option<String>,
    prev_hash: Option<String>,
}

async fn detail(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = (user.tenant_id, path.into_inner());
    let record = db::blocking(&state.pool, move |conn| {
        audit::find(conn, tenant, id).map_err(DbError::from)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    render_status(
        StatusCode::OK,
        &DetailPage {
            chrome: chrome(&req, &user)?,
            at: record
                .occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            parameters: serde_json::to_string_pretty(&record.parameters).unwrap_or_default(),
            seq: record.seq,
            hash: record.hash.as_deref().map(crate::digest::hex),
            prev_hash: record.prev_hash.as_deref().map(crate::digest::hex),
            record,
            tr,
        },
    )
}

/// Audit › Export: the whole result of the search, streamed (see
/// [`crate::web::export::stream`]); when no export slot is free, the
/// search page says why, 429 or 503.
async fn export_file(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let format = Format::parse(&path.into_inner()).ok_or(AppError::NotFound)?;
    let form = SearchForm::from_query(req.query_string());
    let (filter, _) = form
        .parse()
        .map_err(|k| AppError::BadRequest(k.to_owned()))?;
    let job = ExportJob {
        user: user.id,
        tenant: user.tenant_id,
        tenant_name: user.tenant_name.clone(),
        filter,
        format,
    };
    match crate::web::export::stream(&state, job) {
        Ok(response) => Ok(response),
        Err(busy) => {
            let (status, key) = match busy {
                export::Busy::User => (StatusCode::TOO_MANY_REQUESTS, "error-export-busy-user"),
                export::Busy::Process => (StatusCode::SERVICE_UNAVAILABLE, "error-export-busy"),
            };
            let mut response =
                show_search(&req, tr, &state, &user, form, Some((status, key))).await?;
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(RETRY_AFTER_SECS),
            );
            Ok(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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
            if let Ok((filter, after)) = form.parse() {
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
            if let Ok((filter, _)) = form.parse() {
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
            assert_eq!(form.parse().err(), Some("error-audit-date"), "{raw}");
        }
        let form = SearchForm {
            start: "2026-03-02".into(),
            end: "9999-12-31T23:59".into(),
            ..SearchForm::default()
        };
        assert!(form.parse().is_ok());
    }

    #[test]
    fn huge_queries_are_parsed_without_trouble() {
        let huge = format!(
            "text={}&after={}",
            "%E2%80%AE".repeat(100_000),
            "9".repeat(100_000)
        );
        let form = SearchForm::from_query(&huge);
        assert_eq!(form.parse().err(), Some("error-filter-page"));
    }
}
