//! Input types shared by every kind of account: parsed once at the edge so
//! the rest of the code can trust them.

use std::fmt;

/// Bidirectional formatting characters (embeddings, overrides, isolates):
/// they make text display in another order than it is stored, so a name
/// could read as someone else's ("Trojan Source"). No name or address
/// needs them; right-to-left letters and marks remain welcome.
pub(crate) fn has_bidi_control(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

/// An e-mail address, trimmed and lower-cased; at most 254 characters with
/// exactly one `@` and something on both sides of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim().to_lowercase();
        let mut parts = value.split('@');
        let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if value.is_empty() {
            return Err("error-email-required");
        }
        if value.len() > 254
            || parts.next().is_some()
            || local.is_empty()
            || domain.is_empty()
            || value.chars().any(|c| c.is_whitespace() || c.is_control())
            || has_bidi_control(&value)
        {
            return Err("error-email-invalid");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name: 1–100 characters after trimming, no control
/// or bidirectional formatting characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("error-display-name-required");
        }
        if value.chars().count() > 100
            || value.chars().any(char::is_control)
            || has_bidi_control(value)
        {
            return Err("error-display-name-invalid");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Declares a newtype over a UUID that diesel reads and writes as the SQL
/// `uuid` it wraps, so one kind of id can never be passed for another.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            pub fn parse(raw: &str) -> Option<Self> {
                uuid::Uuid::parse_str(raw.trim()).ok().map(Self)
            }

            pub fn as_uuid(self) -> uuid::Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <uuid::Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <uuid::Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(bytes).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A customer organisation.
    TenantId
);
uuid_id!(
    /// A user of a tenant (admin center).
    UserId
);
uuid_id!(
    /// A provider staff member (engineer or manager).
    StaffId
);
uuid_id!(
    /// An access request.
    RequestId
);

impl StaffId {
    /// The id customers see instead of a staff member's name or address:
    /// `PS-` and the whole id in upper-case hex, so no two staff members
    /// can share one (a prefix could collide).
    pub fn public_id(self) -> String {
        let mut digits = [0u8; 32];
        format!("PS-{}", self.0.simple().encode_upper(&mut digits))
    }
}

/// A new password: 12–128 characters (OWASP's guidance for passwords
/// without a second factor is length, not composition rules).
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let n = raw.chars().count();
        if n < 12 {
            return Err("error-password-too-short");
        }
        if n > 128 {
            return Err("error-password-too-long");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Contoso.Example ").map(|e| e.0),
            Ok("ada@contoso.example".into())
        );
        assert_eq!(Email::parse(""), Err("error-email-required"));
        for bad in ["ada", "@x", "a@", "a@b@c", "a b@c"] {
            assert_eq!(Email::parse(bad), Err("error-email-invalid"), "{bad}");
        }
        assert!(Email::parse(&format!("{}@x.example", "a".repeat(250))).is_err());
    }

    #[test]
    fn display_names_are_bounded() {
        assert!(DisplayName::parse(" Ada ").is_ok());
        assert_eq!(DisplayName::parse("  "), Err("error-display-name-required"));
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
        assert!(DisplayName::parse("Provider Operator\u{202e}").is_err());
        assert!(DisplayName::parse("\u{2067}Ada\u{2069}").is_err());
        assert!(
            DisplayName::parse("אדה לאבלייס").is_ok(),
            "right-to-left names"
        );
        assert!(Email::parse("ada\u{202e}@x.example").is_err());
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(NewPassword::parse("elevenchars").is_err());
        assert!(NewPassword::parse("twelve chars").is_ok());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert!(!format!("{:?}", NewPassword::parse("twelve chars")).contains("twelve"));
    }

    #[test]
    fn staff_public_ids_carry_the_whole_id() {
        let a = StaffId(uuid::Uuid::from_u128(
            0x1234_5678_0000_0000_0000_0000_0000_0001,
        ));
        let b = StaffId(uuid::Uuid::from_u128(
            0x1234_5678_0000_0000_0000_0000_0000_0002,
        ));
        assert_ne!(
            a.public_id(),
            b.public_id(),
            "same first 32 bits, different ids"
        );
        assert_eq!(a.public_id(), "PS-12345678000000000000000000000001");
    }
}
