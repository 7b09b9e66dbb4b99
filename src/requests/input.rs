//! What people type about a request, parsed once at the edge: the
//! workload, the service request number, the duration, the justification,
//! a decision comment, and the new-request form as a whole.

use std::collections::BTreeMap;

use chrono::Duration;

use super::machine::Policy;
use crate::identity::TenantId;

/// The customer services a request can be for (those the seed names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    Exchange,
    SharePoint,
    OneDrive,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::Exchange, Workload::SharePoint, Workload::OneDrive];

    pub fn as_db(self) -> &'static str {
        match self {
            Workload::Exchange => "exchange",
            Workload::SharePoint => "sharepoint",
            Workload::OneDrive => "onedrive",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        Workload::ALL.into_iter().find(|w| w.as_db() == value)
    }

    /// The product name; a proper name, the same in every language.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Exchange => "Exchange Online",
            Workload::SharePoint => "SharePoint Online",
            Workload::OneDrive => "OneDrive for Business",
        }
    }
}

/// The support ticket the request is for: 1–64 characters, trimmed, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequestNumber(String);

impl ServiceRequestNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let v = raw.trim();
        if v.is_empty() {
            return Err("error-sr-required");
        }
        if v.chars().count() > 64 || v.chars().any(char::is_control) {
            return Err("error-sr-too-long");
        }
        Ok(Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why access is needed: 1–2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Justification(String);

impl Justification {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let v = raw.trim();
        if v.is_empty() {
            return Err("error-justification-required");
        }
        if v.chars().count() > 2000 || has_stray_control(v) {
            return Err("error-justification-too-long");
        }
        Ok(Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The requested access duration: whole minutes, 1 … the policy's maximum
/// window (4 hours by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessDuration(i32);

impl AccessDuration {
    pub fn parse(raw: &str, policy: &Policy) -> Result<Self, &'static str> {
        let minutes: i64 = raw.trim().parse().map_err(|_| "error-duration-invalid")?;
        if minutes < 1 || minutes > policy.max_window.num_minutes() {
            return Err("error-duration-range");
        }
        i32::try_from(minutes)
            .map(Self)
            .map_err(|_| "error-duration-range")
    }

    pub fn minutes(self) -> i32 {
        self.0
    }

    pub fn as_duration(self) -> Duration {
        Duration::minutes(i64::from(self.0))
    }
}

/// A decision comment: optional, at most 1,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comment(Option<String>);

impl Comment {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let v = raw.trim();
        if v.chars().count() > 1000 || has_stray_control(v) {
            return Err("error-comment-too-long");
        }
        Ok(Self((!v.is_empty()).then(|| v.to_owned())))
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Control characters other than line breaks and tabs (a NUL cannot even be
/// stored).
fn has_stray_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// "4 h", "1 h 30 min", "15 min".
pub fn format_minutes(minutes: i32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Field-by-field errors of a form (translation keys), empty when valid.
pub type FieldErrors = BTreeMap<&'static str, &'static str>;

/// A validated new request.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub tenant_id: TenantId,
    pub service_request: ServiceRequestNumber,
    pub workload: Workload,
    pub duration: AccessDuration,
    pub justification: Justification,
}

/// The new-request form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewRequestInput {
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub service_request: String,
    #[serde(default)]
    pub workload: String,
    #[serde(default)]
    pub duration: String,
    #[serde(default)]
    pub justification: String,
}

impl NewRequestInput {
    /// Parses every field, collecting every error at once.
    pub fn parse(&self, policy: &Policy) -> Result<NewRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let tenant = TenantId::parse(&self.tenant);
        if tenant.is_none() {
            errors.insert("tenant", "error-tenant-choose");
        }
        let sr = ServiceRequestNumber::parse(&self.service_request)
            .map_err(|e| errors.insert("service_request", e))
            .ok();
        let workload = Workload::from_db(self.workload.trim());
        if workload.is_none() {
            errors.insert("workload", "error-workload-choose");
        }
        let duration = AccessDuration::parse(&self.duration, policy)
            .map_err(|e| errors.insert("duration", e))
            .ok();
        let justification = Justification::parse(&self.justification)
            .map_err(|e| errors.insert("justification", e))
            .ok();
        match (tenant, sr, workload, duration, justification) {
            (
                Some(tenant_id),
                Some(service_request),
                Some(workload),
                Some(duration),
                Some(justification),
            ) if errors.is_empty() => Ok(NewRequest {
                tenant_id,
                service_request,
                workload,
                duration,
                justification,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_request_numbers_are_1_to_64_characters() {
        assert!(ServiceRequestNumber::parse(&"x".repeat(64)).is_ok());
        assert_eq!(
            ServiceRequestNumber::parse(&"x".repeat(65)),
            Err("error-sr-too-long")
        );
        assert_eq!(ServiceRequestNumber::parse("  "), Err("error-sr-required"));
    }

    #[test]
    fn durations_are_1_minute_to_the_maximum_window() {
        let p = Policy::default();
        assert_eq!(
            AccessDuration::parse("1", &p).map(AccessDuration::minutes),
            Ok(1)
        );
        assert_eq!(
            AccessDuration::parse("240", &p).map(AccessDuration::minutes),
            Ok(240)
        );
        assert_eq!(AccessDuration::parse("0", &p), Err("error-duration-range"));
        assert_eq!(
            AccessDuration::parse("241", &p),
            Err("error-duration-range")
        );
        assert_eq!(
            AccessDuration::parse("four", &p),
            Err("error-duration-invalid")
        );
        let long = Policy {
            max_window: Duration::hours(8),
            ..p
        };
        assert!(AccessDuration::parse("480", &long).is_ok());
    }

    #[test]
    fn justifications_and_comments_are_bounded() {
        assert!(Justification::parse(&"j".repeat(2000)).is_ok());
        assert_eq!(
            Justification::parse(&"j".repeat(2001)),
            Err("error-justification-too-long")
        );
        assert_eq!(Comment::parse("  ").map(|c| c.0), Ok(None));
        assert!(Comment::parse(&"c".repeat(1000)).is_ok());
        assert_eq!(
            Comment::parse(&"c".repeat(1001)),
            Err("error-comment-too-long")
        );
    }

    #[test]
    fn a_form_reports_every_bad_field_at_once() {
        let input = NewRequestInput {
            tenant: "not-a-uuid".into(),
            service_request: String::new(),
            workload: "teams".into(),
            duration: "0".into(),
            justification: String::new(),
        };
        let errors = input.parse(&Policy::default()).expect_err("invalid");
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn minutes_read_naturally() {
        assert_eq!(format_minutes(240), "4 h");
        assert_eq!(format_minutes(90), "1 h 30 min");
        assert_eq!(format_minutes(15), "15 min");
    }
}
