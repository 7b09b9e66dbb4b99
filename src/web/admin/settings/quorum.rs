//! The "Approvals required" setting of the Customer Lockbox page (issue
//! 19): how many of the organization's approvers must approve a request.
//! The page says how many people can approve; a number above that is
//! refused with what was typed kept.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};

use super::{PATH as PAGE, SettingsPage, audit_actor, chrome};
use crate::{
    db::{self, DbError},
    i18n::Tr,
    tenants::{self, Quorum, TenantError, TenantUser},
    web::{
        AppState,
        error::AppError,
        forms::{CsrfForm, PortalSession},
        render_status, see_other,
        two_factor::step_up::{self, StepUp, WithCode},
    },
};

pub(super) const PATH: &str = "/settings/org/lockbox/approvals";

/// What the page shows of the setting.
pub(super) struct QuorumForm {
    /// The stored value.
    pub current: u8,
    /// What the field shows: the stored value, or what was typed.
    pub typed: String,
    /// How many people can approve (global administrators and approvers).
    pub people: i64,
    pub error: Option<String>,
    pub step_up: StepUp,
}

impl QuorumForm {
    pub async fn load(
        state: &AppState,
        user: &TenantUser,
        step_up: StepUp,
    ) -> Result<Self, AppError> {
        let tenant = user.tenant_id;
        let (current, people) = db::blocking(&state.pool, move |conn| {
            let current = tenants::approvals_required(conn, tenant)?;
            let people = tenants::quorum::people_who_approve(conn, tenant)?;
            Ok::<_, DbError>((current, people))
        })
        .await?;
        Ok(Self {
            current,
            typed: current.to_string(),
            people,
            error: None,
            step_up,
        })
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct Form {
    approvals_required: String,
}

/// The page again, with the quorum form showing `typed` and why it was
/// not saved.
async fn refused(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
    (typed, error): (String, Option<String>),
    step_up: StepUp,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let tenant = user.tenant_id;
    let enabled = db::blocking(&state.pool, move |conn| {
        tenants::lockbox_enabled(conn, tenant).map_err(DbError::from)
    })
    .await?;
    let quorum = QuorumForm {
        typed,
        error,
        ..QuorumForm::load(state, user, step_up).await?
    };
    let page = SettingsPage {
        chrome: chrome(req, user)?,
        enabled,
        can_change: true,
        flash: None,
        confirm_off: false,
        step_up: StepUp::default(),
        key: None,
        quorum,
        time_zone: super::time_zone::ZoneForm::load(state, user).await?,
        tr,
    };
    render_status(status, &page)
}

pub(super) async fn change(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    super::LockboxUser(user): super::LockboxUser,
    CsrfForm(WithCode {
        form,
        second_factor_code,
    }): CsrfForm<WithCode<Form>>,
) -> Result<HttpResponse, AppError> {
    super::require_global_admin(&user)?;
    let typed = form.approvals_required;
    let quorum = match Quorum::parse(&typed) {
        Ok(q) => q,
        Err(key) => {
            let error = Some(tr.t(key));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let step_up = step_up::ask(&req, &state, &user).await?;
            return refused(&req, tr, &state, &user, (typed, error), step_up, status).await;
        }
    };
    if let Err((step_up, status)) =
        step_up::confirm(&req, &tr, &state, &user, &second_factor_code).await?
    {
        return refused(&req, tr, &state, &user, (typed, None), step_up, status).await;
    }
    let (now, actor) = (state.clock.now(), audit_actor(&req, &state, &user));
    let changer = user.clone();
    let result = db::blocking(&state.pool, move |conn| {
        Ok::<_, DbError>(tenants::set_quorum_as(conn, &changer, quorum, now, &actor))
    })
    .await?;
    match result {
        Ok(_) => {
            let message = tr.t1("flash-quorum-saved", "n", &quorum.get().to_string());
            PortalSession::from_request(&req).set_flash(&message)?;
            Ok(see_other(PAGE))
        }
        Err(TenantError::TooFewApprovers { people }) => {
            let error = Some(tr.t_args(
                "error-quorum-too-few",
                &[
                    ("n", &quorum.get().to_string()),
                    ("people", &people.to_string()),
                ],
            ));
            let status = StatusCode::CONFLICT;
            refused(
                &req,
                tr,
                &state,
                &user,
                (typed, error),
                StepUp::default(),
                status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
