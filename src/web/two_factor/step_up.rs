//! Step-up before sensitive actions (decisions, the Lockbox switch, the
//! two-factor rule, role changes, authenticator resets, API tokens): the
//! form that does it carries a code field whenever the last code accepted
//! in this session is older than [`STEP_UP_WINDOW`]; the POST checks the
//! code (throttled, never twice) or refuses with the form again. People
//! without an authenticator whom no rule covers are not asked (there is
//! nothing to ask for); those the rule covers must enrol first.

use actix_web::{HttpRequest, http::StatusCode};

use super::{TwoFactorPortal, check, refusal, standing};
use crate::{
    auth::totp::{
        STEP_UP_WINDOW, Standing,
        store::{Checked, During},
    },
    i18n::Tr,
    web::{AppState, error::AppError, forms::PortalSession},
};

/// The form field of the code.
pub const FIELD: &str = "second_factor_code";

/// A form with the step-up code beside its own fields.
#[derive(Debug, serde::Deserialize)]
pub struct WithCode<T> {
    #[serde(flatten)]
    pub form: T,
    #[serde(default)]
    pub second_factor_code: String,
}

/// What a form shows of the step-up.
#[derive(Debug, Clone, Default)]
pub struct StepUp {
    /// Show the code field.
    pub ask: bool,
    /// There is no authenticator but the rule requires one: enrol first.
    pub must_enrol: bool,
    pub error: Option<String>,
}

/// Whether a code accepted at `at` still confirms actions at `now`.
fn fresh(at: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>) -> bool {
    at.is_some_and(|at| at <= now && now - at < STEP_UP_WINDOW)
}

fn shown(standing: &Standing, fresh: bool) -> StepUp {
    StepUp {
        ask: standing.enrolled() && !fresh,
        must_enrol: standing.required && !standing.enrolled(),
        error: None,
    }
}

/// What the form of a sensitive action shows for `me` now.
pub async fn ask<P: TwoFactorPortal>(
    req: &HttpRequest,
    state: &AppState,
    me: &P,
) -> Result<StepUp, AppError> {
    let standing = standing(state, &me.holder(&state.settings)).await?;
    let at = PortalSession::from_request(req).second_factor_at()?;
    Ok(shown(&standing, fresh(at, state.clock.now())))
}

/// A sensitive action's confirmation: `Ok(true)` when confirmed with a
/// second factor (a code now, or one within the window), `Ok(false)` when
/// `me` has no second factor and no rule asks for one; the form's step-up
/// with the reason and status otherwise.
pub async fn confirm<P: TwoFactorPortal>(
    req: &HttpRequest,
    tr: &Tr,
    state: &AppState,
    me: &P,
    code: &str,
) -> Result<Result<bool, (StepUp, StatusCode)>, AppError> {
    let holder = me.holder(&state.settings);
    let standing = standing(state, &holder).await?;
    if !standing.steps_up() {
        return Ok(Ok(false));
    }
    let session = PortalSession::from_request(req);
    let now = state.clock.now();
    let mut step_up = shown(&standing, fresh(session.second_factor_at()?, now));
    if step_up.must_enrol {
        step_up.error = Some(tr.t("step-up-enrol-first"));
        return Ok(Err((step_up, StatusCode::FORBIDDEN)));
    }
    if !step_up.ask {
        return Ok(Ok(true));
    }
    if code.trim().is_empty() {
        step_up.error = Some(tr.t("step-up-code-needed"));
        return Ok(Err((step_up, StatusCode::UNAUTHORIZED)));
    }
    let checked = check(req, state, &holder, code, During::StepUp).await?;
    if let Checked::Accepted { .. } = checked {
        session.second_factor_confirmed(now)?;
        return Ok(Ok(true));
    }
    let (message, status, _) = refusal(tr, &checked, now);
    step_up.error = Some(message);
    Ok(Err((step_up, status)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};

    #[test]
    fn a_code_confirms_actions_for_five_minutes() {
        let at = DateTime::from_timestamp(1_772_441_000, 0).expect("valid");
        assert!(fresh(Some(at), at + Duration::seconds(299)));
        assert!(!fresh(Some(at), at + Duration::seconds(300)));
        assert!(!fresh(Some(at), at - Duration::seconds(1)));
        assert!(!fresh(None, at));
    }
}
