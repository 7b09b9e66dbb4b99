//! The language a person's mail is written in: one preference per account
//! of either realm (`admin`: a tenant user, `engineer`: a staff member).
//! By default it follows the language they use the portal in — set at
//! every sign-in and when they switch language while signed in; a choice
//! on their account page ([`choose`]) holds until they choose "the
//! language I use" again. Without either, English.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::{i18n::Lang, schema::language_preferences as lp};

/// The realm of a tenant user, as `second_factors` names it too.
pub const ADMIN: &str = "admin";
/// The realm of a provider staff member.
pub const ENGINEER: &str = "engineer";

/// Records `lang`, the language in use, as the account's mail language —
/// unless the person chose one on their account page.
pub fn set(
    conn: &mut PgConnection,
    realm: &str,
    account: Uuid,
    lang: Lang,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    // The first language recorded, or nothing when there is a row; then
    // the row follows `lang` unless its language was chosen.
    diesel::insert_into(lp::table)
        .values((
            lp::realm.eq(realm),
            lp::account_id.eq(account),
            lp::lang.eq(lang.code()),
            lp::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    diesel::update(
        lp::table
            .find((realm, account))
            .filter(lp::chosen.eq(false)),
    )
    .set((lp::lang.eq(lang.code()), lp::updated_at.eq(now)))
    .execute(conn)?;
    Ok(())
}

/// The person's own choice: `Some(lang)` holds their mail in `lang`
/// whatever language they use the portal in; `None` makes it follow the
/// language in use again (from the next sign-in or switch on).
pub fn choose(
    conn: &mut PgConnection,
    realm: &str,
    account: Uuid,
    lang: Option<Lang>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let Some(lang) = lang else {
        diesel::update(lp::table.find((realm, account)))
            .set((lp::chosen.eq(false), lp::updated_at.eq(now)))
            .execute(conn)?;
        return Ok(());
    };
    diesel::insert_into(lp::table)
        .values((
            lp::realm.eq(realm),
            lp::account_id.eq(account),
            lp::lang.eq(lang.code()),
            lp::updated_at.eq(now),
            lp::chosen.eq(true),
        ))
        .on_conflict((lp::realm, lp::account_id))
        .do_update()
        .set((
            lp::lang.eq(lang.code()),
            lp::chosen.eq(true),
            lp::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The language the person chose on their account page, if they did.
pub fn chosen(conn: &mut PgConnection, realm: &str, account: Uuid) -> QueryResult<Option<Lang>> {
    let code: Option<String> = lp::table
        .find((realm, account))
        .filter(lp::chosen)
        .select(lp::lang)
        .first(conn)
        .optional()?;
    Ok(code.as_deref().and_then(Lang::from_code))
}

/// The account's mail language (English when it never chose one).
pub fn of(conn: &mut PgConnection, realm: &str, account: Uuid) -> QueryResult<Lang> {
    let code: Option<String> = lp::table
        .find((realm, account))
        .select(lp::lang)
        .first(conn)
        .optional()?;
    Ok(from_stored(code.as_deref()))
}

/// The language of a stored code (English for none, or one no longer
/// offered).
pub fn from_stored(code: Option<&str>) -> Lang {
    code.and_then(Lang::from_code).unwrap_or(Lang::En)
}
