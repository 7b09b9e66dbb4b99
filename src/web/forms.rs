//! The typed session both portals use, and [`CsrfForm`]: the only way a
//! handler receives a POSTed form, so no state-changing form can skip the
//! CSRF check.

use std::{future::Future, pin::Pin};

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, error::PayloadError, web};
use serde::{Deserialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::{
    auth::token,
    web::error::{AppError, Forbidden},
};

/// The form field every POST form carries.
pub const CSRF_FIELD: &str = "csrf_token";

/// The session of one portal, with typed accessors instead of string keys.
pub struct PortalSession(Session);

impl PortalSession {
    const PRINCIPAL: &'static str = "principal";
    const CSRF: &'static str = "csrf";
    const FLASH: &'static str = "flash";
    const SECOND_STEP: &'static str = "second_step";
    const SECOND_FACTOR_AT: &'static str = "second_factor_at";
    const ENROLLING: &'static str = "enrolling";

    pub fn from_request(req: &HttpRequest) -> Self {
        Self(req.get_session())
    }

    /// The signed-in account's id, if any.
    pub fn principal(&self) -> Result<Option<Uuid>, AppError> {
        Ok(self.0.get::<Uuid>(Self::PRINCIPAL)?)
    }

    /// The time zone of the signed-in account, as the session store loaded
    /// it with the session; `None` when nobody is signed in.
    pub fn loaded_zone(&self) -> Option<crate::i18n::Tz> {
        let id = self.principal().ok().flatten()?;
        crate::auth::session_store::handed_over_zone(id)
    }

    /// Starts a signed-in session under a fresh session id (no fixation) with
    /// a fresh CSRF token.
    pub fn sign_in(&self, id: Uuid) -> Result<(), AppError> {
        self.0.renew();
        self.0.remove(Self::SECOND_STEP);
        // Nothing of an earlier account's session carries over: a step-up
        // or an enrolment belongs to who did it (callers confirm anew).
        self.0.remove(Self::SECOND_FACTOR_AT);
        self.0.remove(Self::ENROLLING);
        self.0.insert(Self::PRINCIPAL, id)?;
        self.0.insert(Self::CSRF, token::random_token())?;
        Ok(())
    }

    /// Half signs in: the password was right, a second step (a code, or
    /// enrolling an authenticator) must follow before [`Self::sign_in`].
    /// A fresh session id and CSRF token; no principal, so no page that
    /// needs one opens.
    pub fn begin_second_step(&self, step: &SecondStep) -> Result<(), AppError> {
        self.0.renew();
        self.0.remove(Self::PRINCIPAL);
        self.0.remove(Self::SECOND_FACTOR_AT);
        self.0.remove(Self::ENROLLING);
        self.0.insert(Self::SECOND_STEP, step)?;
        self.0.insert(Self::CSRF, token::random_token())?;
        Ok(())
    }

    /// The half-signed-in account and what it must do, if any.
    pub fn second_step(&self) -> Result<Option<SecondStep>, AppError> {
        Ok(self.0.get::<SecondStep>(Self::SECOND_STEP)?)
    }

    /// Forgets a second step (expired, or replaced by a new sign-in).
    pub fn end_second_step(&self) {
        self.forget(Self::SECOND_STEP);
    }

    /// A code of the account's second factor was accepted at `at`: it
    /// confirms sensitive actions for a while (step-up).
    pub fn second_factor_confirmed(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AppError> {
        Ok(self.0.insert(Self::SECOND_FACTOR_AT, at.timestamp())?)
    }

    /// When a code was last accepted in this session.
    pub fn second_factor_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
        Ok(self
            .0
            .get::<i64>(Self::SECOND_FACTOR_AT)?
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0)))
    }

    /// The sealed secret of the enrolment under way (base64), if any: kept
    /// in the server-side session until a code confirms it.
    pub fn enrolling(&self) -> Result<Option<String>, AppError> {
        Ok(self.0.get::<String>(Self::ENROLLING)?)
    }

    pub fn set_enrolling(&self, sealed: &str) -> Result<(), AppError> {
        Ok(self.0.insert(Self::ENROLLING, sealed)?)
    }

    pub fn end_enrolling(&self) {
        self.forget(Self::ENROLLING);
    }

    /// Ends the session on the server and clears the cookie.
    pub fn sign_out(&self) {
        self.0.purge();
    }

    /// The session's CSRF token, created on first use.
    pub fn csrf_token(&self) -> Result<String, AppError> {
        if let Some(t) = self.0.get::<String>(Self::CSRF)? {
            return Ok(t);
        }
        let t = token::random_token();
        self.0.insert(Self::CSRF, &t)?;
        Ok(t)
    }

    /// A confirmation message for the next page shown.
    pub fn set_flash(&self, message: &str) -> Result<(), AppError> {
        Ok(self.0.insert(Self::FLASH, message)?)
    }

    /// The pending confirmation message, removed as it is read.
    pub fn take_flash(&self) -> Option<String> {
        if !self.0.contains_key(Self::FLASH) {
            return None;
        }
        self.0.remove_as::<String>(Self::FLASH).and_then(Result::ok)
    }

    /// Removes `key` if the session has it. actix-session marks a session
    /// changed on every `remove`, present or not, and a changed session is
    /// written back: a page view that merely looked for a flash message
    /// would write (issue 20).
    fn forget(&self, key: &str) {
        if self.0.contains_key(key) {
            self.0.remove(key);
        }
    }

    fn csrf_matches(&self, presented: Option<&str>) -> Result<bool, AppError> {
        let expected = self.0.get::<String>(Self::CSRF)?;
        Ok(match (expected, presented) {
            (Some(e), Some(p)) => token::constant_time_eq(&e, p),
            _ => false,
        })
    }
}

