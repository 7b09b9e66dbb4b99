//! Access requests: what an engineer asks for, who may see and decide it,
//! and the state machine that decides it.
//!
//! - [`input`]: what people type, parsed once at the edge;
//! - [`machine`]: the pure state machine (the time rule in Rust);
//! - [`model`]: read models, filters, cursors and errors;
//! - [`queries`]: reads (the time rule in SQL);
//! - [`commands`]: filing, decisions under the row lock, the sweeper;
//! - [`effects`]: what a transition writes besides its state (timeline,
//!   audit record, outbox mail);
//! - [`mails`]: the lifecycle's mails;
//! - [`caller`] and [`use_cases`]: who acts, and the functions every
//!   interface calls;
//! - [`tickets`]: the service requests (support tickets) a request cites;
//! - [`information`]: an approver's questions and the engineer's answers;
//! - [`home`]: what the two portals' home pages show of requests;
//! - [`webhook_events`]: the lifecycle's webhook events.

pub mod caller;
pub mod commands;
pub mod effects;
pub mod fingerprint;
pub mod home;
pub mod information;
pub mod input;
pub mod machine;
pub mod mails;
pub mod model;
pub mod queries;
pub mod reminders;
pub mod tickets;
pub mod use_cases;
pub mod webhook_events;

pub use caller::{Action, Caller, Via};
pub use input::*;
pub use machine::{Actor, Event, Policy, Refusal, Snapshot, Status, Tally};
pub use model::{
    AccessRequest, Approval, Cursor, Refused, RequestError, Scope, TenantFilter, TimelineEntry,
};
pub use use_cases::{Offers, decide_as, offers, visible};
