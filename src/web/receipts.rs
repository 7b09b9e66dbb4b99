//! Downloads that let a customer check the provider's word offline: a
//! decision's signed receipt (JSON, the signed bytes, the raw signature —
//! the last two for `openssl pkeyutl -verify`) on both portals, and the
//! evidence pack of a closed request in the admin center.

use actix_web::{HttpResponse, http::header, web};

use super::{
    AppState, error::AppError, forms::SignedIn, request_pages::RequestPortal, view::Viewer,
};
use crate::{
    audit::receipt::Receipt,
    content::evidence::{self, EvidenceError},
    db,
    identity::RequestId,
    requests::use_cases,
};

/// Registers `P`'s downloads, relative to its base (inside the request
/// pages' scope); before the request pages' routes, whose `{id}/{action}`
/// would otherwise take `{id}/evidence.json`.
pub fn routes<P: RequestPortal>(cfg: &mut web::ServiceConfig) {
    cfg.route("/{id}/receipts/{file}", web::get().to(receipt::<P>));
    if P::VIEWER == Viewer::Customer {
        cfg.route("/{id}/evidence.json", web::get().to(evidence_pack::<P>));
    }
}

/// What a receipt download holds, from its file name's extension.
#[derive(Clone, Copy)]
enum Part {
    Json,
    SignedBytes,
    Signature,
}

fn parse_file(name: &str) -> Option<(i64, Part)> {
    let (record, ext) = name.rsplit_once('.')?;
    let part = match ext {
        "json" => Part::Json,
        "bin" => Part::SignedBytes,
        "sig" => Part::Signature,
        _ => return None,
    };
    Some((record.parse().ok().filter(|r: &i64| *r > 0)?, part))
}

fn attachment(name: &str) -> (header::HeaderName, String) {
    (
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\""),
    )
}

async fn receipt<P: RequestPortal>(
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    path: web::Path<(RequestId, String)>,
) -> Result<HttpResponse, AppError> {
    let me = me.admit()?;
    let (id, file) = path.into_inner();
    let (record, part) = parse_file(&file).ok_or(AppError::NotFound)?;
    let caller = me.caller();
    let receipts = db::blocking(&state.pool, move |conn| {
        use_cases::receipts(conn, &caller, id).map_err(AppError::from)
    })
    .await?;
    let receipt: Receipt = receipts
        .into_iter()
        .find(|r| r.audit_record == record)
        .ok_or(AppError::NotFound)?;
    let name = format!("lockbox-receipt-{record}");
    let mut response = HttpResponse::Ok();
    Ok(match part {
        Part::Json => response
            .content_type("application/json")
            .insert_header(attachment(&format!("{name}.json")))
            .json(receipt.published()),
        Part::SignedBytes => response
            .content_type("application/octet-stream")
            .insert_header(attachment(&format!("{name}.bin")))
            .body(receipt.signed_bytes()),
        Part::Signature => response
            .content_type("application/octet-stream")
            .insert_header(attachment(&format!("{name}.sig")))
            .body(receipt.signature),
    })
}

async fn evidence_pack<P: RequestPortal>(
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    path: web::Path<RequestId>,
) -> Result<HttpResponse, AppError> {
    let me = me.admit()?;
    let id = path.into_inner();
    let (caller, now) = (me.caller(), state.clock.now());
    let pack = db::blocking(&state.pool, move |conn| {
        evidence::pack(conn, &caller, id, now).map_err(|e| match e {
            EvidenceError::Request(e) => AppError::from(e),
            EvidenceError::Db(e) => AppError::from(e),
            EvidenceError::NotClosed => {
                AppError::BadRequest("the request is not closed yet".into())
            }
            EvidenceError::NotSigned => AppError::BadRequest(
                "the request's last records are not signed by a checkpoint yet; \
                 try again within the hour"
                    .into(),
            ),
        })
    })
    .await?;
    let body = serde_json::to_vec_pretty(&pack)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("encoding the evidence pack: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(attachment(&format!("lockbox-evidence-{id}.json")))
        .body(body))
}
