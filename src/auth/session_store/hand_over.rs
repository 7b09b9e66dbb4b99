//! How the session store hands the signed-in account it read with a
//! request's session to that request's extractors: as the portal's own
//! type, in a task-local room around the request, never through the
//! session's JSON state (see the parent module).

use std::{any::Any, cell::RefCell, future::Future};

use crate::i18n::Tz;

/// A signed-in account as its portal loads it (the portal's own type,
/// boxed), with the time zone it reads times in.
pub type Handed = (Box<dyn Any + Send>, Tz);

/// What [`super::PgSessionStore`] read with a request's session: the id of
/// the account the session is signed in as, and that account (`None`: it
/// is gone).
pub(super) struct HandOver {
    pub(super) id: uuid::Uuid,
    pub(super) account: Option<Handed>,
}

tokio::task_local! {
    pub(super) static HANDED: RefCell<Option<HandOver>>;
}

/// Runs `request` with room for the account its session is read with
/// (see [`handed_over`]): around the session middleware, so that its
/// extractors and handler find it.
pub async fn hand_over_scope<F: Future>(request: F) -> F::Output {
    HANDED.scope(RefCell::new(None), request).await
}

/// The account this request's session was read with, if it was read for
/// `id` and is a `P` (`Some(None)`: that account is gone). `None` where
/// nothing was handed over (no [`hand_over_scope`], or another account):
/// the caller then reads the account itself.
pub fn handed_over<P: Clone + 'static>(id: uuid::Uuid) -> Option<Option<P>> {
    HANDED
        .try_with(|room| {
            let room = room.borrow();
            let handed = room.as_ref().filter(|h| h.id == id)?;
            match &handed.account {
                None => Some(None),
                Some((account, _)) => account.downcast_ref::<P>().cloned().map(Some),
            }
        })
        .ok()
        .flatten()
}

/// The time zone of the account this request's session was read with, if
/// it was read for `id` and the account is there.
pub fn handed_over_zone(id: uuid::Uuid) -> Option<Tz> {
    HANDED
        .try_with(|room| {
            let room = room.borrow();
            let handed = room.as_ref().filter(|h| h.id == id)?;
            handed.account.as_ref().map(|(_, zone)| *zone)
        })
        .ok()
        .flatten()
}
