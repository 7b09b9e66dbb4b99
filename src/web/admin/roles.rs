//! Roles: the tenant's users and their roles. Global administrators assign
//! and remove the Customer Lockbox access approver role and add users;
//! approvers see the list read-only. A tenant always keeps at least one
//! global administrator.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use uuid::Uuid;

use super::{LockboxUser, audit_actor, chrome, require_global_admin};
use crate::{
    db::{self, DbError},
    i18n::Tr,
    identity::{DisplayName, Email, NewPassword, UserId},
    requests::FieldErrors,
    tenants::{self, NewTenantUser, Role, TenantError, TenantUser, UserCursor},
    web::error::AppError,
    web::{
        AppState,
        chrome::Chrome,
        forms::{CsrfForm, PortalSession},
        render_status, see_other,
        two_factor::step_up::{self, StepUp, WithCode},
    },
};

const PATH: &str = "/roles";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route("/roles/users", web::post().to(add_user))
        .route("/roles/users/{id}", web::post().to(change_role))
        .route(
            "/roles/users/{id}/two-factor/reset",
            web::post().to(super::two_factor_reset::reset),
        );
}

/// The add-user form as typed (the password is never sent back).
#[derive(Debug, Default, Clone, serde::Deserialize)]
struct NewUserInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct RolesPage {
    tr: Tr,
    chrome: Chrome,
    users: Vec<TenantUser>,
    roles: [Role; 3],
    can_change: bool,
    me: UserId,
    flash: Option<String>,
    alert: Option<String>,
    input: NewUserInput,
    errors: FieldErrors,
    /// The query string of the next page of users.
    next: Option<String>,
    /// The users (of this page) who have an authenticator.
    enrolled: std::collections::HashSet<Uuid>,
    /// The code field of the role and reset forms, when they must be
    /// confirmed with a second factor now.
    step_up: StepUp,
}

/// Users per page.
const PAGE_SIZE: i64 = 100;

impl RolesPage {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.tr.t(k))
    }

    fn has_authenticator(&self, user: &TenantUser) -> bool {
        self.enrolled.contains(&user.id.0)
    }
}

/// What the roles page shows besides the users: an alert, the add-user
/// form as typed with its errors, and where the list starts.
#[derive(Default)]
struct Shown {
    alert: Option<String>,
    input: NewUserInput,
    errors: FieldErrors,
    after: Option<UserCursor>,
    /// The step-up as a refused POST left it (`None`: as it stands now).
    step_up: Option<StepUp>,
}

/// The roles page again after a role change or reset that was not
/// confirmed with a second factor: why, and the code fields.
pub(super) async fn refused_step_up(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
    (step_up, status): (StepUp, StatusCode),
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        alert: step_up.error.clone(),
        step_up: Some(step_up),
        ..Shown::default()
    };
    render_status(status, &page(req, tr, state, user, shown).await?)
}

async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    user: &TenantUser,
    shown: Shown,
) -> Result<RolesPage, AppError> {
    let Shown {
        alert,
        input,
        errors,
        after,
        step_up,
    } = shown;
    let step_up = match step_up {
        Some(shown) => shown,
        None => step_up::ask(req, state, user).await?,
    };
    let tenant = user.tenant_id;
    let (users, next, enrolled) = db::blocking(&state.pool, move |conn| {
        let (users, next) = tenants::list_users(conn, tenant, after.as_ref(), PAGE_SIZE)?;
        let ids: Vec<Uuid> = users.iter().map(|u| u.id.0).collect();
        let enrolled =
            crate::auth::totp::store::enrolled_among(conn, crate::auth::Realm::Admin, &ids)?;
        Ok::<_, DbError>((users, next, enrolled.into_iter().collect()))
    })
    .await?;
    Ok(RolesPage {
        next: next.and_then(|c| serde_urlencoded::to_string(c).ok()),
        chrome: chrome(req, user)?,
        users,
        roles: Role::ALL,
        can_change: user.role == Role::GlobalAdmin,
        me: user.id,
        flash: PortalSession::from_request(req).take_flash(),
        alert,
        input,
        errors,
        enrolled,
        step_up,
        tr,
    })
}

async fn show(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    query: web::Query<RolesQuery>,
) -> Result<HttpResponse, AppError> {
    let input = NewUserInput {
        role: Role::User.as_db().into(),
        ..NewUserInput::default()
    };
    let after = query.into_inner().cursor();
    let shown = Shown {
        input,
        after,
        ..Shown::default()
    };
    let page = page(&req, tr, &state, &user, shown).await?;
    render_status(StatusCode::OK, &page)
}

