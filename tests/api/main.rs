//! Integration tests: the real application over real HTTP on a real
//! PostgreSQL database per test.

mod admin;
mod audit;
mod checkpoints;
mod cli;
mod content;
mod embedded;
mod fuzz;
mod hardening;
mod helpers;
mod information;
mod json_api;
mod mail;
mod mail_outcomes;
mod offline_verify;
mod openapi;
mod paging;
mod plans;
mod quorum;
mod quorum_races;
mod readme;
mod requests;
mod roles;
mod security;
mod sessions;
mod signin;
mod smtp;
mod staff_tokens;
mod step_up;
mod throttling;
mod tickets;
mod time_after_lock;
mod trust;
mod two_factor;
mod webhooks;
mod webhooks_cli;
