//! lockbox: a self-hostable Customer Lockbox.
//!
//! Layers, top to bottom (a module imports only from layers below it; the
//! table and the test that enforces it are in [`layers`]):
//! 0. [`cli`]: the command line, which drives everything else (demo seed
//!    and benchmarks included);
//! 1. [`startup`]: the two HTTP listeners (admin center, engineer portal)
//!    around one database pool, and the background work; tests use it too,
//!    on port 0;
//! 2. [`web`]: handlers and pages of each portal, the request pages both
//!    share, the error type and its pages, cross-cutting middleware;
//! 3. [`content`]: the customer content and its one enforcement point;
//! 4. [`requests`]: the access-request domain: the state machine, the
//!    `Caller` and the use cases every interface calls;
//! 5. [`auth`], [`staff`], [`notify`], [`webhooks`]: sign-in and sessions,
//!    provider staff, mail infrastructure (which knows no domain), signed
//!    webhook events and their delivery;
//! 6. [`tenants`]: customer organisations and their users;
//! 7. [`audit`]: the append-only, chained audit log;
//! 8. [`db`]: the pool, migrations and the embedded PostgreSQL default;
//! 9. leaves: [`clock`], [`config`], [`digest`], [`html`] (how templates
//!    escape), [`i18n`], [`identity`]
//!    (input types and typed ids), [`schema`], [`signing`] (the
//!    deployment's Ed25519 key, which knows no domain), [`tls`] (the TLS
//!    connector the HTTP clients share).
//!
//! Time is a dependency: domain code takes `now` from a [`clock::Clock`],
//! and where a lock decides, reads it only once the lock is held.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod content;
pub mod db;
pub mod digest;
pub mod html;
pub mod i18n;
pub mod identity;
pub mod layers;
pub mod notify;
pub mod requests;
pub mod schema;
pub mod signing;
pub mod staff;
pub mod startup;
pub mod tenants;
pub mod tls;
pub mod web;
pub mod webhooks;
