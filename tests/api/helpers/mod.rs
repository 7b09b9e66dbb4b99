//! The test harness: the real application on random ports, a fresh
//! PostgreSQL database per test (cloned from a template migrated once per
//! run), a settable clock, and cookie-aware HTTP clients. One file per
//! concern:
//! - [`db`]: the per-test databases;
//! - [`api`]: API tokens and calls with them;
//! - [`app`]: the running application, its accounts, clients and pages;
//! - [`html`]: reading pages (CSRF tokens, texts, redirects);
//! - [`requests`]: requests filed, arranged and decided;
//! - [`mail`]: the SMTP side;
//! - [`content`]: access sessions and content;
//! - [`tickets`]: service requests;
//! - [`two_factor`]: authenticators, codes and the second step;
//! - [`webhooks`]: a webhook receiver and the worker's delivery pass;
//! - [`scale`]: `lockbox serve` processes on one database;
//! - [`statements`]: the statements a test's database was sent;
//! - [`cluster`]: private PostgreSQL clusters (a primary with a synchronous
//!   standby; a single server a test stops and starts).

pub mod api;
pub mod app;
pub mod cluster;
pub mod content;
pub mod db;
pub mod html;
pub mod mail;
pub mod metrics;
pub mod requests;
pub mod scale;
pub mod statements;
pub mod tickets;
pub mod two_factor;
pub mod webhooks;

pub use api::*;
pub use app::*;
pub use db::*;
pub use html::*;
pub use mail::*;
pub use metrics::{sample, value};
pub use requests::*;
pub use two_factor::*;
