//! Settings › API tokens: a global administrator creates a token (its
//! secret shown once, on the answer to the POST and nowhere else), sees
//! every token with its scope, expiry and last use, and revokes one after
//! confirming. Approvers see the list read-only.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use uuid::Uuid;

use super::{LockboxUser, audit_actor, chrome, require_global_admin};
use crate::{
    auth::api_tokens::{self, ApiToken, DEFAULT_DAYS, NewTokenInput, TokenError, TokenScope},
    db::{self, DbError},
    i18n::Tr,
    tenants::TenantUser,
    web::{
        AppState,
        chrome::Chrome,
        error::{AppError, Forbidden},
        forms::{CsrfForm, PortalSession},
        render, render_status, see_other,
        tokens::{TokenRow, field_error, secret_page},
        two_factor::step_up::{self, StepUp, WithCode},
    },
};

const PATH: &str = "/settings/api-tokens";
/// Tokens shown (a tenant has few; the newest first).
const SHOWN: i64 = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(create))
        .route(
            "/settings/api-tokens/{id}/revoke",
            web::get().to(confirm_revoke),
        )
        .route("/settings/api-tokens/{id}/revoke", web::post().to(revoke));
}

#[derive(Template)]
#[template(path = "admin/api_tokens.html")]
struct TokensPage {
    tr: Tr,
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    scopes: [TokenScope; 3],
    can_change: bool,
    flash: Option<String>,
    input: NewTokenInput,
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

async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
) -> Result<TokensPage, AppError> {
    let tenant = user.tenant_id;
    let tokens = db::blocking(&state.pool, move |conn| {
        api_tokens::list_customer_tokens(conn, tenant, SHOWN).map_err(DbError::from)
    })
    .await?;
    let now = state.clock.now();
    Ok(TokensPage {
        chrome: chrome(req, user)?,
        tokens: tokens.iter().map(|t| TokenRow::new(&tr, t, now)).collect(),
        scopes: TokenScope::ALL,
        can_change: user.role.may_configure(),
        flash: PortalSession::from_request(req).take_flash(),
        input: NewTokenInput {
            scope: TokenScope::Read.as_db().into(),
            expires_days: DEFAULT_DAYS.to_string(),
            ..NewTokenInput::default()
        },
        errors: Default::default(),
        secret: None,
        step_up: step_up::ask(req, state, user).await?,
        tr,
    })
}

async fn show(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
) -> Result<HttpResponse, AppError> {
    render(&page(&req, tr, &state, &user).await?)
}

impl From<TokenError> for AppError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::NotAllowed => AppError::Forbidden(Forbidden::Role),
            TokenError::NotFound => AppError::NotFound,
            TokenError::Db(e) => e.into(),
        }
    }
}

async fn create(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    CsrfForm(WithCode {
        form: input,
        second_factor_code,
    }): CsrfForm<WithCode<NewTokenInput>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    // A token is created only with a second factor (step-up): it is the
    // non-interactive way to decide.
    if let Err((step_up, status)) =
        step_up::confirm(&req, &tr, &state, &user, &second_factor_code).await?
    {
        let mut again = page(&req, tr, &state, &user).await?;
        again.input = input;
        again.step_up = step_up;
        return render_status(status, &again);
    }
    let new = match input.parse() {
        Ok(new) => new,
        Err(errors) => {
            let mut again = page(&req, tr, &state, &user).await?;
            again.input = input;
            again.errors = errors;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &again);
        }
    };
    let (now, actor, creator) = (
        state.clock.now(),
        audit_actor(&req, &state, &user),
        user.clone(),
    );
    let (token, secret) = db::blocking(&state.pool, move |conn| {
        api_tokens::create_customer_token(conn, &creator, &new, now, &actor).map_err(AppError::from)
    })
    .await?;
    let mut shown = page(&req, tr, &state, &user).await?;
    shown.secret = Some((token.name, secret));
    secret_page(&shown)
}

#[derive(Template)]
#[template(path = "admin/api_token_revoke.html")]
struct RevokePage {
    tr: Tr,
    chrome: Chrome,
    token: TokenRow,
}

/// The token `id` of the user's tenant (another tenant's id: not found).
async fn tenant_token(state: &AppState, user: &TenantUser, id: Uuid) -> Result<ApiToken, AppError> {
    let tenant = user.tenant_id;
    db::blocking(&state.pool, move |conn| {
        api_tokens::list_customer_tokens(conn, tenant, SHOWN).map_err(DbError::from)
    })
    .await?
    .into_iter()
    .find(|t| t.id == id)
    .ok_or(AppError::NotFound)
}

async fn confirm_revoke(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let token = tenant_token(&state, &user, path.into_inner()).await?;
    render(&RevokePage {
        chrome: chrome(&req, &user)?,
        token: TokenRow::new(&tr, &token, state.clock.now()),
        tr,
    })
}

async fn revoke(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (now, actor, by) = (
        state.clock.now(),
        audit_actor(&req, &state, &user),
        user.clone(),
    );
    let revoked = db::blocking(&state.pool, move |conn| {
        api_tokens::revoke_customer_token(conn, &by, id, now, &actor).map_err(AppError::from)
    })
    .await?;
    PortalSession::from_request(&req).set_flash(&tr.t1(
        "flash-token-revoked",
        "name",
        &revoked.name,
    ))?;
    Ok(see_other(PATH))
}
