//! lockbox: a self-hostable Customer Lockbox.
//!
//! Layers, from the outside in:
//! - [`cli`] parses the command line and drives everything else;
//! - [`startup`] builds the two HTTP listeners (admin center, engineer portal)
//!   around one database pool; tests use it too, on port 0;
//! - [`web`] holds the handlers and pages of each portal, and the cross-cutting
//!   middleware (security headers, same-origin check, CSRF, language);
//! - domain modules ([`tenants`], [`staff`], [`auth`]) hold the rules and the
//!   diesel queries that serve them; they know nothing about HTTP;
//! - [`db`] owns the pool, the embedded migrations and the embedded PostgreSQL
//!   default.
//!
//! Time is a dependency: domain code takes `now` from a [`clock::Clock`].

pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod content;
pub mod db;
pub mod digest;
pub mod i18n;
pub mod identity;
pub mod notify;
pub mod requests;
pub mod schema;
pub mod staff;
pub mod startup;
pub mod tenants;
pub mod web;
