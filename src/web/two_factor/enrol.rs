//! Enrolling an authenticator: the secret as a QR code (SVG rendered here,
//! no script) and as base32 text, confirmed by one code from it; then the
//! ten recovery codes, shown once. Reached right after the password when
//! the rule requires an authenticator (`/signin/enrol`, half signed in),
//! or from *Account › Two-factor sign-in* (`/account/two-factor/enrol`).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use base64::Engine;

use super::{
    ACCOUNT, CodeForm, TwoFactorPortal, confirm_enrolment, open_step, refusal, with_retry_after,
};
use crate::{
    auth::totp::{self, Holder, Sealer, store},
    db::{self, DbError},
    i18n::Tr,
    web::{
        AppState,
        chrome::Chrome,
        error::AppError,
        forms::{CsrfForm, PortalSession, SignedIn},
        render_status, see_other,
        tokens::secret_page,
    },
};

#[derive(Template)]
#[template(path = "two_factor/enrol.html")]
struct EnrolPage {
    tr: Tr,
    chrome: Chrome,
    /// The QR code, an SVG document rendered on the server.
    qr_svg: String,
    /// The secret as base32 text, for typing in.
    secret: String,
    action: &'static str,
    /// Sent here by the rule, right after the password.
    forced: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "two_factor/recovery.html")]
struct RecoveryPage {
    tr: Tr,
    chrome: Chrome,
    codes: Vec<String>,
    next: &'static str,
}

/// The QR code of `uri` as an inline SVG element.
fn qr_svg(uri: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML: the XML declaration has no place there.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

/// The secret of `holder`'s enrolment under way, kept sealed in their
/// session; `None` when none was begun. Only the pages begin one (a first
/// enrolment, or a replacement authorised with a current code): a code
/// POSTed without one enrols nothing and reveals no new secret.
fn kept_secret(
    session: &PortalSession,
    sealer: &Sealer,
    holder: &Holder,
) -> Result<Option<Vec<u8>>, AppError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(session
        .enrolling()?
        .and_then(|s| b64.decode(s).ok())
        .and_then(|sealed| sealer.open(holder.realm, holder.id, &sealed)))
}

/// [`kept_secret`], begun now if there is none (so showing the page writes
/// nothing else, and reloading it shows the same QR code).
pub fn pending_secret(
    session: &PortalSession,
    sealer: &Sealer,
    holder: &Holder,
) -> Result<Vec<u8>, AppError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(secret) = kept_secret(session, sealer, holder)? {
        return Ok(secret);
    }
    let secret = totp::new_secret();
    session.set_enrolling(&b64.encode(sealer.seal(holder.realm, holder.id, &secret)))?;
    Ok(secret)
}

/// The enrolment page of `me`'s enrolment under way.
fn page<P: TwoFactorPortal>(
    req: &HttpRequest,
    state: &AppState,
    me: &P,
    tr: Tr,
    chrome: Chrome,
    forced: bool,
    error: Option<String>,
) -> Result<EnrolPage, AppError> {
    let holder = me.holder(&state.settings);
    let session = PortalSession::from_request(req);
    let secret = pending_secret(&session, &state.sealer, &holder)?;
    Ok(EnrolPage {
        qr_svg: qr_svg(&totp::otpauth_uri(&me.label(), &secret))?,
        secret: totp::base32(&secret),
        action: if forced {
            "/signin/enrol"
        } else {
            "/account/two-factor/enrol"
        },
        forced,
        error,
        chrome,
        tr,
    })
}

