//! Each portal's session middleware: a signed cookie holding the key of a
//! server-side session in PostgreSQL ([`PgSessionStore`]), which loads
//! the portal's signed-in principal with the session.

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy},
};
use actix_web::cookie::{Key, SameSite};

use crate::{
    auth::{Realm, session_store::PgSessionStore},
    web::{self as portal, AppState},
};

/// The session cookie's name: `__Host-` prefixed when served over TLS, so
/// the browser pins it to this host and to HTTPS.
fn cookie_name(realm: Realm, tls: bool) -> String {
    let base = match realm {
        Realm::Admin => "lockbox_admin",
        Realm::Engineer => "lockbox_engineer",
    };
    if tls {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The session middleware of `realm`'s listener.
pub(super) fn middleware(
    state: &AppState,
    realm: Realm,
    key: &Key,
) -> SessionMiddleware<PgSessionStore> {
    let settings = &state.settings;
    let loader = match realm {
        Realm::Admin => portal::forms::principal_loader::<crate::tenants::TenantUser>(),
        Realm::Engineer => portal::forms::principal_loader::<crate::staff::StaffMember>(),
    };
    let store = PgSessionStore::new(
        state.pool.clone(),
        state.clock.clone(),
        realm,
        settings.session_idle,
        settings.session_absolute,
    )
    .with_principal(loader);
    SessionMiddleware::builder(store, key.clone())
        .cookie_name(cookie_name(realm, settings.tls))
        .cookie_secure(settings.tls)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Strict)
        .cookie_path("/".into())
        .cookie_content_security(CookieContentSecurity::Signed)
        .session_lifecycle(
            BrowserSession::default()
                .state_ttl(actix_web::cookie::time::Duration::seconds(
                    settings.session_absolute.num_seconds(),
                ))
                // The store moves the idle deadline as it reads (at most
                // once a minute); an unchanged session writes nothing
                // after the response.
                .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build()
}
