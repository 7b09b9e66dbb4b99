//! The reader of a page: the `Tr` every handler takes is in the language
//! of the request (the switch, else `Accept-Language`) and, for a signed-in
//! account, in its time zone (its choice, else its organisation's default,
//! else UTC), which the session store loaded with the session
//! ([`PortalSession::loaded_zone`]). So a page only has to show a time
//! with `tr.fmt_time(at)` to show it in the reader's zone.

use actix_web::{FromRequest, HttpRequest, dev::Payload};

use super::forms::PortalSession;
use crate::i18n::{Lang, Tr, Tz};

/// The reader's translator, without an extractor (e.g. an error page).
pub fn tr_of(req: &HttpRequest) -> Tr {
    let zone = PortalSession::from_request(req)
        .loaded_zone()
        .unwrap_or(Tz::UTC);
    Tr::new(Lang::from_request(req)).in_zone(zone)
}

impl FromRequest for Tr {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(tr_of(req)))
    }
}
