//! Settings › Security: the tenant's rule "Require two-factor sign-in for
//! global administrators and approvers". Global administrators change it
//! (confirmed with a second factor, see [`step_up`]); approvers see it
//! read-only.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{LockboxUser, audit_actor, chrome, require_global_admin};
use crate::{
    db::{self, DbError},
    i18n::Tr,
    tenants::{TenantUser, security},
    web::{
        AppState,
        chrome::Chrome,
        error::AppError,
        forms::{CsrfForm, PortalSession},
        render_status, see_other,
        two_factor::step_up::{self, StepUp, WithCode},
    },
};

const PATH: &str = "/settings/security";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(change));
}

#[derive(Template)]
#[template(path = "admin/security.html")]
struct SecurityPage {
    tr: Tr,
    chrome: Chrome,
    required: bool,
    can_change: bool,
    flash: Option<String>,
    step_up: StepUp,
}

async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
    step_up: StepUp,
) -> Result<SecurityPage, AppError> {
    let tenant = user.tenant_id;
    let required = db::blocking(&state.pool, move |conn| {
        security::requires_two_factor(conn, tenant).map_err(DbError::from)
    })
    .await?;
    Ok(SecurityPage {
        chrome: chrome(req, user)?,
        required,
        can_change: user.role.may_configure(),
        flash: PortalSession::from_request(req).take_flash(),
        step_up,
        tr,
    })
}

async fn show(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
) -> Result<HttpResponse, AppError> {
    let step_up = step_up::ask(&req, &state, &user).await?;
    render_status(
        StatusCode::OK,
        &page(&req, tr, &state, &user, step_up).await?,
    )
}

#[derive(Debug, serde::Deserialize)]
struct RuleForm {
    /// Present ("on") when the checkbox is ticked.
    require_two_factor: Option<String>,
}

async fn change(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    CsrfForm(form): CsrfForm<WithCode<RuleForm>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    if let Err((step_up, status)) =
        step_up::confirm(&req, &tr, &state, &user, &form.second_factor_code).await?
    {
        return render_status(status, &page(&req, tr, &state, &user, step_up).await?);
    }
    let required = form.form.require_two_factor.is_some();
    let (now, actor, changer) = (
        state.clock.now(),
        audit_actor(&req, &state, &user),
        user.clone(),
    );
    db::blocking(&state.pool, move |conn| {
        security::set_two_factor_rule_as(conn, &changer, required, now, &actor)
            .map_err(AppError::from)
    })
    .await?;
    let key = if required {
        "flash-two-factor-rule-on"
    } else {
        "flash-two-factor-rule-off"
    };
    PortalSession::from_request(&req).set_flash(&tr.t(key))?;
    Ok(see_other(PATH))
}
