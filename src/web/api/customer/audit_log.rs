//! The customer's audit log through the API: the search page's filters,
//! keyset pages, and the streamed export the page offers.

// The customer API's vocabulary: its imports, its helpers.
use super::*;

/// The audit search's filters, as `GET /api/v1/audit` and its export take
/// them.
#[derive(Debug, Default)]
struct AuditFilter {
    activities: Option<String>,
    start_date: Option<DateTime<Utc>>,
    end_date: Option<DateTime<Utc>>,
    users: Option<String>,
    item: Option<String>,
    free_text: Option<String>,
}

impl AuditFilter {
    /// The search's filter, or what is wrong with the query.
    fn parse(self) -> Result<Filter, ApiError> {
        let activities = list(self.activities.as_deref());
        if let Some(unknown) = activities
            .iter()
            .find(|a| !activity::ALL.contains(&a.as_str()))
        {
            return Err(ApiError::BadQuery(format!("unknown activity {unknown:?}")));
        }
        let (start, end) = (
            storable("StartDate", self.start_date)?,
            storable("EndDate", self.end_date)?,
        );
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            return Err(ApiError::BadQuery("EndDate is before StartDate".into()));
        }
        Ok(Filter {
            activities,
            start,
            end,
            users: list(self.users.as_deref()),
            item: self.item.filter(|s| !s.trim().is_empty()),
            text: self.free_text.filter(|s| !s.trim().is_empty()),
            narrow: None,
        })
    }
}

/// The audit search's parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Comma-separated activity names (e.g. `Set-AccessToCustomerDataRequest`).
    activities: Option<String>,
    /// Records at or after this time.
    start_date: Option<DateTime<Utc>>,
    /// Records at or before this time.
    end_date: Option<DateTime<Utc>>,
    /// Comma-separated user ids or names.
    users: Option<String>,
    /// Exactly this item (e.g. a request's id).
    item: Option<String>,
    /// Text in the records' parameters.
    free_text: Option<String>,
    /// `NextCursor` of the previous page.
    #[serde(rename = "cursor")]
    cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[serde(rename = "limit")]
    limit: Option<i64>,
}

/// The audit export's parameters: the search's filters and a format.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditExportQuery {
    /// Comma-separated activity names (e.g. `Set-AccessToCustomerDataRequest`).
    activities: Option<String>,
    /// Records at or after this time.
    start_date: Option<DateTime<Utc>>,
    /// Records at or before this time.
    end_date: Option<DateTime<Utc>>,
    /// Comma-separated user ids or names.
    users: Option<String>,
    /// Exactly this item (e.g. a request's id).
    item: Option<String>,
    /// Text in the records' parameters.
    free_text: Option<String>,
    /// `csv` or `jsonl` (JSON Lines).
    #[serde(rename = "format")]
    #[param(required = true, value_type = String, pattern = "^(csv|jsonl)$")]
    format: Option<String>,
}

fn list(raw: Option<&str>) -> Vec<String> {
    raw.map(|r| {
        r.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Audit log search: the organization's records, newest first, a page at
/// a time (the admin center's Audit › Audit log search).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit records.", body = PageJson<AuditJson>),
        (status = 403, description = "The token's user may not read the audit log."),
    )
)]
pub(super) async fn search_audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: ApiCustomer,
) -> Result<HttpResponse, ApiError> {
    me.require(TokenScope::Read)?;
    let q: AuditQuery = query(&req)?;
    let filter = AuditFilter {
        activities: q.activities,
        start_date: q.start_date,
        end_date: q.end_date,
        users: q.users,
        item: q.item,
        free_text: q.free_text,
    }
    .parse()?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(raw) => Some(search::Cursor::decode(raw).ok_or(ApiError::BadQuery("cursor".into()))?),
    };
    let limit = limit(q.limit)?;
    let tenant = me.user.tenant_id;
    let (records, next) = blocking(&state, move |conn| {
        Ok(search::search(conn, tenant, &filter, after, limit)?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &PageJson {
            items: records.iter().map(AuditJson::from).collect::<Vec<_>>(),
            next_cursor: next.map(|c| c.encode()),
        },
    ))
}

/// Audit log export: every record the filters match, streamed as CSV or
/// JSON Lines, exactly as the admin center's Audit › Export (the same
/// columns, the same limits: one export per person and a few per process
/// at a time, a time limit; a download that breaks off was cut short).
#[utoipa::path(
    get,
    path = "/api/v1/audit/export",
    tag = "audit",
    params(AuditExportQuery),
    responses(
        (status = 200, description = "The records, newest first, streamed.",
            content(
                (String = "text/csv"),
                (String = "application/x-ndjson"),
            ),
            headers(("content-disposition" = String, description = "attachment; filename=…"))),
        (status = 403, description = "The token's user may not read the audit log."),
        (status = 429, description = "This user already has an export running."),
        (status = 503, description = "Too many exports are running in this process; try again later."),
    )
)]
pub(super) async fn export_audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: ApiCustomer,
) -> Result<HttpResponse, ApiError> {
    me.require(TokenScope::Read)?;
    let q: AuditExportQuery = query(&req)?;
    let format = q
        .format
        .as_deref()
        .and_then(Format::parse)
        .ok_or_else(|| ApiError::BadQuery("format must be csv or jsonl".into()))?;
    let filter = AuditFilter {
        activities: q.activities,
        start_date: q.start_date,
        end_date: q.end_date,
        users: q.users,
        item: q.item,
        free_text: q.free_text,
    }
    .parse()?;
    let job = ExportJob {
        user: me.user.id,
        tenant: me.user.tenant_id,
        tenant_name: me.user.tenant_name.clone(),
        filter,
        format,
    };
    streaming::stream(&state, job).map_err(ApiError::ExportBusy)
}
