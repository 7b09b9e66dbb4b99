//! Engineer portal › API tokens: a staff member creates tokens for their
//! ITSM tool (a name and how many days; the secret shown once, on the
//! answer to the POST and nowhere else), sees their own tokens, and revokes
//! one after confirming. A staff token acts with its owner's role; no one
//! sees or revokes another's tokens here (the operator's CLI makes them
//! too).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use uuid::Uuid;

use super::{SignedInStaff, chrome};
use crate::{
    auth::api_tokens::{self, ApiToken, DEFAULT_DAYS, NewTokenInput, TokenScope},
    db::{self, DbError},
    i18n::Tr,
    staff::StaffMember,
    web::{
        AppState,
        chrome::Chrome,
        error::AppError,
        forms::{CsrfForm, PortalSession, SignedIn},
        render, render_status, see_other,
        tokens::{TokenRow, field_error, secret_page},
        two_factor::step_up::{self, StepUp, WithCode},
    },
};

const PATH: &str = "/tokens";
/// Tokens shown (one person has few; the newest first).
const SHOWN: i64 = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(create))
        .route("/tokens/{id}/revoke", web::get().to(confirm_revoke))
        .route("/tokens/{id}/revoke", web::post().to(revoke));
}

/// What the form takes: a name and a number of days (a staff token's
/// scope is its owner's role, never chosen).
#[derive(Debug, Clone, Default, serde::Deserialize)]
struct StaffTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_days: String,
}

impl StaffTokenForm {
    fn input(&self) -> NewTokenInput {
        NewTokenInput {
            name: self.name.clone(),
            scope: TokenScope::Admin.as_db().into(),
            expires_days: self.expires_days.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "engineer/tokens.html")]
struct TokensPage {
    tr: Tr,
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    flash: Option<String>,
    form: StaffTokenForm,
    errors: std::collections::BTreeMap<&'static str, &'static str>,
    /// The secret just created: shown once, on this answer only.
    secret: Option<(String, String)>,
    /// The code field, when creating a token must be confirmed with a
    /// second factor now.
    step_up: StepUp,
}

impl TokensPage {
    fn error(&self, field: &str) -> Option<String> {
        field_error(&self.tr, &self.errors, field)
    }
}

/// The staff member's own tokens.
async fn own_tokens(state: &AppState, me: &StaffMember) -> Result<Vec<ApiToken>, AppError> {
    let staff = me.id;
    Ok(db::blocking(&state.pool, move |conn| {
        api_tokens::list_staff_tokens(conn, staff, SHOWN).map_err(DbError::from)
    })
    .await?)
}

async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &StaffMember,
) -> Result<TokensPage, AppError> {
    let tokens = own_tokens(state, me).await?;
    let now = state.clock.now();
    Ok(TokensPage {
        chrome: chrome(req, me)?,
        tokens: tokens.iter().map(|t| TokenRow::new(&tr, t, now)).collect(),
        flash: PortalSession::from_request(req).take_flash(),
        form: StaffTokenForm {
            name: String::new(),
            expires_days: DEFAULT_DAYS.to_string(),
        },
        errors: Default::default(),
        secret: None,
        step_up: step_up::ask(req, state, me).await?,
        tr,
    })
}

async fn show(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
) -> Result<HttpResponse, AppError> {
    render(&page(&req, tr, &state, &me).await?)
}

async fn create(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    CsrfForm(WithCode {
        form,
        second_factor_code,
    }): CsrfForm<WithCode<StaffTokenForm>>,
) -> Result<HttpResponse, AppError> {
    // A token is created only with a second factor (step-up).
    if let Err((step_up, status)) =
        step_up::confirm(&req, &tr, &state, &me, &second_factor_code).await?
    {
        let mut again = page(&req, tr, &state, &me).await?;
        again.form = form;
        again.step_up = step_up;
        return render_status(status, &again);
    }
    let new = match form.input().parse() {
        Ok(new) => new,
        Err(errors) => {
            let mut again = page(&req, tr, &state, &me).await?;
            again.form = form;
            again.errors = errors;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &again);
        }
    };
    let (staff, now) = (me.id, state.clock.now());
    let (token, secret) = db::blocking(&state.pool, move |conn| {
        api_tokens::create_staff_token(conn, staff, &new.name, new.valid_for, now)
            .map_err(DbError::from)
    })
    .await?;
    tracing::info!(staff = %me.id, token = %token.id, "staff API token created in the portal");
    let mut shown = page(&req, tr, &state, &me).await?;
    shown.secret = Some((token.name, secret));
    secret_page(&shown)
}

#[derive(Template)]
#[template(path = "engineer/token_revoke.html")]
struct RevokePage {
    tr: Tr,
    chrome: Chrome,
    token: TokenRow,
}

async fn confirm_revoke(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    // Another staff member's token is not found.
    let token = own_tokens(&state, &me)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(AppError::NotFound)?;
    render(&RevokePage {
        chrome: chrome(&req, &me)?,
        token: TokenRow::new(&tr, &token, state.clock.now()),
        tr,
    })
}

async fn revoke(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedInStaff,
    path: web::Path<Uuid>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (id, staff, now) = (path.into_inner(), me.id, state.clock.now());
    let revoked = db::blocking(&state.pool, move |conn| {
        // Another staff member's token is not found.
        api_tokens::revoke_staff_token(conn, staff, id, now).map_err(AppError::from)
    })
    .await?;
    tracing::info!(staff = %me.id, token = %revoked.id, "staff API token revoked in the portal");
    PortalSession::from_request(&req).set_flash(&tr.t1(
        "flash-token-revoked",
        "name",
        &revoked.name,
    ))?;
    Ok(see_other(PATH))
}
