//! Roles › reset a user's authenticator: a global administrator removes
//! another user's authenticator and recovery codes (a lost phone); the user
//! enrols again at their next sign-in if the tenant's rule covers them.
//! Audited (`Reset-Authenticator`), confirmed with a second factor.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::{LockboxUser, audit_actor, require_global_admin, roles::refused_step_up};
use crate::{
    auth::totp::{record::Event, store},
    db::{self, DbError},
    i18n::Tr,
    identity::UserId,
    tenants,
    web::{
        AppState,
        error::AppError,
        forms::{CsrfForm, PortalSession},
        see_other,
        two_factor::{
            TwoFactorPortal,
            step_up::{self, WithCode},
        },
    },
};

/// The form has no fields of its own.
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// `POST /roles/users/{id}/two-factor/reset`.
pub async fn reset(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
    CsrfForm(form): CsrfForm<WithCode<NoFields>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let (id, tenant) = (UserId(path.into_inner()), user.tenant_id);
    // Another tenant's user is no user at all here.
    let target = db::blocking(&state.pool, move |conn| {
        tenants::find_user(conn, id).map_err(DbError::from)
    })
    .await?
    .filter(|t| t.tenant_id == tenant)
    .ok_or(AppError::NotFound)?;
    // One's own authenticator is replaced or removed on the account page,
    // after a current code and within the tenant's rule; not here.
    if target.id == user.id {
        return Err(AppError::BadRequest(
            "reset your own authenticator on your account page".into(),
        ));
    }
    if let Err(refused) =
        step_up::confirm(&req, &tr, &state, &user, &form.second_factor_code).await?
    {
        return refused_step_up(&req, tr, &state, &user, refused).await;
    }
    let holder = target.holder(&state.settings);
    let actor = audit_actor(&req, &state, &user);
    let now = state.clock.now();
    let removed = db::blocking(&state.pool, move |conn| {
        let ip = actor.ip.clone();
        store::remove(conn, &holder, Event::Reset { by: &actor }, &ip, now).map_err(DbError::from)
    })
    .await?;
    let key = if removed {
        "flash-two-factor-reset"
    } else {
        "flash-two-factor-none"
    };
    PortalSession::from_request(&req).set_flash(&tr.t1(key, "name", &target.display_name))?;
    Ok(see_other("/roles"))
}