/// The answer to a code for the enrolment: the recovery codes once it is
/// confirmed (and `on_confirmed` has run), the page again with why not
/// otherwise.
async fn submit<P: TwoFactorPortal>(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    me: &P,
    code: &str,
    forced: bool,
    on_confirmed: impl FnOnce() -> Result<(), AppError>,
) -> Result<HttpResponse, AppError> {
    let holder = me.holder(&state.settings);
    let session = PortalSession::from_request(req);
    let Some(secret) = kept_secret(&session, &state.sealer, &holder)? else {
        // No enrolment was begun on a page: nothing to confirm.
        return Ok(see_other(if forced { "/signin/enrol" } else { ACCOUNT }));
    };
    // The forced enrolment after the password never replaces: whoever else
    // had the password and raced the owner must not overwrite theirs.
    let may_replace = !forced;
    let checked = confirm_enrolment(req, state, &holder, secret, code, may_replace).await?;
    if matches!(checked, store::Checked::AlreadyEnrolled) {
        // The half-signed-in step ends: sign in again, with that code.
        session.end_enrolling();
        session.end_second_step();
        return Ok(see_other("/signin"));
    }
    let chrome = |req: &HttpRequest| {
        if forced {
            P::bare_chrome(req)
        } else {
            me.chrome(req)
        }
    };
    if let store::Checked::Enrolled { recovery_codes } = checked {
        session.end_enrolling();
        on_confirmed()?;
        let page = RecoveryPage {
            chrome: chrome(req)?,
            codes: recovery_codes,
            next: if forced { "/" } else { ACCOUNT },
            tr,
        };
        return secret_page(&page);
    }
    let (message, status, wait) = refusal(&tr, &checked, state.clock.now());
    let again = page(req, state, me, tr, chrome(req)?, forced, Some(message))?;
    Ok(with_retry_after(render_status(status, &again)?, wait))
}

/// The half-signed-in account of an open enrolment step, or where to go.
async fn half_signed_in<P: TwoFactorPortal>(
    req: &HttpRequest,
    tr: &Tr,
    state: &AppState,
) -> Result<Result<P, HttpResponse>, AppError> {
    let session = PortalSession::from_request(req);
    let step = match open_step(&session, state.clock.now(), true)? {
        Ok(step) => step,
        Err(Some(elsewhere)) => return Ok(Err(see_other(elsewhere))),
        Err(None) => {
            return Ok(Err(super::expired_page::<P>(req, *tr)?));
        }
    };
    let id = step.id;
    let found = db::blocking(&state.pool, move |conn| {
        P::load(conn, id).map_err(DbError::from)
    })
    .await?;
    Ok(found.ok_or_else(|| {
        session.end_second_step();
        see_other("/signin")
    }))
}

/// `GET /signin/enrol`: the rule requires an authenticator and there is none.
pub async fn half_form<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let me = match half_signed_in::<P>(&req, &tr, &state).await? {
        Ok(me) => me,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let page = page(&req, &state, &me, tr, P::bare_chrome(&req)?, true, None)?;
    secret_page(&page)
}

/// `POST /signin/enrol`: the first code; signed in once it is right.
pub async fn half_submit<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let me = match half_signed_in::<P>(&req, &tr, &state).await? {
        Ok(me) => me,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let (session, now) = (PortalSession::from_request(&req), state.clock.now());
    let id = me.holder(&state.settings).id;
    submit(&req, tr, &state, &me, &form.code, true, || {
        session.sign_in(id)?;
        session.second_factor_confirmed(now)
    })
    .await
}

/// `GET /account/two-factor/enrol`: a first authenticator, or the
/// replacement begun on the account page.
pub async fn account_form<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
) -> Result<HttpResponse, AppError> {
    // Replacing an authenticator starts on the account page, after a
    // current code.
    let standing = super::standing(&state, &me.holder(&state.settings)).await?;
    if standing.enrolled() && PortalSession::from_request(&req).enrolling()?.is_none() {
        return Ok(see_other(ACCOUNT));
    }
    let chrome = me.chrome(&req)?;
    secret_page(&page(&req, &state, &me, tr, chrome, false, None)?)
}

/// `POST /account/two-factor/enrol`: the code that confirms it.
pub async fn account_submit<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let (session, now) = (PortalSession::from_request(&req), state.clock.now());
    submit(&req, tr, &state, &me, &form.code, false, || {
        session.second_factor_confirmed(now)
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_qr_code_is_an_inline_svg() {
        let svg = super::qr_svg("otpauth://totp/lockbox:a?secret=AAAA").expect("svg");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(!svg.contains("<script"));
    }
}
