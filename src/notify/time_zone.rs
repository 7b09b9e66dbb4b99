//! The time zone a person reads times in, on every page and in every mail
//! (issue 22): one preference per account of either realm (`admin`: a
//! tenant user, `engineer`: a staff member), as [`super::language`]. A
//! tenant user without a choice follows their organisation's default
//! (`tenants.time_zone`, set by its global administrators); a staff
//! member without one reads UTC. The rule itself is
//! [`crate::i18n::reader_zone`]; here only the reading and writing.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Nullable, Text, Uuid as SqlUuid},
};
use uuid::Uuid;

use crate::{
    i18n::{Tz, reader_zone},
    schema::time_zone_preferences as tz,
};

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Nullable<Text>)]
    chosen: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    default_zone: Option<String>,
    /// The account's mail language code ([`super::language`]), read in
    /// the same statement for [`super::reader`].
    #[diesel(sql_type = Nullable<Text>)]
    lang: Option<String>,
    /// The account's mail address, for [`addressed`].
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
}

/// The account's zone ([`of`]) and its stored mail language code, in one
/// round trip: a mail's reader costs one statement per recipient.
pub fn with_language(
    conn: &mut PgConnection,
    realm: &str,
    account: Uuid,
) -> QueryResult<(Tz, Option<String>)> {
    addressed(conn, realm, account).map(|(zone, lang, _)| (zone, lang))
}

/// [`with_language`] and the account's mail address (`None`: no such
/// account), in the same round trip: a mail to one person whose address
/// is not at hand yet costs one statement, not two.
pub fn addressed(
    conn: &mut PgConnection,
    realm: &str,
    account: Uuid,
) -> QueryResult<(Tz, Option<String>, Option<String>)> {
    Ok(
        stored(conn, realm, account)?.map_or((Tz::UTC, None, None), |s| {
            (
                reader_zone(s.chosen.as_deref(), s.default_zone.as_deref()),
                s.lang,
                s.email,
            )
        }),
    )
}

/// The account's zone: its choice, else (a tenant user) its organisation's
/// default, else UTC. One round trip.
pub fn of(conn: &mut PgConnection, realm: &str, account: Uuid) -> QueryResult<Tz> {
    Ok(stored(conn, realm, account)?.map_or(Tz::UTC, |s| {
        reader_zone(s.chosen.as_deref(), s.default_zone.as_deref())
    }))
}

/// The account's choice, its organisation's default, its mail language
/// and its address, as stored.
fn stored(conn: &mut PgConnection, realm: &str, account: Uuid) -> QueryResult<Option<Stored>> {
    crate::db::prepared(
        diesel::sql_query(
            "SELECT (SELECT zone FROM time_zone_preferences \
                     WHERE realm = $1 AND account_id = $2) AS chosen, \
                    (SELECT t.time_zone FROM tenant_users u JOIN tenants t ON t.id = u.tenant_id \
                     WHERE $1 = 'admin' AND u.id = $2) AS default_zone, \
                    (SELECT lang FROM language_preferences \
                     WHERE realm = $1 AND account_id = $2) AS lang, \
                    COALESCE((SELECT email FROM provider_staff \
                              WHERE $1 = 'engineer' AND id = $2), \
                             (SELECT email FROM tenant_users \
                              WHERE $1 = 'admin' AND id = $2)) AS email",
        )
        .bind::<Text, _>(realm)
        .bind::<SqlUuid, _>(account),
    )
    .get_result(conn)
    .optional()
}

/// The zone the account reads when it chose none: its organisation's
/// default (a tenant user), else UTC.
pub fn default_of(conn: &mut PgConnection, realm: &str, account: Uuid) -> QueryResult<Tz> {
    Ok(stored(conn, realm, account)?
        .map_or(Tz::UTC, |s| reader_zone(None, s.default_zone.as_deref())))
}

/// The zone the person chose on their account page, if they did.
pub fn chosen(conn: &mut PgConnection, realm: &str, account: Uuid) -> QueryResult<Option<Tz>> {
    let zone: Option<Option<String>> = tz::table
        .find((realm, account))
        .select(tz::zone)
        .first(conn)
        .optional()?;
    Ok(zone.flatten().and_then(|n| n.parse().ok()))
}

/// The person's choice: `Some(zone)` holds their times in `zone`; `None`
/// makes them follow their organisation's default again.
pub fn choose(
    conn: &mut PgConnection,
    realm: &str,
    account: Uuid,
    zone: Option<Tz>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let name = zone.map(|z| z.name());
    diesel::insert_into(tz::table)
        .values((
            tz::realm.eq(realm),
            tz::account_id.eq(account),
            tz::zone.eq(name),
            tz::updated_at.eq(now),
        ))
        .on_conflict((tz::realm, tz::account_id))
        .do_update()
        .set((tz::zone.eq(name), tz::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}
