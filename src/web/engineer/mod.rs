//! The engineer portal: sign-in and the pages of provider support engineers
//! and support managers.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};

use super::{
    AppState,
    chrome::Chrome,
    client_ip,
    forms::{CsrfForm, Principal, SignedIn},
    signin::{self, SignInForm, SignInPage},
    two_factor,
};
use crate::{
    auth::{
        self, Attempt, Realm, TypedAccount,
        totp::{Holder, Policy},
    },
    i18n::Tr,
    identity::StaffId,
    staff::{self, StaffMember, StaffRole},
    web::error::AppError,
};

pub mod home;
pub mod requests;
pub mod session;
pub mod support;
pub mod tokens;

const ENGINEER_NAV: &[(&str, &str)] = &[
    ("/", "nav-home"),
    ("/requests/new", "nav-new-request"),
    ("/requests", "nav-my-requests"),
    ("/support", "nav-support-queue"),
    ("/tokens", "nav-staff-tokens"),
];
const MANAGER_NAV: &[(&str, &str)] = &[
    ("/", "nav-home"),
    ("/requests/new", "nav-new-request"),
    ("/requests", "nav-my-requests"),
    ("/queue", "nav-queue"),
    ("/support", "nav-support-queue"),
    ("/tokens", "nav-staff-tokens"),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    // The session routes first: `/requests/{id}/session` would otherwise
    // match the decisions' `/requests/{id}/{action}`.
    cfg.configure(session::routes)
        .configure(requests::routes)
        .configure(tokens::routes)
        .configure(support::routes)
        .configure(two_factor::routes::<StaffMember>)
        .route("/", web::get().to(home::home))
        .route("/signin", web::get().to(signin_form))
        .route("/signin", web::post().to(signin_submit))
        .route("/signout", web::post().to(signin::sign_out))
        // Counts across tenants: for the provider's operators, never on the
        // customer-facing listener.
        .route("/metrics", web::get().to(crate::web::metrics::metrics));
}

/// A signed-in engineer or manager.
pub type SignedInStaff = SignedIn<StaffMember>;

impl Principal for StaffMember {
    const REALM: &'static str = crate::notify::language::ENGINEER;

    fn load(conn: &mut diesel::PgConnection, id: uuid::Uuid) -> diesel::QueryResult<Option<Self>> {
        staff::find(conn, StaffId(id))
    }

    fn load_session(
        conn: &mut diesel::PgConnection,
        session: &crate::db::sessions::Lookup<'_>,
    ) -> diesel::QueryResult<Option<crate::web::forms::SessionWith<Self>>> {
        Ok(
            staff::find_session_member(conn, session, Self::REALM)?.map(|(stored, member)| {
                let member = member.map(|(member, chosen)| {
                    (member, crate::i18n::reader_zone(chosen.as_deref(), None))
                });
                (stored, member)
            }),
        )
    }
}

impl two_factor::TwoFactorPortal for StaffMember {
    fn bare_chrome(req: &HttpRequest) -> Result<Chrome, AppError> {
        Chrome::new(req, "engineer", "portal-engineer", &[])
    }

    fn holder(&self, settings: &crate::config::Settings) -> Holder {
        Holder {
            realm: Realm::Engineer,
            id: self.id.0,
            name: self.display_name.clone(),
            account: TypedAccount::staff(&self.email),
            policy: Policy::Staff {
                required: settings.staff_mfa_required,
            },
        }
    }

    fn label(&self) -> String {
        format!("{} (staff)", self.email)
    }
}

/// The frame of a page for a signed-in staff member.
fn chrome(req: &HttpRequest, me: &StaffMember) -> Result<Chrome, AppError> {
    let nav = match me.role {
        StaffRole::Manager => MANAGER_NAV,
        StaffRole::Engineer => ENGINEER_NAV,
    };
    Ok(Chrome::new(req, "engineer", "portal-engineer", nav)?.signed_in(&me.display_name, None))
}

fn signin_page(req: &HttpRequest, tr: Tr) -> Result<SignInPage, AppError> {
    let chrome = Chrome::new(req, "engineer", "portal-engineer", &[])?;
    Ok(SignInPage::new(tr, chrome, "signin-intro-engineer", false))
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
    if form.email.trim().is_empty() || form.password.is_empty() {
        return page.refuse(&form, StatusCode::BAD_REQUEST, "signin-missing-fields");
    }
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let email = form.email.clone();
    let attempt = Attempt {
        realm: Realm::Engineer,
        account: TypedAccount::staff(&email),
        ip,
        password: form.password.clone(),
    };
    let outcome = auth::sign_in(
        &state.pool,
        &state.clock,
        &state.hasher,
        attempt,
        move |conn| Ok(staff::find_for_sign_in(conn, &email)?.map(|(m, hash)| (m.id.0, hash))),
    )
    .await?;
    signin::answer::<StaffMember>(&req, &state, page, &form, outcome).await
}
