//! Service requests (support tickets, SPEC §12): a customer opens one in the
//! admin center, provider staff answer it in the engineer portal, and a
//! lockbox request cites an open one of its tenant.
//!
//! - this file: what people type (parsed once), the read models and errors;
//! - [`queries`]: the tenant's list, the provider's queue, one ticket;
//! - [`commands`]: opening, messages and closing (which cancels the
//!   requests still pending under the ticket), each audited;
//! - [`mails`]: the opener told of replies, staff of critical tickets, the
//!   engineer of a request the closing cancelled.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{FieldErrors, Workload, caller::Caller};
use crate::identity::{TenantId, UserId};

pub mod commands;
pub mod mails;
pub mod queries;

/// How badly the customer is affected: A critical … C minimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    A,
    B,
    C,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::A, Severity::B, Severity::C];

    pub fn as_db(self) -> &'static str {
        match self {
            Severity::A => "A",
            Severity::B => "B",
            Severity::C => "C",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        Severity::ALL.into_iter().find(|s| s.as_db() == value)
    }

    /// The translation key of its name ("A – critical").
    pub fn label_key(self) -> &'static str {
        match self {
            Severity::A => "severity-a",
            Severity::B => "severity-b",
            Severity::C => "severity-c",
        }
    }
}

/// A ticket number as the deployment hands them out: `SR-` then the date
/// and a sequence value, 13 or more digits (`SR-2026112900042`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketNumber(String);

impl TicketNumber {
    pub fn parse(raw: &str) -> Option<Self> {
        let digits = raw.trim().strip_prefix("SR-")?;
        (digits.len() >= 13 && digits.len() <= 30 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(format!("SR-{digits}")))
    }

    /// The number of the `seq`th ticket, opened on `at`'s (UTC) day.
    pub fn make(at: DateTime<Utc>, seq: i64) -> Self {
        Self(format!("SR-{}{seq:05}", at.format("%Y%m%d")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text of `min..=max` characters, trimmed, no control characters but line
/// breaks and tabs; the error keys say which field.
fn bounded(
    raw: &str,
    max: usize,
    empty: &'static str,
    long: &'static str,
) -> Result<String, &'static str> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(empty);
    }
    if v.chars().count() > max
        || v.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(long);
    }
    Ok(v.to_owned())
}

/// A message of a ticket's conversation: 1–4,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        bounded(
            raw,
            4000,
            "error-message-required",
            "error-message-too-long",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated new ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub title: String,
    pub description: String,
    pub workload: Workload,
    pub severity: Severity,
}

/// The new-ticket form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewTicketInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub workload: String,
    #[serde(default)]
    pub severity: String,
}

impl NewTicketInput {
    /// Parses every field, collecting every error at once.
    pub fn parse(&self) -> Result<NewTicket, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = bounded(
            &self.title,
            200,
            "error-title-required",
            "error-title-too-long",
        )
        .map_err(|e| errors.insert("title", e))
        .ok();
        let description = bounded(
            &self.description,
            4000,
            "error-description-required",
            "error-description-too-long",
        )
        .map_err(|e| errors.insert("description", e))
        .ok();
        let workload = Workload::from_db(self.workload.trim());
        if workload.is_none() {
            errors.insert("workload", "error-workload-choose");
        }
        let severity = Severity::from_db(self.severity.trim());
        if severity.is_none() {
            errors.insert("severity", "error-severity-choose");
        }
        match (title, description, workload, severity) {
            (Some(title), Some(description), Some(workload), Some(severity)) => Ok(NewTicket {
                title,
                description,
                workload,
                severity,
            }),
            _ => Err(errors),
        }
    }
}

/// A ticket as read.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub number: String,
    pub title: String,
    pub description: String,
    pub workload: Workload,
    pub severity: Severity,
    pub open: bool,
    pub opened_by: UserId,
    pub opener_name: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by_name: Option<String>,
}

/// One message of a ticket's conversation.
#[derive(Debug, Clone)]
pub struct Message {
    pub at: DateTime<Utc>,
    /// `customer` or `staff`.
    pub author_kind: String,
    pub author_name: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// Not there, or not the caller's to see (another tenant's included).
    #[error("no such ticket")]
    NotFound,
    /// Already closed: no more messages, no second closing.
    #[error("the ticket is closed")]
    Closed,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Which tickets a caller sees: staff every one, a customer's global
/// administrators and approvers their tenant's, a plain user their own.
#[derive(Debug, Clone, Copy)]
pub enum TicketScope {
    Provider,
    Tenant(TenantId),
    Opener(TenantId, UserId),
}

impl TicketScope {
    pub fn of(caller: &Caller) -> Self {
        match caller {
            Caller::Staff { .. } => TicketScope::Provider,
            Caller::Customer { tenant, role, .. } if role.can_use_lockbox() => {
                TicketScope::Tenant(*tenant)
            }
            Caller::Customer { tenant, id, .. } => TicketScope::Opener(*tenant, *id),
        }
    }
}

/// A position in a ticket list: (open first) rank, time, id; keyset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketCursor {
    pub rank: i32,
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl TicketCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.rank, self.at.timestamp_micros(), self.id)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        use chrono::Datelike;
        let mut parts = raw.splitn(3, '.');
        let rank = parts.next()?.parse().ok()?;
        let at = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        let id = Uuid::parse_str(parts.next()?).ok()?;
        (1..=9999)
            .contains(&at.year())
            .then_some(Self { rank, at, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_carry_the_day_and_the_sequence() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(TicketNumber::make(at, 42).as_str(), "SR-2026112900042");
        assert_eq!(
            TicketNumber::make(at, 123_456).as_str(),
            "SR-20261129123456"
        );
        assert!(TicketNumber::parse("SR-2026112900042").is_some());
        for bad in ["SR-4711", "sr-2026112900042", "SR-20261129000x2", "", "SR-"] {
            assert!(TicketNumber::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_ticket_form_reports_every_bad_field() {
        let errors = NewTicketInput::default().parse().expect_err("empty");
        assert_eq!(errors.len(), 4, "{errors:?}");
        let ok = NewTicketInput {
            title: " Mail stuck ".into(),
            description: "Since Monday.".into(),
            workload: "exchange".into(),
            severity: "A".into(),
        }
        .parse()
        .expect("valid");
        assert_eq!(ok.title, "Mail stuck");
        assert_eq!(
            MessageBody::parse(&"m".repeat(4001)),
            Err("error-message-too-long")
        );
    }

    #[test]
    fn cursors_round_trip() {
        let c = TicketCursor {
            rank: 1,
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid"),
            id: Uuid::from_u128(7),
        };
        assert_eq!(TicketCursor::decode(&c.encode()), Some(c));
        assert_eq!(TicketCursor::decode("1.x.y"), None);
    }
}
