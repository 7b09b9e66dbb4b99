//! Provider staff: support engineers file access requests, support managers
//! give the first approval. Staff never see or change tenant roles.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    identity::{DisplayName, Email, StaffId},
    schema::provider_staff,
    tenants::lower,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StaffRole {
    Engineer,
    Manager,
}

impl StaffRole {
    pub fn as_db(self) -> &'static str {
        match self {
            StaffRole::Engineer => "engineer",
            StaffRole::Manager => "manager",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "engineer" => Some(StaffRole::Engineer),
            "manager" => Some(StaffRole::Manager),
            _ => None,
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            StaffRole::Engineer => "role-engineer",
            StaffRole::Manager => "role-manager",
        }
    }
}

/// A staff member's row without the password hash, read into a
/// [`StaffMember`], e.g. beside an API token or a session. Only sign-in
/// selects the hash, beside it ([`find_for_sign_in`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = provider_staff)]
pub struct StaffRow {
    id: StaffId,
    email: String,
    display_name: String,
    role: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StaffMember {
    pub id: StaffId,
    pub email: String,
    pub display_name: String,
    pub role: StaffRole,
}

impl From<StaffRow> for StaffMember {
    fn from(row: StaffRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            // Constrained in the database; default to the weaker role.
            role: StaffRole::from_db(&row.role).unwrap_or(StaffRole::Engineer),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{0} already has a provider staff account")]
    Duplicate(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

pub fn create_staff(
    conn: &mut PgConnection,
    email: &Email,
    display_name: &DisplayName,
    password_hash: &str,
    role: StaffRole,
    now: DateTime<Utc>,
) -> Result<StaffId, StaffError> {
    diesel::insert_into(provider_staff::table)
        .values((
            provider_staff::id.eq(StaffId::new_random()),
            provider_staff::email.eq(email.as_str()),
            provider_staff::display_name.eq(display_name.as_str()),
            provider_staff::password_hash.eq(password_hash),
            provider_staff::role.eq(role.as_db()),
            provider_staff::created_at.eq(now),
        ))
        .returning(provider_staff::id)
        .get_result(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => StaffError::Duplicate(email.to_string()),
            other => other.into(),
        })
}

/// The staff member whose e-mail address is `email` as typed: trimmed,
/// matched without case.
#[diesel::dsl::auto_type(no_type_alias)]
fn typed(email: &str) -> _ {
    let email: String = email.trim().to_lowercase();
    lower(provider_staff::email).eq(email)
}

/// The staff member and their password hash, for sign-in.
pub fn find_for_sign_in(
    conn: &mut PgConnection,
    email: &str,
) -> QueryResult<Option<(StaffMember, String)>> {
    let row: Option<(StaffRow, String)> = provider_staff::table
        .filter(typed(email))
        .select((StaffRow::as_select(), provider_staff::password_hash))
        .first(conn)
        .optional()?;
    Ok(row.map(|(r, hash)| (StaffMember::from(r), hash)))
}

/// The staff member with the e-mail address `email` (trimmed, without
/// case), without the password hash: the command line's lookups.
pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<StaffMember>> {
    let row: Option<StaffRow> = provider_staff::table
        .filter(typed(email))
        .select(StaffRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(StaffMember::from))
}

pub fn find(conn: &mut PgConnection, id: StaffId) -> QueryResult<Option<StaffMember>> {
    provider_staff::table
        .find(id)
        .select(StaffRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(StaffMember::from))
}

/// Every staff member of `role` (e.g. the managers, who are told of new
/// requests), by e-mail address.
pub fn with_role(conn: &mut PgConnection, role: StaffRole) -> QueryResult<Vec<StaffMember>> {
    Ok(provider_staff::table
        .filter(provider_staff::role.eq(role.as_db()))
        .order(provider_staff::email)
        .select(StaffRow::as_select())
        .load(conn)?
        .into_iter()
        .map(StaffMember::from)
        .collect())
}

/// A live session with the staff member it is signed in as and the zone
/// they chose under `realm`: one statement, as the engineer portal reads
/// it on every signed-in request. The member is `None` when the session
/// has none, or the account is gone.
pub fn find_session_member(
    conn: &mut PgConnection,
    session: &crate::db::sessions::Lookup<'_>,
    realm: &str,
) -> QueryResult<Option<crate::db::sessions::WithPrincipal<MemberWithZone>>> {
    use crate::{
        db::sessions::STORED, schema::time_zone_preferences as tzp, schema::web_sessions as ws,
    };
    type Found = (
        crate::db::sessions::Stored,
        Option<StaffRow>,
        Option<String>,
    );
    let found: Option<Found> = ws::table
        .left_join(provider_staff::table.on(provider_staff::id.nullable().eq(ws::principal_id)))
        .left_join(
            tzp::table.on(tzp::account_id
                .nullable()
                .eq(ws::principal_id)
                .and(tzp::realm.eq(realm))),
        )
        .filter(session.live())
        .select((
            STORED,
            <StaffRow as Selectable<diesel::pg::Pg>>::construct_selection().nullable(),
            tzp::zone.nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(
        found
            .map(|(stored, row, chosen)| (stored, row.map(|row| (StaffMember::from(row), chosen)))),
    )
}

/// A staff member with the zone they chose (if any).
pub type MemberWithZone = (StaffMember, Option<String>);
