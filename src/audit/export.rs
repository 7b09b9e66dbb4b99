//! Export of a whole search result as CSV or JSON Lines, produced in
//! batches (keyset pages of the search) so memory does not grow with the
//! number of records; and the [`Slots`] that bound how many exports run at
//! once.
//!
//! A CSV cell that a spreadsheet would take for a formula (it starts with
//! `=`, `+`, `-`, `@`, a tab or a carriage return) is written with a `'`
//! in front (OWASP's advice on CSV injection), so opening an export never
//! runs what someone typed as their name. JSON Lines are data for
//! programs and are written as they are.
//!
//! Times are UTC in both, as recorded (RFC 3339, ending in `Z`), whatever
//! zone the person exporting sees times in on the pages; the CSV's header
//! says so (`occurred_at_utc`), for whoever opens it in a spreadsheet.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use crate::identity::{TenantId, UserId};
use diesel::prelude::*;

use super::{
    Record,
    search::{self, Cursor, Filter},
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
    "occurred_at_utc",
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

/// `cell`, with a `'` in front if a spreadsheet would read it as a formula.
pub fn neutralised(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
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
                let cells: [String; 13] = [
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
                ];
                w.write_record(cells.map(neutralised))
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

/// One batch of an export, encoded.
pub struct Batch {
    pub bytes: Vec<u8>,
    pub records: u64,
    /// Where the next batch starts; `None` after the last one.
    pub next: Option<Cursor>,
}

/// Reads and encodes the batch of records matching `filter` that starts
/// after `after` (at the newest record for `None`).
pub fn read_batch(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    filter: &Filter,
    after: Option<Cursor>,
    format: Format,
) -> Result<Batch, ExportError> {
    let (records, next) = search::search(conn, tenant_id, filter, after, BATCH)?;
    Ok(Batch {
        bytes: encode(format, &records)?,
        records: records.len() as u64,
        next,
    })
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
        let batch = read_batch(conn, tenant_id, filter, after, format)?;
        count += batch.records;
        sink(batch.bytes)?;
        match batch.next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(count),
        }
    }
}

/// Why an export cannot start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// This person already runs as many exports as one may.
    User,
    /// This process already streams as many exports as it may.
    Process,
}

/// Admission to exporting: at most `max` exports at once in this process,
/// and `per_user` for one person. Taking a slot never waits: an export
/// that cannot start now is refused at once (waiting would only pile up
/// requests behind slow downloads).
#[derive(Clone)]
pub struct Slots {
    running: Arc<Mutex<Running>>,
    max: usize,
    per_user: usize,
}

#[derive(Default)]
struct Running {
    total: usize,
    by_user: HashMap<UserId, usize>,
}

/// A running export's place; dropping it frees the place.
pub struct Slot {
    running: Arc<Mutex<Running>>,
    user: UserId,
}

impl Slots {
    pub fn new(max: usize, per_user: usize) -> Self {
        Self {
            running: Arc::default(),
            max: max.max(1),
            per_user: per_user.max(1),
        }
    }

    /// A slot for `user`'s export, if one is free.
    pub fn try_take(&self, user: UserId) -> Result<Slot, Busy> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.by_user.get(&user).copied().unwrap_or(0) >= self.per_user {
            return Err(Busy::User);
        }
        if running.total >= self.max {
            return Err(Busy::Process);
        }
        running.total += 1;
        *running.by_user.entry(user).or_insert(0) += 1;
        Ok(Slot {
            running: self.running.clone(),
            user,
        })
    }

    /// Exports running now.
    pub fn in_use(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.total = running.total.saturating_sub(1);
        if let Some(n) = running.by_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                running.by_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_quote() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "'=HYPERLINK(\"http://evil\")",
            ),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Ada = Lovelace", "Ada = Lovelace"),
            ("", ""),
            ("2026-03-02T09:00:00.000000Z", "2026-03-02T09:00:00.000000Z"),
        ] {
            assert_eq!(neutralised(cell.to_owned()), written, "{cell:?}");
        }
    }

    #[test]
    fn slots_bound_exports_per_user_and_per_process() {
        let slots = Slots::new(2, 1);
        let id = |n| UserId(uuid::Uuid::from_u128(n));
        let (ada, bob, eve) = (id(1), id(2), id(3));
        let first = slots.try_take(ada).expect("free");
        assert_eq!(slots.try_take(ada).err(), Some(Busy::User));
        let second = slots.try_take(bob).expect("free");
        assert_eq!(slots.try_take(eve).err(), Some(Busy::Process));
        assert_eq!(slots.in_use(), 2);
        drop(first);
        assert_eq!(slots.in_use(), 1);
        let third = slots.try_take(ada).expect("freed by the first");
        drop((second, third));
        assert_eq!(slots.in_use(), 0);
    }
}
