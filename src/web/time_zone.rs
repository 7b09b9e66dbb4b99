//! *Account › Time zone*, in both portals (issue 22): the zone every time
//! is shown in, on the pages and in the person's mail. By default a tenant
//! user follows their organisation's zone (Settings › Org settings) and a
//! staff member reads UTC; a choice here holds until they pick the default
//! again ([`notify::time_zone::choose`](crate::notify::time_zone::choose)).

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
    i18n::{Tr, Tz, offered_zones, parse_zone},
    notify::{language, time_zone},
};

/// Where the page lives in both portals.
pub const PATH: &str = "/account/time-zone";
/// The form's value for "the default zone".
const FOLLOW: &str = "follow";

pub fn routes<P: TwoFactorPortal>(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show::<P>))
        .route(PATH, web::post().to(save::<P>));
}

#[derive(Template)]
#[template(path = "account/time_zone.html")]
struct Page {
    tr: Tr,
    chrome: Chrome,
    /// The option selected: a zone's name, [`FOLLOW`], or what was sent
    /// when it is none of them.
    selected: String,
    follow: &'static str,
    /// The label of the default option (the organisation's zone, or UTC).
    follow_label: String,
    zones: Vec<&'static str>,
    /// What was sent, when it is no offered zone (kept in the list).
    typed: Option<String>,
    flash: Option<String>,
    error: Option<String>,
}

impl Page {
    fn is_selected(&self, zone: &str) -> bool {
        self.selected == zone
    }
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    time_zone: String,
}

/// The choice the form sent: `Some(None)` follows the default, `Some(Some(zone))`
/// holds one; `None` is no choice offered.
fn parse(value: &str) -> Option<Option<Tz>> {
    if value == FOLLOW {
        return Some(None);
    }
    parse_zone(value).map(Some)
}

/// The page with `selected` chosen, for the account `holder` of `realm`.
async fn page(
    req: &HttpRequest,
    tr: Tr,
    state: &AppState,
    chrome: Chrome,
    (realm, id): (&'static str, uuid::Uuid),
    selected: Option<String>,
) -> Result<Page, AppError> {
    let (default, chosen) = db::blocking(&state.pool, move |conn| {
        let default = time_zone::default_of(conn, realm, id)?;
        Ok::<_, DbError>((default, time_zone::chosen(conn, realm, id)?))
    })
    .await?;
    let follow_label = if realm == language::ADMIN {
        tr.t1("time-zone-follow", "zone", default.name())
    } else {
        tr.t("time-zone-follow-staff")
    };
    let selected = selected.unwrap_or_else(|| chosen.map_or(FOLLOW, |z| z.name()).to_owned());
    let offered: Vec<&'static str> = offered_zones().map(|z| z.name()).collect();
    let typed =
        (selected != FOLLOW && !offered.contains(&selected.as_str())).then(|| selected.clone());
    Ok(Page {
        chrome,
        selected,
        follow: FOLLOW,
        follow_label,
        zones: offered,
        typed,
        flash: PortalSession::from_request(req).take_flash(),
        error: None,
        tr,
    })
}

async fn show<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
) -> Result<HttpResponse, AppError> {
    let holder = me.holder(&state.settings);
    let account = (language_realm(holder.realm), holder.id);
    let page = page(&req, tr, &state, me.chrome(&req)?, account, None).await?;
    render_status(StatusCode::OK, &page)
}

async fn save<P: TwoFactorPortal>(
    req: HttpRequest,
    tr: Tr,
    state: web::Data<AppState>,
    SignedIn(me): SignedIn<P>,
    CsrfForm(form): CsrfForm<Choice>,
) -> Result<HttpResponse, AppError> {
    let holder = me.holder(&state.settings);
    let (realm, id, now) = (language_realm(holder.realm), holder.id, state.clock.now());
    let Some(choice) = parse(&form.time_zone) else {
        let typed = Some(form.time_zone.clone());
        let mut again = page(&req, tr, &state, me.chrome(&req)?, (realm, id), typed).await?;
        again.error = Some(again.tr.t("time-zone-invalid"));
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &again);
    };
    db::blocking(&state.pool, move |conn| {
        time_zone::choose(conn, realm, id, choice, now).map_err(DbError::from)
    })
    .await?;
    PortalSession::from_request(&req).set_flash(&tr.t("time-zone-saved"))?;
    Ok(see_other(PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_choices_parse() {
        assert_eq!(parse("follow"), Some(None));
        assert_eq!(
            parse("Europe/Amsterdam"),
            Some(Some(chrono_tz::Europe::Amsterdam))
        );
        assert_eq!(parse("UTC"), Some(Some(Tz::UTC)));
        for bad in ["", "Follow", "Europe/Atlantis", "US/Pacific", "UTC "] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
