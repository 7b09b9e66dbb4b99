//! Every refusal of the API as an RFC 9457 problem detail
//! (`application/problem+json`) with a stable type per refusal, and the
//! translations of the domain's errors into them.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde::Serialize;

use crate::{
    db::DbError,
    i18n::{Lang, Tr},
    requests::{Refusal, RequestError},
    web::view::{Viewer, refusal_message},
};

/// Where problem types live: `urn:lockbox:problem:<slug>`.
const PROBLEM_NS: &str = "urn:lockbox:problem:";

/// Every way an API call is refused, each with a stable problem type.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    Malformed(String),
    #[error("a query parameter is not valid: {0}")]
    BadQuery(String),
    /// Missing, unknown, expired or revoked token: one answer for all.
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("the token's scope does not allow this")]
    Scope,
    #[error("the caller's role does not allow this")]
    Role,
    /// The enforcement point refused an operation (and audited it).
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error("no such resource")]
    NotFound,
    #[error("{detail}")]
    Conflict {
        detail: String,
        /// The state the request is in, and who brought it there when.
        state: Option<&'static str>,
        decided_by: Option<String>,
        decided_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Issue 19: the caller already approved this request; its quorum
    /// needs someone else.
    #[error("{0}")]
    AlreadyApproved(String),
    #[error("the request body is larger than 64 KiB")]
    TooLarge,
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("some fields are not valid")]
    Invalid(Vec<FieldError>),
    #[error("too many requests for this token")]
    TooManyRequests(u64),
    /// No export slot is free (per person: 429; per process: 503).
    #[error("{}", busy_detail(*.0))]
    ExportBusy(crate::audit::export::Busy),
    /// The database cannot be reached (issue 21): 503 with `Retry-After`.
    #[error("The database cannot be reached right now; try again in a few seconds.")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

/// One bad field of a body: its name as sent, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Field errors (translation keys by form field) as the API names them.
pub fn field_errors(
    errors: &std::collections::BTreeMap<&'static str, &'static str>,
    names: &[(&str, &str)],
) -> ApiError {
    let tr = Tr::new(Lang::En);
    ApiError::Invalid(
        errors
            .iter()
            .map(|(field, key)| FieldError {
                field: names
                    .iter()
                    .find(|(form, _)| form == field)
                    .map_or(*field, |(_, api)| *api)
                    .to_owned(),
                message: tr.t(key),
            })
            .collect(),
    )
}

fn busy_detail(busy: crate::audit::export::Busy) -> String {
    Tr::new(Lang::En).t(match busy {
        crate::audit::export::Busy::User => "error-export-busy-user",
        crate::audit::export::Busy::Process => "error-export-busy",
    })
}

