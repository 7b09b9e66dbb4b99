//! *Account › Mail language*, in both portals: the language the person's
//! mail is written in. By default it follows the language they use the
//! portal in (set at sign-in and by the language switch); a choice here
//! holds until they pick "the language I use" again
//! ([`notify::language::choose`](crate::notify::language::choose)).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    AppState,
    chrome::Chrome,
    error::AppError,
    forms::{CsrfForm, PortalSession, SignedIn},
    render_status, see_other,
    signin::language_realm,
    two_factor::TwoFactorPortal,
};
use crate::{
    db::{self, DbError},
    i18n::{Lang, Tr},
    notify::language,
};

/// Where the page lives in both portals.
pub const PATH: &str = "/account/mail-language";
/// The form's value for "follow the language I use".
const FOLLOW: &str = "follow";

pub fn routes<P: TwoFactorPortal>(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show::<P>))
        .route(PATH, web::post().to(save::<P>));
}

#[derive(Template)]
#[template(path = "account/mail_language.html")]
struct Page {
    tr: Tr,
    chrome: Chrome,
    /// The option selected: a language code, or [`FOLLOW`].
    selected: String,
    follow: &'static str,
    languages: [Lang; 2],
    flash: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    mail_language: String,
}

/// The choice the form sent: `Some(None)` follows the portal language,
/// `Some(Some(lang))` holds one; `None` is no choice offered.
fn parse(value: &str) -> Option<Option<Lang>> {
    if value == FOLLOW {
        return Some(None);
    }
    Lang::ALL.into_iter().find(|l| l.code() == value).map(Some)
}

fn page(req: &HttpRequest, tr: Tr, chrome: Chrome, selected: String) -> Page {
    Page {
        chrome,
        selected,
        follow: FOLLOW,
        languages: Lang::ALL,
        flash: PortalSession::from_request(req).take_flash(),
        error: None,
        tr,
    }
}

async fn show<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
) -> Result<HttpResponse, AppError> {
    let holder = me.holder(&state.settings);
    let (realm, id) = (language_realm(holder.realm), holder.id);
    let chosen = db::blocking(&state.pool, move |conn| {
        language::chosen(conn, realm, id).map_err(DbError::from)
    })
    .await?;
    let selected = chosen.map_or(FOLLOW, Lang::code).to_owned();
    render_status(StatusCode::OK, &page(&req, tr, me.chrome(&req)?, selected))
}

async fn save<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    CsrfForm(form): CsrfForm<Choice>,
) -> Result<HttpResponse, AppError> {
    let Some(choice) = parse(&form.mail_language) else {
        let mut again = page(&req, tr, me.chrome(&req)?, FOLLOW.to_owned());
        again.error = Some(again.tr.t("mail-language-invalid"));
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &again);
    };
    let holder = me.holder(&state.settings);
    let (realm, id, now) = (language_realm(holder.realm), holder.id, state.clock.now());
    db::blocking(&state.pool, move |conn| {
        language::choose(conn, realm, id, choice, now).map_err(DbError::from)
    })
    .await?;
    PortalSession::from_request(&req).set_flash(&tr.t("mail-language-saved"))?;
    Ok(see_other(PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_choices_parse() {
        assert_eq!(parse("follow"), Some(None));
        assert_eq!(parse("nl"), Some(Some(Lang::Nl)));
        assert_eq!(parse("en"), Some(Some(Lang::En)));
        for bad in ["", "NL", "nl-NL", "de", "follow "] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