/// A half-signed-in session: whose password was right, since when, and
/// whether they must enrol an authenticator (rather than enter a code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct SecondStep {
    pub id: Uuid,
    pub since: i64,
    pub enrol: bool,
}

impl SecondStep {
    /// Still open at `now` (five minutes for a code, fifteen to enrol).
    pub fn open_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        use crate::auth::totp::{ENROLMENT_WINDOW, SECOND_STEP_WINDOW};
        let window = if self.enrol {
            ENROLMENT_WINDOW
        } else {
            SECOND_STEP_WINDOW
        };
        chrono::DateTime::from_timestamp(self.since, 0)
            .is_some_and(|since| since <= now && now - since < window)
    }
}

impl FromRequest for PortalSession {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::from_request(req)))
    }
}

/// An account that can be signed in to a portal, loaded fresh from the
/// database on every request (so a deleted account or a changed role takes
/// effect at once). The session stores the bare id; each portal's principal
/// gives it its type. The session store loads it in the same pool checkout
/// as the session ([`principal_loader`]) and hands it to the extractor as
/// it is (`session_store::handed_over`).
pub trait Principal: Sized + Send + Clone + 'static {
    /// The realm its preferences (mail language, time zone) are kept under.
    const REALM: &'static str;

    fn load(conn: &mut diesel::PgConnection, id: Uuid) -> diesel::QueryResult<Option<Self>>;

    /// A live session with the account it is signed in as and the time
    /// zone that account reads times in, in one statement: the session
    /// store runs this on every signed-in request.
    fn load_session(
        conn: &mut diesel::PgConnection,
        session: &crate::db::sessions::Lookup<'_>,
    ) -> diesel::QueryResult<Option<SessionWith<Self>>>;
}

/// A stored session, with its account and the account's time zone.
pub type SessionWith<P> = crate::db::sessions::WithPrincipal<(P, crate::i18n::Tz)>;

/// `P::load_session`, as the session store calls it (see
/// [`crate::auth::session_store::PrincipalLoader`]): the account boxed,
/// with the time zone it reads times in (picked up by the `Tr` extractor,
/// [`super::reader`], so every page shows times in it).
fn load_handed<P: Principal>(
    conn: &mut diesel::PgConnection,
    session: &crate::db::sessions::Lookup<'_>,
) -> diesel::QueryResult<
    Option<crate::db::sessions::WithPrincipal<crate::auth::session_store::Handed>>,
> {
    Ok(P::load_session(conn, session)?.map(|(stored, found)| {
        let handed = found.map(|(principal, zone)| {
            let principal: Box<dyn std::any::Any + Send> = Box::new(principal);
            (principal, zone)
        });
        (stored, handed)
    }))
}

/// The loader of a portal's principal for its session store.
pub fn principal_loader<P: Principal>() -> crate::auth::session_store::PrincipalLoader {
    crate::auth::session_store::PrincipalLoader {
        key: PortalSession::PRINCIPAL,
        load: load_handed::<P>,
    }
}

/// The signed-in account of the portal: a tenant user in the admin center,
/// a staff member in the engineer portal. Without one: "sign in first".
pub struct SignedIn<P>(pub P);

impl<P: Principal> FromRequest for SignedIn<P> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = PortalSession::from_request(&req);
            let id = session.principal()?.ok_or(AppError::SignInRequired)?;
            let found = match crate::auth::session_store::handed_over::<P>(id) {
                Some(found) => found,
                None => {
                    let state = req
                        .app_data::<web::Data<super::AppState>>()
                        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
                    crate::db::blocking(&state.pool, move |conn| {
                        P::load(conn, id).map_err(crate::db::DbError::from)
                    })
                    .await?
                }
            };
            match found {
                Some(account) => Ok(SignedIn(account)),
                None => {
                    // The account is gone: the session must not outlive it.
                    session.sign_out();
                    Err(AppError::SignInRequired)
                }
            }
        })
    }
}

#[derive(Deserialize)]
struct CsrfField {
    csrf_token: Option<String>,
}

/// A url-encoded form whose CSRF token matched the session's. A missing or
/// wrong token is answered 403 before the handler runs.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => AppError::PayloadTooLarge,
                _ => AppError::BadRequest("unreadable form".into()),
            })?;
            if bytes.windows(3).any(|w| w == b"%00") {
                return Err(AppError::BadRequest("NUL in the form".into()));
            }
            let field: CsrfField = serde_urlencoded::from_bytes(&bytes)
                .map_err(|_| AppError::Forbidden(Forbidden::Csrf))?;
            let session = PortalSession::from_request(&req);
            if !session.csrf_matches(field.csrf_token.as_deref())? {
                tracing::warn!(path = %req.path(), "CSRF token missing or wrong");
                return Err(AppError::Forbidden(Forbidden::Csrf));
            }
            serde_urlencoded::from_bytes(&bytes)
                .map(CsrfForm)
                .map_err(|e| AppError::BadRequest(e.to_string()))
        })
    }
}
