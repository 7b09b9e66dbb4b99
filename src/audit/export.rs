//! Export of a whole search result as CSV or JSON Lines, produced in
//! batches (keyset pages of the search) so memory does not grow with the
//! number of records.

use crate::identity::TenantId;
use diesel::prelude::*;

use super::{
    Record,
    search::{self, Filter},
};

/// Records per batch.
pub const BATCH: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::JsonLines),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

const CSV_HEADER: [&str; 13] = [
    "id",
    "occurred_at",
    "tenant_id",
    "seq",
    "actor_id",
    "actor_name",
    "ip",
    "activity",
    "item",
    "request_id",
    "parameters",
    "prev_hash",
    "hash",
];

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("could not write the export: {0}")]
    Write(String),
}

/// The bytes that start an export (the CSV header line).
pub fn preamble(format: Format) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(CSV_HEADER)
                .map_err(|e| ExportError::Write(e.to_string()))?;
            w.into_inner()
                .map_err(|e| ExportError::Write(e.to_string()))
        }
        Format::JsonLines => Ok(Vec::new()),
    }
}

/// Encodes one batch of records.
pub fn encode(format: Format, records: &[Record]) -> Result<Vec<u8>, ExportError> {
    let write = |e: &dyn std::fmt::Display| ExportError::Write(e.to_string());
    match format {
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            for r in records {
                w.write_record([
                    r.id.to_string(),
                    r.occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    r.tenant_id.to_string(),
                    r.seq.map(|s| s.to_string()).unwrap_or_default(),
                    r.actor_id.clone(),
                    r.actor_name.clone(),
                    r.ip.clone(),
                    r.activity.clone(),
                    r.item.clone(),
                    r.request_id.map(|u| u.to_string()).unwrap_or_default(),
                    r.parameters.to_string(),
                    r.prev_hash
                        .as_deref()
                        .map(crate::digest::hex)
                        .unwrap_or_default(),
                    r.hash
                        .as_deref()
                        .map(crate::digest::hex)
                        .unwrap_or_default(),
                ])
                .map_err(|e| write(&e))?;
            }
            w.into_inner().map_err(|e| write(&e))
        }
        Format::JsonLines => {
            let mut out = Vec::new();
            for r in records {
                serde_json::to_writer(&mut out, r).map_err(|e| write(&e))?;
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

/// Calls `sink` with the encoded export, batch by batch, until every record
/// matching `filter` is written. Returns the number of records.
pub fn export<E: From<ExportError>>(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    filter: &Filter,
    format: Format,
    mut sink: impl FnMut(Vec<u8>) -> Result<(), E>,
) -> Result<u64, E> {
    sink(preamble(format)?)?;
    let mut after = None;
    let mut count = 0;
    loop {
        let (batch, next) =
            search::search(conn, tenant_id, filter, after, BATCH).map_err(ExportError::from)?;
        count += batch.len() as u64;
        sink(encode(format, &batch)?)?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(count),
        }
    }
}
