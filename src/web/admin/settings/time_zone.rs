//! The organisation's time zone on the Org settings page (issue 22): the
//! zone its people see times in until they choose their own. Global
//! administrators change it (no second factor: it changes how times read,
//! not who may see what); approvers see it read-only. A name that is not
//! in the list is refused with what was sent kept.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};

use super::{PATH as PAGE, SettingsPage, audit_actor, chrome};
use crate::{
    db::{self, DbError},
    i18n::{Tr, offered_zones, parse_zone},
    tenants::{self, TenantUser},
    web::{
        AppState,
        error::AppError,
        forms::{CsrfForm, PortalSession},
        render_status, see_other,
        two_factor::step_up::StepUp,
    },
};

pub(super) const PATH: &str = "/settings/org/time-zone";

/// What the page shows of the setting.
pub(super) struct ZoneForm {
    /// The stored zone's name.
    pub current: &'static str,
    /// The option selected: the stored zone, or what was sent.
    pub selected: String,
    /// What was sent, when it is no offered zone (kept in the list).
    pub typed: Option<String>,
    pub zones: Vec<&'static str>,
    pub error: Option<String>,
}

impl ZoneForm {
    pub fn is_selected(&self, zone: &str) -> bool {
        self.selected == zone
    }

    pub async fn load(state: &AppState, user: &TenantUser) -> Result<Self, AppError> {
        let tenant = user.tenant_id;
        let current = db::blocking(&state.pool, move |conn| {
            tenants::time_zone::default_zone(conn, tenant).map_err(DbError::from)
        })
        .await?
        .name();
        Ok(Self {
            current,
            selected: current.to_owned(),
            typed: None,
            zones: offered_zones().map(|z| z.name()).collect(),
            error: None,
        })
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct Form {
    #[serde(default)]
    time_zone: String,
}

pub(super) async fn change(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    super::LockboxUser(user): super::LockboxUser,
    CsrfForm(form): CsrfForm<Form>,
) -> Result<HttpResponse, AppError> {
    super::require_global_admin(&user)?;
    let Some(zone) = parse_zone(&form.time_zone) else {
        return refused(&req, tr, &state, &user, form.time_zone).await;
    };
    let (now, actor) = (state.clock.now(), audit_actor(&req, &state, &user));
    let changer = user.clone();
    db::blocking(&state.pool, move |conn| {
        tenants::time_zone::set_default_zone_as(conn, &changer, zone, now, &actor)
            .map_err(AppError::from)
    })
    .await?;
    let message = tr.t1("flash-time-zone-saved", "zone", zone.name());
    PortalSession::from_request(&req).set_flash(&message)?;
    Ok(see_other(&format!("{PAGE}#time-zone")))
}

/// The page again, 422, with the zone form showing `typed` and why.
async fn refused(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
    typed: String,
) -> Result<HttpResponse, AppError> {
    let tenant = user.tenant_id;
    let enabled = db::blocking(&state.pool, move |conn| {
        tenants::lockbox_enabled(conn, tenant).map_err(DbError::from)
    })
    .await?;
    let time_zone = ZoneForm {
        selected: typed.clone(),
        typed: Some(typed),
        error: Some(tr.t("settings-time-zone-invalid")),
        ..ZoneForm::load(state, user).await?
    };
    let page = SettingsPage {
        chrome: chrome(req, user)?,
        enabled,
        can_change: true,
        flash: None,
        confirm_off: false,
        step_up: StepUp::default(),
        key: None,
        quorum: super::quorum::QuorumForm::load(state, user, StepUp::default()).await?,
        time_zone,
        tr,
    };
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}
