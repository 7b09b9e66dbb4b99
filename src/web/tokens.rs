//! What the admin center's *Settings › API tokens* and the engineer
//! portal's *API tokens* pages share: a token as the lists show it, the
//! form's error messages, and the answer that shows a new secret once.

use actix_web::{
    HttpResponse,
    http::header::{CACHE_CONTROL, HeaderValue},
};
use uuid::Uuid;

use super::{error::AppError, render};
use crate::{
    auth::api_tokens::{self, ApiToken},
    i18n::Tr,
};

/// A token as the list shows it.
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub scope_key: &'static str,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    /// "active", "expired" or "revoked" (a translation key suffix).
    pub state: &'static str,
}

impl TokenRow {
    pub fn new(tr: &Tr, t: &ApiToken, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            scope_key: t.scope().label_key(),
            created_at: tr.fmt_time(t.created_at),
            expires_at: tr.fmt_time(t.expires_at),
            last_used_at: t.last_used_at.map(|at| tr.fmt_time(at)),
            state: t.state(now),
        }
    }
}

/// The message of a new-token form's field error (the expiry bounds filled
/// in).
pub fn field_error(
    tr: &Tr,
    errors: &std::collections::BTreeMap<&'static str, &'static str>,
    field: &str,
) -> Option<String> {
    errors.get(field).map(|k| {
        tr.t_args(
            k,
            &[
                ("min", &api_tokens::MIN_DAYS.to_string()),
                ("max", &api_tokens::MAX_DAYS.to_string()),
            ],
        )
    })
}

/// The page that shows a new secret: never cached, the secret is on it once.
pub fn secret_page<T: askama::Template>(page: &T) -> Result<HttpResponse, AppError> {
    let mut response = render(page)?;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
