//! Streaming an audit export, once for every interface that offers one:
//! the admin center's Audit › Export and the API's `GET /api/v1/audit/export`.
//! Each says in its own words why an export cannot start
//! ([`export::Busy`]); everything else is here.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::Poll,
};

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::{
    audit::{
        export::{self, Format},
        search::Filter,
    },
    db::{self, DbError},
    identity::{TenantId, UserId},
};

/// Seconds a refused export is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 60;

/// How long an export waits for its client to take the next chunk.
const STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// What is exported, for whom.
pub struct ExportJob {
    /// Whose export it is: one of the per-person slots is theirs.
    pub user: UserId,
    pub tenant: TenantId,
    /// The tenant's name, for the file name.
    pub tenant_name: String,
    pub filter: Filter,
    pub format: Format,
}

/// Streams the whole result of `job`'s search, when an export slot is free
/// (see [`export::Slots`]: one per person, a few per process); otherwise
/// says why not, at once (the caller answers 429 or 503).
///
/// A task reads the result batch by batch (keyset pages), each batch on a
/// pooled connection taken for that batch alone (with the longer export
/// statement timeout), and hands the encoded batch to the response through
/// a small bounded channel. So memory stays flat however many records
/// there are, and a slow client slows the reader without holding a
/// database connection. A client that takes nothing for a minute, or an
/// export that outlasts `LOCKBOX_EXPORT_MAX_MINUTES`, ends the task and
/// frees its slot; the download then breaks off rather than looking
/// complete.
pub fn stream(state: &AppState, job: ExportJob) -> Result<HttpResponse, export::Busy> {
    let slot = state.exports.try_take(job.user).inspect_err(|busy| {
        tracing::info!(user = %job.user, ?busy, "audit export refused");
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<web::Bytes>(2);
    let complete = Arc::new(AtomicBool::new(false));
    let run = Export {
        pool: state.pool.clone(),
        tenant: job.tenant,
        filter: Arc::new(job.filter),
        format: job.format,
        statement_timeout: state.settings.limits.export_statement_timeout,
        tx,
    };
    let (limit, done) = (state.settings.limits.export_time_limit, complete.clone());
    actix_web::rt::spawn(async move {
        let _slot = slot;
        match tokio::time::timeout(limit, run.stream()).await {
            Ok(Ok(records)) => {
                done.store(true, Ordering::Release);
                tracing::info!(records, "audit export complete");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "audit export stopped"),
            Err(_) => tracing::warn!(?limit, "audit export cut off at its time limit"),
        }
    });
    let mut ended = false;
    let body = futures_util::stream::poll_fn(move |cx| {
        if ended {
            return Poll::Ready(None);
        }
        match rx.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(None) => {
                ended = true;
                if complete.load(Ordering::Acquire) {
                    Poll::Ready(None)
                } else {
                    // Breaks the chunked response off: the client sees a
                    // failed download, never a short file that looks whole.
                    Poll::Ready(Some(Err(actix_web::error::ErrorInternalServerError(
                        "audit export stopped",
                    ))))
                }
            }
            Poll::Pending => Poll::Pending,
        }
    });
    let name = format!(
        "audit-{}-{}.{}",
        job.tenant_name
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        state.clock.now().format("%Y%m%dT%H%M%SZ"),
        job.format.extension()
    );
    Ok(HttpResponse::Ok()
        .content_type(job.format.content_type())
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(body))
}

/// One export's reading side.
struct Export {
    pool: db::PgPool,
    tenant: TenantId,
    filter: Arc<Filter>,
    format: Format,
    statement_timeout: std::time::Duration,
    tx: tokio::sync::mpsc::Sender<web::Bytes>,
}

impl Export {
    /// Reads and sends every batch; the number of records.
    async fn stream(self) -> Result<u64, String> {
        let preamble = export::preamble(self.format).map_err(|e| e.to_string())?;
        self.send(preamble).await?;
        let (mut after, mut records) = (None, 0);
        loop {
            let (tenant, format, timeout) = (self.tenant, self.format, self.statement_timeout);
            let filter = self.filter.clone();
            // The connection is the pool's again before the batch is sent.
            let batch = db::blocking(&self.pool, move |conn| {
                db::with_statement_timeout(conn, timeout, |conn| {
                    export::read_batch(conn, tenant, &filter, after, format)
                        .map_err(ExportFailure::from)
                })
            })
            .await
            .map_err(|e: ExportFailure| e.to_string())?;
            records += batch.records;
            if !batch.bytes.is_empty() {
                self.send(batch.bytes).await?;
            }
            match batch.next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(records),
            }
        }
    }

    async fn send(&self, chunk: Vec<u8>) -> Result<(), String> {
        match tokio::time::timeout(STALL_LIMIT, self.tx.send(web::Bytes::from(chunk))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err("the client went away".into()),
            Err(_) => Err("the client stopped reading".into()),
        }
    }
}

/// What can end an export's reading early.
#[derive(Debug, thiserror::Error)]
enum ExportFailure {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Export(#[from] export::ExportError),
}

impl From<diesel::result::Error> for ExportFailure {
    fn from(e: diesel::result::Error) -> Self {
        ExportFailure::Export(export::ExportError::Db(e))
    }
}
