//! One pool checkout per page view (issue 20). The connection the session
//! store read the session with is kept for the rest of the request: each
//! database call of the handler ([`super::blocking`]) takes it and keeps
//! it again, instead of taking another from the pool.
//!
//! Only inside [`scope`], which the portals open for requests without a
//! body (GET and HEAD): those go from the session read to their queries
//! and their page without waiting for the client, while a request with a
//! body would hold the connection as long as its client takes to send it.
//! The kept connection goes back to the pool once the request's queries
//! are done: a page is rendered after them, and rendering gives it back
//! first ([`release`], called by `web::render`). Otherwise it goes back
//! when the request's answer is ready (the scope's value is dropped with
//! the request, also when the client goes away first), before a single
//! byte of it is sent; a call that failed gives its connection back at
//! once.

use std::{cell::RefCell, future::Future};

use super::PgConn;

/// The room for the request's connection. A connection left in it when
/// the request ends goes back to the pool, which pings it first while the
/// database is suspect (`super::health`): then not on the async worker.
struct Room(RefCell<Option<PgConn>>);

impl Drop for Room {
    fn drop(&mut self) {
        if let Some(conn) = self.0.get_mut().take() {
            give_back(conn);
        }
    }
}

/// Returns `conn` to the pool from an async worker: there at once, unless
/// the database is suspect and the pool would ping it first.
fn give_back(conn: PgConn) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if super::health::is_suspect() => {
            drop(runtime.spawn_blocking(move || drop(conn)));
        }
        _ => drop(conn),
    }
}

tokio::task_local! {
    static KEPT: Room;
}

/// Runs `request` with room to keep one connection (see the module). In
/// it, [`super::blocking`] runs on the kept connection whatever pool it is
/// given: the portals have one pool, `AppState::pool`.
pub async fn scope<F: Future>(request: F) -> F::Output {
    KEPT.scope(Room(RefCell::new(None)), request).await
}

/// Whether this request keeps its connection between calls: only then is
/// a connection brought back from the blocking pool to be [`keep`]t, so
/// one that is not kept goes back to the pool where it was used.
pub(crate) fn in_scope() -> bool {
    KEPT.try_with(|_| ()).is_ok()
}

/// Whether a connection that served a call without error may serve the
/// request's next: not one that broke (a closure may have swallowed the
/// error), and none while the database is suspect, when the pool tests
/// every connection it hands out (`super::health`).
pub(crate) fn may_keep(conn: &mut PgConn) -> bool {
    use diesel::r2d2::R2D2Connection;
    !super::health::is_suspect() && !(**conn).is_broken()
}

/// The connection kept for this request, if any; taking it empties the
/// room until the call that took it keeps it again.
pub(crate) fn take() -> Option<PgConn> {
    KEPT.try_with(|room| room.0.borrow_mut().take())
        .ok()
        .flatten()
}

/// Keeps `conn` for the request's next call (call it inside a [`scope`]:
/// see [`in_scope`]); with one already kept, `conn` goes back to the pool.
pub(crate) fn keep(conn: PgConn) {
    let mut conn = Some(conn);
    let _ = KEPT.try_with(|room| {
        let mut kept = room.0.borrow_mut();
        if kept.is_none() {
            *kept = conn.take();
        }
    });
    if let Some(conn) = conn {
        give_back(conn);
    }
}

/// Gives the request's kept connection back to the pool now: its queries
/// are done. A page renders after its queries, and with more requests at
/// once than pooled connections, a connection held while a page renders
/// (an Audit page's fifty rows) is one that other requests wait for
/// (issue 20; `bench web` could not tell the difference, see README). A
/// query after this takes a connection from the pool.
pub fn release() {
    if let Some(conn) = take() {
        give_back(conn);
    }
}

/// Which requests get a [`scope`]: those without a body.
pub fn suits(method: &actix_web::http::Method) -> bool {
    use actix_web::http::Method;
    method == Method::GET || method == Method::HEAD
}
