//! Audit › Audit log search: filters, newest first, keyset pages, a filter
//! box over the shown results, a "More information" page per record, export
//! of the whole result as CSV or JSON Lines (streamed), and the chain head a
//! customer can note to prove later that nothing was rewritten.
//!
//! Times are the reader's: the results show them in the signed-in
//! person's time zone, and the start and end they type are read in it
//! (the page says which zone). The records themselves, the record page's
//! exact time and the exports stay UTC.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::{Datelike, NaiveDateTime};

use super::{LockboxUser, chrome};
use crate::{
    audit::{
        self, Record, activity,
        export::{self, Format},
        search::{self, Cursor, Filter, Listed},
    },
    db::{self, DbError},
    i18n::{Tr, Tz},
    web::error::AppError,
    web::{
        AppState,
        chrome::Chrome,
        export::{ExportJob, RETRY_AFTER_SECS},
        render_status,
    },
};
use summary::summary;

const PATH: &str = "/audit";
/// Records per page.
const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(search_page))
        .route("/audit/records/{id}", web::get().to(detail))
        .route("/audit/export.{format}", web::get().to(export_file))
        .configure(super::audit_trust::routes);
}

/// Checkpoints the Audit page lists (the newest).
const CHECKPOINTS_SHOWN: i64 = 20;

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

    /// The filter, with start and end read as times in `zone`, or the
    /// translation key of what is wrong.
    fn parse(&self, zone: Tz) -> Result<(Filter, Option<Cursor>), &'static str> {
        // A time and how much it stands for: a minute, a second or a day.
        let when = |raw: &str| -> Result<Option<(NaiveDateTime, chrono::Duration)>, &'static str> {
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
            .map(|(t, span)| Some((t, span)))
            .ok_or("error-audit-date")
        };
        let start = when(&self.start)?.map(|(t, _)| crate::i18n::local_to_utc(zone, t, false));
        // The end is inclusive of the whole minute (or day) it names: up to
        // just before the next one begins (the later of two such moments
        // when the clock is set back).
        let end = when(&self.end)?
            .map(|(t, span)| {
                t.checked_add_signed(span)
                    .map(|next| {
                        crate::i18n::local_to_utc(zone, next, true)
                            - chrono::Duration::microseconds(1)
                    })
                    .ok_or("error-audit-date")
            })
            .transpose()?;
        // Read in a zone, the first or last day may leave those years.
        if [start, end]
            .iter()
            .flatten()
            .any(|t| !(1..=9999).contains(&t.year()))
        {
            return Err("error-audit-date");
        }
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

impl RecordRow {
    /// Takes the record's strings as they are (a page has fifty rows).
    fn new(tr: &Tr, r: Listed) -> Self {
        Self {
            id: r.id,
            at: tr.fmt_time(r.occurred_at),
            summary: summary(r.parameters.text()),
            actor: r.actor_name,
            ip: r.ip,
            activity: r.activity,
            item: r.item,
        }
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
    key: Option<super::audit_trust::ShownKey>,
    checkpoints: Vec<ShownCheckpoint>,
}

/// A checkpoint as the Audit page lists it: what its row shows and no
/// more. Its JSON (`Published`, behind the row's link) also formats the
/// tenant, the time to the microsecond and the signature, twenty times a
/// page for nothing.
struct ShownCheckpoint {
    seq: i64,
    head_hash: String,
    key_id: String,
    /// Its time in the reader's zone.
    at: String,
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
    let parsed = form.parse(tr.zone);
    let tenant = user.tenant_id;
    let (filter, after) = parsed.clone().unwrap_or_default();
    let valid = parsed.is_ok() && refusal.is_none();
    let key_file = state.settings.signing_key_file.clone();
    let (rows, next, head, checkpoints, key) = db::blocking(&state.pool, move |conn| {
        let key = super::audit_trust::current_key(&key_file);
        let (head, checkpoints) = audit::head_with_checkpoints(conn, tenant, CHECKPOINTS_SHOWN)?;
        let (rows, next) = if valid {
            search::search::<Listed>(conn, tenant, &filter, after, PAGE_SIZE)?
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
        rows: rows.into_iter().map(|r| RecordRow::new(&tr, r)).collect(),
        next: next.map(|c| {
            let sep = if query.is_empty() { "" } else { "&" };
            format!("{query}{sep}after={}", c.encode())
        }),
        error,
        head,
        query,
        form,
        key,
        checkpoints: checkpoints
            .into_iter()
            .map(|c| ShownCheckpoint {
                seq: c.seq,
                head_hash: crate::digest::hex(&c.head_hash),
                at: tr.fmt_time(c.created_at),
                key_id: c.key_id,
            })
            .collect(),
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
    /// The record's time in the reader's zone, and exactly as recorded (UTC).
    local_at: String,
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
            local_at: tr.fmt_time(record.occurred_at),
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
        .parse(tr.zone)
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

mod summary;
#[cfg(test)]
mod tests;
