//! The mail to a tenant's global administrators when one of their webhook
//! endpoints is disabled after failing for the whole failure period: each
//! in their language, with no link (not even the endpoint's URL).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::endpoints::Endpoint;
use crate::{
    i18n::Tr,
    identity::TenantId,
    notify::{self, Mail, defang, language, notice::Notice},
    tenants::{self, Role},
};

/// One mail per global administrator of the tenant.
pub(super) fn disabled(
    conn: &mut PgConnection,
    tenant: TenantId,
    e: &Endpoint,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Mail>> {
    let admins: Vec<_> = tenants::lockbox_people(conn, tenant)?
        .into_iter()
        .filter(|u| u.role == Role::GlobalAdmin)
        .collect();
    admins
        .into_iter()
        .map(|admin| {
            let tr: Tr = notify::reader(conn, language::ADMIN, admin.id.0)?;
            let org = defang(&admin.tenant_name);
            let notice = Notice {
                lang: tr.lang.code(),
                heading: tr.t("mail-webhook-disabled-heading"),
                before: vec![tr.t("mail-webhook-disabled-body")],
                facts: vec![
                    (tr.t("mail-fact-organization"), org.clone()),
                    (tr.t("mail-fact-webhook-endpoint"), e.id.to_string()),
                    (tr.t("mail-fact-failing-since"), tr.fmt_time(since)),
                    (tr.t("mail-fact-disabled-at"), tr.fmt_time(now)),
                ],
                warning: None,
                after: vec![tr.t("mail-webhook-disabled-next"), tr.t("mail-no-links")],
            };
            let (text, html) = notice.render()?;
            Ok(Mail {
                kind: "webhook_disabled",
                to: admin.email,
                subject: tr.t1("mail-webhook-disabled-subject", "tenant", &org),
                text,
                html,
            })
        })
        .collect()
}
