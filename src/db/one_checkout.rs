//! One pool checkout per page view (issue 20). The connection the session
//! store read the session with is kept for the rest of the request: each
//! database call of the handler ([`super::blocking`]) takes it and keeps
//! it again, instead of taking another from the pool.
//!
//! Only inside [`scope`], which the portals open for requests without a
//! body (GET and HEAD): those go from the session read to their queries
//! and their page without waiting for the client, while a request with a
//! body would hold the connection as long as its client takes to send it.
//! The kept connection goes back to the pool when the request's answer is
//! ready (the scope's value is dropped with the request, also when the
//! client goes away first), before a single byte of it is sent; a call
//! that failed gives its connection back at once.

use std::{cell::RefCell, future::Future};

use super::PgConn;

tokio::task_local! {
    static KEPT: RefCell<Option<PgConn>>;
}

/// Runs `request` with room to keep one connection (see the module).
pub async fn scope<F: Future>(request: F) -> F::Output {
    KEPT.scope(RefCell::new(None), request).await
}

/// The connection kept for this request, if any; taking it empties the
/// room until the call that took it keeps it again.
pub(crate) fn take() -> Option<PgConn> {
    KEPT.try_with(|kept| kept.borrow_mut().take())
        .ok()
        .flatten()
}

/// Keeps `conn` for the request's next call; outside a [`scope`] (or with
/// one already kept) it goes back to the pool at once.
pub(crate) fn keep(conn: PgConn) {
    let mut conn = Some(conn);
    let _ = KEPT.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.is_none() {
            *kept = conn.take();
        }
    });
    drop(conn);
}

/// Which requests get a [`scope`]: those without a body.
pub fn suits(method: &actix_web::http::Method) -> bool {
    use actix_web::http::Method;
    method == Method::GET || method == Method::HEAD
}