/// An RFC 9457 problem: every refusal of the API, and nothing else, has
/// this shape (served as `application/problem+json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:lockbox:problem:<slug>`, one per kind of refusal.
    #[serde(rename = "type")]
    #[schema(example = "urn:lockbox:problem:not-pending")]
    pub problem_type: String,
    #[schema(example = "No longer pending")]
    pub title: String,
    /// The HTTP status, repeated.
    #[schema(example = 409)]
    pub status: u16,
    /// What happened, in English.
    pub detail: String,
    /// `validation-failed`: every bad field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// `not-pending`: the state the request is in.
    #[serde(rename = "ApprovalStatus", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::model::ApprovalStatus>)]
    pub approval_status: Option<&'static str>,
    /// `not-pending`: who brought it there.
    #[serde(rename = "DecidedBy", skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// `not-pending`: when.
    #[serde(rename = "DecidedAt", skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ApiError {
    fn slug(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed-json",
            ApiError::BadQuery(_) => "bad-query",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Scope => "insufficient-scope",
            ApiError::Role => "forbidden-role",
            ApiError::AccessDenied(_) => "access-denied",
            ApiError::NotFound => "not-found",
            ApiError::Conflict { .. } => "not-pending",
            ApiError::AlreadyApproved(_) => "already-approved",
            ApiError::TooLarge => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::Invalid(_) => "validation-failed",
            ApiError::TooManyRequests(_) => "rate-limited",
            ApiError::ExportBusy(_) => "export-busy",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "Malformed JSON",
            ApiError::BadQuery(_) => "Bad query parameter",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Scope => "Insufficient scope",
            ApiError::Role => "Forbidden",
            ApiError::AccessDenied(_) => "Access denied",
            ApiError::NotFound => "Not found",
            ApiError::Conflict { .. } => "No longer pending",
            ApiError::AlreadyApproved(_) => "Already approved by you",
            ApiError::TooLarge => "Payload too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::Invalid(_) => "Validation failed",
            ApiError::TooManyRequests(_) => "Too many requests",
            ApiError::ExportBusy(_) => "Export busy",
            ApiError::Unavailable => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) | ApiError::BadQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Scope | ApiError::Role | ApiError::AccessDenied(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } | ApiError::AlreadyApproved(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ExportBusy(crate::audit::export::Busy::User) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ExportBusy(crate::audit::export::Busy::Process) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            // The cause stays in the log; the caller learns nothing of it.
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "API call failed");
                "The request failed; it has been logged.".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = Problem {
            problem_type: format!("{PROBLEM_NS}{}", self.slug()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail,
            errors: None,
            approval_status: None,
            decided_by: None,
            decided_at: None,
        };
        match self {
            ApiError::Invalid(errors) => body.errors = Some(errors.clone()),
            ApiError::Conflict {
                state,
                decided_by,
                decided_at,
                ..
            } => {
                body.approval_status = *state;
                body.decided_by = decided_by.clone();
                body.decided_at = *decided_at;
            }
            _ => {}
        }
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::TooManyRequests(secs) => {
                response.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            ApiError::ExportBusy(_) => {
                response.insert_header((
                    header::RETRY_AFTER,
                    crate::web::export::RETRY_AFTER_SECS.to_string(),
                ));
            }
            ApiError::Unavailable => {
                response.insert_header((
                    header::RETRY_AFTER,
                    crate::web::error::UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
                ));
            }
            _ => {}
        }
        match serde_json::to_string(&body) {
            Ok(json) => response.body(json),
            Err(_) => response.finish(),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            ApiError::Unavailable
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::Query(e).into()
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::NotFound | RequestError::UnknownAction => ApiError::NotFound,
            RequestError::RoleForbids => ApiError::Role,
            RequestError::UnknownTenant => ApiError::Invalid(vec![FieldError {
                field: "TenantId".into(),
                message: Tr::new(Lang::En).t("error-tenant-choose"),
            }]),
            RequestError::NoMatchingTicket => ApiError::Invalid(vec![FieldError {
                field: "ServiceRequestNumber".into(),
                message: Tr::new(Lang::En).t("error-sr-no-ticket"),
            }]),
            RequestError::DuplicateWindow { ends_at } => ApiError::Conflict {
                detail: Tr::new(Lang::En).t1(
                    "error-duplicate-window",
                    "at",
                    &crate::i18n::fmt_utc(ends_at),
                ),
                state: None,
                decided_by: None,
                decided_at: None,
            },
            RequestError::Refused(refused) => match refused.refusal {
                Refusal::TwoPersonRule | Refusal::NotYourRequest | Refusal::NotYourDecision => {
                    ApiError::Role
                }
                Refusal::AlreadyApprovedByYou => ApiError::AlreadyApproved(refusal_message(
                    &Tr::new(Lang::En),
                    &refused,
                    Viewer::Customer,
                )),
                _ => {
                    let tr = Tr::new(Lang::En);
                    let last = refused.last.as_ref();
                    ApiError::Conflict {
                        detail: refusal_message(&tr, &refused, Viewer::Customer),
                        state: Some(refused.request.status.name()),
                        decided_by: last.map(|e| {
                            crate::web::view::actor_label(
                                &tr,
                                e,
                                &refused.request.tenant_name,
                                Viewer::Customer,
                            )
                        }),
                        decided_at: last.map(|e| e.at),
                    }
                }
            },
            RequestError::Db(e) => e.into(),
            RequestError::Pool(e) => e.into(),
            e @ RequestError::NoSigningKey => ApiError::Internal(e.to_string()),
        }
    }
}
