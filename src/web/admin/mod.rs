//! The customer admin center: sign-in and the pages of a tenant's global
//! administrators and Customer Lockbox access approvers.

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, http::StatusCode, web};
use std::{future::Future, pin::Pin};

use super::{
    AppState,
    chrome::Chrome,
    client_ip,
    forms::{CsrfForm, Principal, SignedIn},
    signin::{self, SignInForm, SignInPage},
    two_factor,
};
use crate::{
    audit,
    auth::{
        self, Attempt, Realm, TypedAccount,
        totp::{Holder, Policy},
    },
    db::{self, DbError},
    i18n::Tr,
    identity::UserId,
    tenants::{self, TenantUser},
    web::error::{AppError, Forbidden},
};

pub mod api_tokens;
pub mod audit_log;
pub mod audit_trust;
pub mod home;
pub mod requests;
pub mod roles;
pub mod security;
pub mod settings;
pub mod tickets;
pub mod two_factor_reset;
pub mod webhooks;

/// The left navigation of global administrators and approvers.
const NAV: &[(&str, &str)] = &[
    ("/", "nav-home"),
    ("/support/lockbox/requests", "nav-lockbox-requests"),
    ("/support/tickets", "nav-tickets"),
    ("/settings/org/lockbox", "nav-org-settings"),
    ("/settings/security", "nav-security"),
    ("/roles", "nav-roles"),
    ("/settings/api-tokens", "nav-api-tokens"),
    ("/audit", "nav-audit"),
    // Last: only global administrators see it (see `chrome`).
    ("/settings/webhooks", "nav-webhooks"),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(requests::routes)
        .configure(audit_log::routes)
        .configure(settings::routes)
        .configure(roles::routes)
        .configure(api_tokens::routes)
        .configure(webhooks::routes)
        .configure(tickets::routes)
        .configure(security::routes)
        .configure(two_factor::routes::<TenantUser>)
        .route("/", web::get().to(home::home))
        .route("/signin", web::get().to(signin_form))
        .route("/signin", web::post().to(signin_submit))
        .route("/signout", web::post().to(signin::sign_out));
}

/// Any signed-in tenant user, whatever their role.
pub type SignedInUser = SignedIn<TenantUser>;

impl Principal for TenantUser {
    const REALM: &'static str = crate::notify::language::ADMIN;

    fn load(conn: &mut diesel::PgConnection, id: uuid::Uuid) -> diesel::QueryResult<Option<Self>> {
        tenants::find_user(conn, UserId(id))
    }

    fn load_session(
        conn: &mut diesel::PgConnection,
        session: &crate::db::sessions::Lookup<'_>,
    ) -> diesel::QueryResult<Option<crate::web::forms::SessionWith<Self>>> {
        Ok(
            tenants::time_zone::find_session_user(conn, session, Self::REALM)?.map(
                |(stored, user)| {
                    let user = user.map(|(user, chosen, default)| {
                        let zone = crate::i18n::reader_zone(chosen.as_deref(), Some(&default));
                        (user, zone)
                    });
                    (stored, user)
                },
            ),
        )
    }
}

impl two_factor::TwoFactorPortal for TenantUser {
    fn bare_chrome(req: &HttpRequest) -> Result<Chrome, AppError> {
        Chrome::new(req, "admin", "portal-admin", &[])
    }

    fn holder(&self, _: &crate::config::Settings) -> Holder {
        Holder {
            realm: Realm::Admin,
            id: self.id.0,
            name: self.display_name.clone(),
            account: TypedAccount::tenant_user(&self.tenant_name, &self.email),
            policy: Policy::Tenant {
                tenant: self.tenant_id,
                role: self.role,
            },
        }
    }

    fn label(&self) -> String {
        format!("{} ({})", self.email, self.tenant_name)
    }
}

/// A global administrator or approver: the people lockbox pages are for.
pub struct LockboxUser(pub TenantUser);

impl FromRequest for LockboxUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = SignedInUser::from_request(req, payload);
        Box::pin(async move {
            let SignedIn(user) = user.await?;
            if user.role.can_use_lockbox() {
                Ok(LockboxUser(user))
            } else {
                Err(AppError::Forbidden(Forbidden::NeedsLockboxRole))
            }
        })
    }
}

/// The frame of a page for a signed-in tenant user; plain users see only
/// their service requests, since every other page is closed to them.
fn chrome(req: &HttpRequest, user: &TenantUser) -> Result<Chrome, AppError> {
    let nav = if user.role.may_configure() {
        NAV
    } else if user.role.can_use_lockbox() {
        &NAV[..NAV.len() - 1]
    } else {
        &[("/support/tickets", "nav-tickets")]
    };
    Ok(Chrome::new(req, "admin", "portal-admin", nav)?
        .signed_in(&user.display_name, Some(&user.tenant_name)))
}

/// The signed-in user as the audit log names them, with their address.
fn audit_actor(req: &HttpRequest, state: &AppState, user: &TenantUser) -> audit::Actor {
    let ip = client_ip(req, &state.settings.trusted_proxies).to_string();
    audit::Actor::customer(user.id, &user.display_name, &ip)
}

/// Refuses everyone but the tenant's global administrators.
fn require_global_admin(user: &TenantUser) -> Result<(), AppError> {
    if user.role.may_configure() {
        Ok(())
    } else {
        Err(AppError::Forbidden(Forbidden::Role))
    }
}

fn signin_page(req: &HttpRequest, tr: Tr) -> Result<SignInPage, AppError> {
    let chrome = Chrome::new(req, "admin", "portal-admin", &[])?;
    Ok(SignInPage::new(tr, chrome, "signin-intro-admin", true))
}

async fn signin_form(req: HttpRequest, tr: Tr) -> Result<HttpResponse, AppError> {
    signin::form_unless_signed_in(&req, || signin_page(&req, tr))
}

async fn signin_submit(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let page = signin_page(&req, tr)?;
    if form.organization.trim().is_empty()
        || form.email.trim().is_empty()
        || form.password.is_empty()
    {
        return page.refuse(
            &form,
            StatusCode::BAD_REQUEST,
            "signin-missing-fields-admin",
        );
    }
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let (org, email) = (form.organization.clone(), form.email.clone());
    let attempt = Attempt {
        realm: Realm::Admin,
        account: TypedAccount::tenant_user(&org, &email),
        ip,
        password: form.password.clone(),
    };
    let outcome = auth::sign_in(
        &state.pool,
        &state.clock,
        &state.hasher,
        attempt,
        move |conn| {
            Ok(tenants::find_user_for_sign_in(conn, &org, &email)?.map(|(u, hash)| (u.id.0, hash)))
        },
    )
    .await?;
    let (org, email, now) = (
        form.organization.clone(),
        form.email.clone(),
        state.clock.now(),
    );
    // A throttled attempt is not recorded (its lock-out is, once it ends),
    // and costs no further database work.
    if !matches!(outcome, auth::SignInOutcome::Throttled(_)) {
        db::blocking(&state.pool, move |conn| {
            auth::record_admin_sign_in(conn, &org, &email, outcome, ip, now).map_err(DbError::from)
        })
        .await?;
    }
    signin::answer::<TenantUser>(&req, &state, page, &form, outcome).await
}
