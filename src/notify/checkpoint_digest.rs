//! The daily digest: each tenant's global administrators receive its newest
//! signed checkpoint in full (signature included, no links), so a copy of
//! the log's head lives outside the provider's database. A tenant whose
//! newest checkpoint was mailed already gets no mail until the chain moves
//! and a new checkpoint is signed.
//!
//! Exactly once per tenant and UTC day with any number of lockbox
//! processes: a `checkpoint_digests` row per tenant and day is inserted
//! with the mails, in one transaction; a second process's insert finds the
//! row and sends nothing.

use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{Mail, defang, outbox, render};
use crate::{
    audit::checkpoint::{self, Checkpoint},
    i18n::Tr,
    identity::TenantId,
    schema::{audit_checkpoints as cp, checkpoint_digests as cd, tenants as ts},
    tenants::{self, Role},
};

struct Fields {
    tenant: String,
    seq: i64,
    at: DateTime<Utc>,
    key_id: String,
    json: String,
}

#[derive(Template)]
#[template(path = "email/checkpoint_digest.txt")]
struct Text<'a> {
    f: &'a Fields,
    tr: Tr,
}

#[derive(Template)]
#[template(path = "email/checkpoint_digest.html")]
struct Html<'a> {
    f: &'a Fields,
    tr: Tr,
}

/// Queues today's digest for every tenant that has a checkpoint not mailed
/// before; returns how many tenants' digests it queued.
pub fn send_due(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    // Per tenant two index probes: a checkpoint, today's digest.
    let tenants: Vec<TenantId> = ts::table
        .filter(diesel::dsl::exists(
            cp::table.filter(cp::tenant_id.eq(ts::id)),
        ))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            cd::table
                .filter(cd::tenant_id.eq(ts::id))
                .filter(cd::sent_on.eq(now.date_naive())),
        )))
        .select(ts::id)
        .load(conn)?;
    let mut sent = 0;
    for tenant in tenants {
        if send_for(conn, tenant, now)? {
            sent += 1;
        }
    }
    Ok(sent)
}

fn send_for(conn: &mut PgConnection, tenant: TenantId, now: DateTime<Utc>) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let Some(newest) = checkpoint::list(conn, tenant, 1)?.pop() else {
            return Ok(false);
        };
        let mailed: Option<i64> = cd::table
            .filter(cd::tenant_id.eq(tenant))
            .select(diesel::dsl::max(cd::seq))
            .first(conn)?;
        if mailed.is_some_and(|seq| seq >= newest.seq) {
            return Ok(false);
        }
        let claimed = diesel::insert_into(cd::table)
            .values((
                cd::tenant_id.eq(tenant),
                cd::sent_on.eq(now.date_naive()),
                cd::seq.eq(newest.seq),
                cd::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if claimed == 0 {
            return Ok(false);
        }
        let mails = mails(conn, tenant, &newest)?;
        outbox::enqueue(conn, mails, None, now)?;
        Ok(true)
    })
}

fn mails(conn: &mut PgConnection, tenant: TenantId, c: &Checkpoint) -> QueryResult<Vec<Mail>> {
    let admins: Vec<_> = tenants::lockbox_people(conn, tenant)?
        .into_iter()
        .filter(|u| u.role == Role::GlobalAdmin)
        .collect();
    let Some(first) = admins.first() else {
        return Ok(Vec::new());
    };
    let f = Fields {
        tenant: defang(&first.tenant_name),
        seq: c.seq,
        at: c.created_at,
        key_id: c.key_id.clone(),
        json: serde_json::to_string_pretty(&c.published()).unwrap_or_default(),
    };
    // Each administrator in their own language and time zone
    // (`super::reader`); the checkpoint itself keeps its UTC time.
    admins
        .into_iter()
        .map(|admin| {
            let tr = super::reader(conn, super::language::ADMIN, admin.id.0)?;
            let seq = f.seq.to_string();
            Ok(Mail {
                kind: "checkpoint_digest",
                to: admin.email,
                subject: tr.t_args(
                    "mail-digest-subject",
                    &[("tenant", &f.tenant), ("seq", &seq)],
                ),
                text: render(&Text { f: &f, tr })?,
                html: render(&Html { f: &f, tr })?,
            })
        })
        .collect()
}
