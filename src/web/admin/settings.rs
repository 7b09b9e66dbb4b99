//! Settings › Org settings › Security & privacy › Customer Lockbox: the
//! switch "Require approval for all data access requests" and the number
//! of approvals a request needs (issue 19, [`quorum`]), and the
//! organisation's time zone (issue 22, [`time_zone`]). Global
//! administrators change them; approvers see them read-only.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{LockboxUser, audit_actor, chrome, require_global_admin};
use crate::{
    db::{self, DbError},
    i18n::Tr,
    tenants::{self, Role},
    web::error::AppError,
    web::{
        AppState,
        chrome::Chrome,
        forms::{CsrfForm, PortalSession},
        render, render_status, see_other,
        two_factor::step_up::{self, StepUp, WithCode},
    },
};

mod quorum;
mod time_zone;

const PATH: &str = "/settings/org/lockbox";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(change))
        .route(quorum::PATH, web::post().to(quorum::change))
        .route(time_zone::PATH, web::post().to(time_zone::change));
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    tr: Tr,
    chrome: Chrome,
    enabled: bool,
    can_change: bool,
    flash: Option<String>,
    /// Turning the switch off asks first: this page is the question.
    confirm_off: bool,
    /// The code field, when the change must be confirmed with a second
    /// factor now.
    step_up: StepUp,
    /// The deployment's current public key, as on the Audit page.
    key: Option<super::audit_trust::ShownKey>,
    /// The number of approvals a request needs, and its form.
    quorum: quorum::QuorumForm,
    /// The organisation's time zone, and its form.
    time_zone: time_zone::ZoneForm,
}

async fn show(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
) -> Result<HttpResponse, AppError> {
    let tenant = user.tenant_id;
    let enabled = db::blocking(&state.pool, move |conn| {
        tenants::lockbox_enabled(conn, tenant).map_err(DbError::from)
    })
    .await?;
    let step_up = step_up::ask(&req, &state, &user).await?;
    let quorum = quorum::QuorumForm::load(&state, &user, step_up.clone()).await?;
    let key_file = state.settings.signing_key_file.clone();
    let key = web::block(move || super::audit_trust::current_key(&key_file))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the keyring: {e}")))?;
    render(&SettingsPage {
        chrome: chrome(&req, &user)?,
        enabled,
        can_change: user.role == Role::GlobalAdmin,
        flash: PortalSession::from_request(&req).take_flash(),
        confirm_off: false,
        step_up,
        key,
        quorum,
        time_zone: time_zone::ZoneForm::load(&state, &user).await?,
        tr,
    })
}

#[derive(Debug, serde::Deserialize)]
struct SwitchForm {
    /// Present ("on") when the checkbox is ticked.
    require_approval: Option<String>,
    /// "yes" once the global administrator confirmed turning it off.
    confirm: Option<String>,
}

async fn change(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    CsrfForm(WithCode {
        form,
        second_factor_code,
    }): CsrfForm<WithCode<SwitchForm>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let enabled = form.require_approval.is_some();
    let tenant = user.tenant_id;
    let current = db::blocking(&state.pool, move |conn| {
        tenants::lockbox_enabled(conn, tenant).map_err(DbError::from)
    })
    .await?;
    let confirm_off = current && !enabled && form.confirm.as_deref() != Some("yes");
    // The switch is confirmed with a second factor (step-up), before the
    // question about turning it off.
    if let Err((step_up, status)) =
        step_up::confirm(&req, &tr, &state, &user, &second_factor_code).await?
    {
        let page = SettingsPage {
            chrome: chrome(&req, &user)?,
            enabled: current,
            can_change: true,
            flash: None,
            confirm_off: form.confirm.as_deref() == Some("yes"),
            step_up,
            key: None,
            quorum: quorum::QuorumForm::load(&state, &user, StepUp::default()).await?,
            time_zone: time_zone::ZoneForm::load(&state, &user).await?,
            tr,
        };
        return render_status(status, &page);
    }
    if confirm_off {
        return render(&SettingsPage {
            chrome: chrome(&req, &user)?,
            enabled: current,
            can_change: true,
            flash: None,
            confirm_off: true,
            step_up: StepUp::default(),
            key: None,
            quorum: quorum::QuorumForm::load(&state, &user, StepUp::default()).await?,
            time_zone: time_zone::ZoneForm::load(&state, &user).await?,
            tr,
        });
    }
    let (now, actor) = (state.clock.now(), audit_actor(&req, &state, &user));
    let changer = user.clone();
    db::blocking(&state.pool, move |conn| {
        tenants::set_lockbox_as(conn, &changer, enabled, now, &actor).map_err(AppError::from)
    })
    .await?;
    let key = if enabled {
        "flash-lockbox-on"
    } else {
        "flash-lockbox-off"
    };
    PortalSession::from_request(&req).set_flash(&tr.t(key))?;
    Ok(see_other(PATH))
}
