//! The two database roles lockbox runs as, so that the serving process
//! cannot alter the audit log even if it is compromised (SPEC §9):
//!
//! * the **owner** owns the tables and runs the migrations (and the
//!   operator's commands: `tenant create`, `user create`, `staff create`,
//!   the demo's seeding);
//! * the **runtime role**, [`RUNTIME_ROLE`], holds exactly the privileges
//!   the server needs, granted table by table by the migrations (see
//!   migration 000008): it owns nothing, may not UPDATE, DELETE or
//!   TRUNCATE the audit tables, may not ALTER them (so no DISABLE TRIGGER)
//!   and may not create anything in the schema. The server connects as a
//!   member of it (or as the role itself, given LOGIN).
//!
//! The embedded default creates both roles itself (see [`super::embedded`]);
//! with an external database the operator gives the owner's URL as
//! `LOCKBOX_MIGRATE_DATABASE_URL`. Without it lockbox serves as whoever
//! `DATABASE_URL` names, and [`ServingRole::verdict`] says so at start-up.

use diesel::{
    PgConnection, QueryResult, QueryableByName, RunQueryDsl,
    sql_types::{Bool, Text},
};

/// The group role migrations grant the server's privileges to. Roles are
/// cluster-wide: every lockbox database on a server grants to this one.
pub const RUNTIME_ROLE: &str = "lockbox_app";

/// The role a connection acts as, as far as the audit log's protection
/// goes.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ServingRole {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Bool)]
    pub superuser: bool,
    /// Owns lockbox's tables, or is a member of the role that does.
    #[diesel(sql_type = Bool)]
    pub owner: bool,
    /// Holds [`RUNTIME_ROLE`]'s privileges (is it, or inherits from it).
    #[diesel(sql_type = Bool)]
    pub runtime: bool,
    /// May UPDATE, DELETE or TRUNCATE an audit table, however granted, or
    /// create objects in the schema (a function planted there could run
    /// with the owner's rights later: CVE-2018-1058's pattern).
    #[diesel(sql_type = Bool)]
    pub can_alter_audit: bool,
}

/// What start-up makes of the role it serves as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Least privilege: nothing to say.
    LeastPrivilege,
    /// Works, but a compromised process could rewrite the audit log: a
    /// warning.
    TooPowerful(String),
    /// Could not serve at all (no privileges on lockbox's tables).
    Unusable(String),
}

impl ServingRole {
    /// The role `conn` acts as.
    pub fn of(conn: &mut PgConnection) -> QueryResult<Self> {
        diesel::sql_query(
            "SELECT current_user::text AS name, r.rolsuper AS superuser, \
                    pg_has_role(current_user, c.relowner, 'MEMBER') AS owner, \
                    EXISTS (SELECT 1 FROM pg_roles a WHERE a.rolname = $1 \
                            AND pg_has_role(current_user, a.oid, 'USAGE')) AS runtime, \
                    (has_table_privilege('audit_records', 'UPDATE, DELETE, TRUNCATE') \
                     OR has_table_privilege('audit_chain', 'UPDATE, DELETE, TRUNCATE') \
                     OR has_schema_privilege('public', 'CREATE')) \
                        AS can_alter_audit \
             FROM pg_roles r, pg_class c \
             WHERE r.rolname = current_user AND c.oid = 'audit_records'::regclass",
        )
        .bind::<Text, _>(RUNTIME_ROLE)
        .get_result(conn)
    }

    pub fn verdict(&self) -> Verdict {
        let why = if self.superuser {
            "is a superuser"
        } else if self.owner {
            "owns lockbox's tables"
        } else if self.can_alter_audit {
            "may change audit records or create objects in schema public"
        } else if !self.runtime {
            return Verdict::Unusable(format!(
                "database role {:?} is neither a member of {RUNTIME_ROLE} nor the owner of \
                 lockbox's tables; as the owner run: GRANT {RUNTIME_ROLE} TO \"{}\"",
                self.name,
                self.name.replace('"', "\"\"")
            ));
        } else {
            return Verdict::LeastPrivilege;
        };
        Verdict::TooPowerful(format!(
            "lockbox serves as database role {:?}, which {why}: a compromised lockbox process \
             could rewrite the audit log. Serve as a member of {RUNTIME_ROLE} (DATABASE_URL) \
             and migrate as the owner (LOCKBOX_MIGRATE_DATABASE_URL); see README, Database roles",
            self.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(superuser: bool, owner: bool, runtime: bool, can_alter_audit: bool) -> ServingRole {
        ServingRole {
            name: "web".into(),
            superuser,
            owner,
            runtime,
            can_alter_audit,
        }
    }

    #[test]
    fn only_a_member_of_the_runtime_role_without_more_serves_quietly() {
        assert_eq!(
            role(false, false, true, false).verdict(),
            Verdict::LeastPrivilege
        );
        for too_much in [
            role(true, true, false, true),
            role(false, true, false, true),
            role(false, false, true, true),
        ] {
            assert!(
                matches!(too_much.verdict(), Verdict::TooPowerful(ref w) if w.contains("could rewrite the audit log")),
                "{too_much:?}"
            );
        }
        assert!(matches!(
            role(false, false, false, false).verdict(),
            Verdict::Unusable(ref w) if w.contains("GRANT lockbox_app TO \"web\"")
        ));
    }
}
