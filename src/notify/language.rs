//! The language a person's mail is written in: one preference per account
//! of either realm (`admin`: a tenant user, `engineer`: a staff member),
//! set from the language they use the portal in: at every sign-in, and
//! when they switch language while signed in. Without one, English.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, upsert::excluded};
use uuid::Uuid;

use crate::{i18n::Lang, schema::language_preferences as lp};

/// The realm of a tenant user, as `second_factors` names it too.
pub const ADMIN: &str = "admin";
/// The realm of a provider staff member.
pub const ENGINEER: &str = "engineer";

/// Records `lang` as the account's mail language.
pub fn set(
    conn: &mut PgConnection,
    realm: &str,
    account: Uuid,
    lang: Lang,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(lp::table)
        .values((
            lp::realm.eq(realm),
            lp::account_id.eq(account),
            lp::lang.eq(lang.code()),
            lp::updated_at.eq(now),
        ))
        .on_conflict((lp::realm, lp::account_id))
        .do_update()
        .set((lp::lang.eq(excluded(lp::lang)), lp::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// The account's mail language (English when it never chose one).
pub fn of(conn: &mut PgConnection, realm: &str, account: Uuid) -> QueryResult<Lang> {
    let code: Option<String> = lp::table
        .find((realm, account))
        .select(lp::lang)
        .first(conn)
        .optional()?;
    Ok(code
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or(Lang::En))
}