/// `?after_name=…&after_email=…`: where the previous page ended.
#[derive(Debug, Default, serde::Deserialize)]
struct RolesQuery {
    after_name: Option<String>,
    after_email: Option<String>,
}

impl RolesQuery {
    fn cursor(self) -> Option<UserCursor> {
        Some(UserCursor {
            after_name: self.after_name?,
            after_email: self.after_email?,
        })
    }
}

#[derive(Debug, serde::Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn change_role(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<Uuid>,
    CsrfForm(WithCode {
        form,
        second_factor_code,
    }): CsrfForm<WithCode<RoleForm>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    let role = Role::from_db(&form.role).ok_or_else(|| AppError::BadRequest("role".into()))?;
    // A role change is confirmed with a second factor (step-up).
    if let Err(refused) = step_up::confirm(&req, &tr, &state, &user, &second_factor_code).await? {
        return refused_step_up(&req, tr, &state, &user, refused).await;
    }
    let (tenant, target, now) = (user.tenant_id, UserId(path.into_inner()), state.clock.now());
    let actor = audit_actor(&req, &state, &user);
    let result = db::blocking(&state.pool, move |conn| {
        Ok::<_, AppError>(tenants::set_role(conn, tenant, target, role, now, &actor))
    })
    .await?;
    match result {
        Ok(_) => {
            PortalSession::from_request(&req).set_flash(&tr.t1(
                "flash-role-changed",
                "role",
                &tr.t(role.label_key()),
            ))?;
            Ok(see_other(PATH))
        }
        Err(TenantError::UnknownUser) => Err(AppError::NotFound),
        Err(e @ (TenantError::LastGlobalAdmin | TenantError::BelowQuorum { .. })) => {
            let alert = Some(match e {
                TenantError::BelowQuorum { required } => {
                    tr.t1("error-below-quorum", "required", &required.to_string())
                }
                _ => tr.t("error-last-global-admin"),
            });
            let shown = Shown {
                alert,
                ..Shown::default()
            };
            let page = page(&req, tr, &state, &user, shown).await?;
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(TenantError::Db(e)) => Err(e.into()),
        Err(other) => Err(AppError::Internal(anyhow::anyhow!("{other}"))),
    }
}

async fn add_user(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    CsrfForm(WithCode {
        form: input,
        second_factor_code,
    }): CsrfForm<WithCode<NewUserInput>>,
) -> Result<HttpResponse, AppError> {
    require_global_admin(&user)?;
    // A new account with a role is a role change: confirmed with a second
    // factor (step-up), the form kept as typed.
    if let Err((step_up, status)) =
        step_up::confirm(&req, &tr, &state, &user, &second_factor_code).await?
    {
        let shown = Shown {
            alert: step_up.error.clone(),
            step_up: Some(step_up),
            input,
            ..Shown::default()
        };
        return render_status(status, &page(&req, tr, &state, &user, shown).await?);
    }
    let mut errors = FieldErrors::new();
    let email = Email::parse(&input.email)
        .map_err(|e| errors.insert("email", e))
        .ok();
    let name = DisplayName::parse(&input.display_name)
        .map_err(|e| errors.insert("display_name", e))
        .ok();
    let password = NewPassword::parse(&input.password)
        .map_err(|e| errors.insert("password", e))
        .ok();
    let role = Role::from_db(&input.role);
    if role.is_none() {
        errors.insert("role", "error-role-choose");
    }
    let (Some(email), Some(name), Some(password), Some(role)) = (email, name, password, role)
    else {
        let page = page(
            &req,
            tr,
            &state,
            &user,
            Shown {
                input,
                errors,
                ..Shown::default()
            },
        )
        .await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = state
        .hasher
        .hash(password)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let (tenant, now) = (user.tenant_id, state.clock.now());
    let actor = audit_actor(&req, &state, &user);
    let created = db::blocking(&state.pool, move |conn| {
        let new = NewTenantUser {
            tenant_id: tenant,
            email: &email,
            display_name: &name,
            password_hash: &hash,
            role,
        };
        Ok::<_, AppError>(tenants::create_user(conn, new, now, &actor))
    })
    .await?;
    match created {
        Ok(_) => {
            PortalSession::from_request(&req).set_flash(&tr.t1(
                "flash-user-added",
                "email",
                input.email.trim(),
            ))?;
            Ok(see_other(PATH))
        }
        Err(TenantError::DuplicateUser(_)) => {
            errors.insert("email", "error-email-taken");
            let page = page(
                &req,
                tr,
                &state,
                &user,
                Shown {
                    input,
                    errors,
                    ..Shown::default()
                },
            )
            .await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(TenantError::Db(e)) => Err(e.into()),
        Err(other) => Err(AppError::Internal(anyhow::anyhow!("{other}"))),
    }
}
