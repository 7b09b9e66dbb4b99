//! Generated demo content: a few hundred plausible items per tenant
//! (mailboxes with messages, sites with versioned documents, OneDrive
//! files). Deterministic per tenant, no copyrighted text, idempotent.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::identity::TenantId;
use crate::schema::{
    document_versions, documents, drive_file_versions, drive_files, mail_messages, mailboxes, sites,
};

const PEOPLE: &[&str] = &[
    "alex", "bea", "chen", "dana", "eli", "fatima", "goran", "hana",
];
const TOPICS: &[&str] = &[
    "quarterly budget",
    "onboarding plan",
    "vendor contract",
    "travel policy",
    "release schedule",
    "security review",
    "customer feedback",
    "office move",
    "hiring update",
    "training calendar",
    "invoice dispute",
    "roadmap draft",
];
const VERBS: &[&str] = &[
    "Re:",
    "Fwd:",
    "Draft:",
    "Update:",
    "Question about",
    "Notes on",
];
const SENTENCES: &[&str] = &[
    "Please review the attached figures before Thursday.",
    "I moved the meeting to next week because two people are out.",
    "The numbers in section two still need a second check.",
    "Can you confirm the owner of this item?",
    "We agreed to keep the current approach for now.",
    "Mailbox sync looked slow again this morning.",
    "Let us discuss the open points in the weekly call.",
    "I have updated the shared document with the latest comments.",
];

/// A small deterministic generator (no need for cryptographic quality).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Seeds `tenant`'s content unless it already has some. `domain` is the
/// tenant's mail domain (e.g. `contoso.example`); `messages_per_mailbox`
/// sets the size.
pub fn seed_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: &str,
    messages_per_mailbox: u64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let existing: i64 = mailboxes::table
        .filter(mailboxes::tenant_id.eq(tenant))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Ok(());
    }
    let mut g = Gen(tenant.0.as_u128() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    conn.transaction(|conn| {
        for person in PEOPLE {
            let mailbox = Uuid::new_v4();
            let address = format!("{person}@{domain}");
            diesel::insert_into(mailboxes::table)
                .values((
                    mailboxes::id.eq(mailbox),
                    mailboxes::tenant_id.eq(tenant),
                    mailboxes::address.eq(&address),
                    mailboxes::display_name.eq(capitalise(person)),
                ))
                .execute(conn)?;
            let rows: Vec<_> = (0..messages_per_mailbox)
                .map(|_| {
                    let topic = g.pick(TOPICS);
                    let body = format!(
                        "{} {} {}",
                        g.pick(SENTENCES),
                        g.pick(SENTENCES),
                        g.pick(SENTENCES)
                    );
                    (
                        mail_messages::id.eq(Uuid::new_v4()),
                        mail_messages::mailbox_id.eq(mailbox),
                        mail_messages::sender.eq(format!("{}@{domain}", g.pick(PEOPLE))),
                        mail_messages::recipients.eq(address.clone()),
                        mail_messages::subject.eq(format!("{} {topic}", g.pick(VERBS))),
                        mail_messages::received_at
                            .eq(now - Duration::minutes(g.below(60 * 24 * 60) as i64)),
                        mail_messages::size_bytes
                            .eq((body.len() as u64 * 8 + g.below(200_000)) as i32),
                        mail_messages::body.eq(body),
                    )
                })
                .collect();
            diesel::insert_into(mail_messages::table)
                .values(rows)
                .execute(conn)?;
        }
        for (path, title) in [
            ("/sites/finance", "Finance"),
            ("/sites/hr", "Human Resources"),
            ("/sites/projects", "Projects"),
            ("/sites/it", "IT Operations"),
        ] {
            let site = Uuid::new_v4();
            diesel::insert_into(sites::table)
                .values((
                    sites::id.eq(site),
                    sites::tenant_id.eq(tenant),
                    sites::path.eq(path),
                    sites::title.eq(title),
                ))
                .execute(conn)?;
            for i in 0..12 {
                let doc = Uuid::new_v4();
                let topic = g.pick(TOPICS);
                diesel::insert_into(documents::table)
                    .values((
                        documents::id.eq(doc),
                        documents::site_id.eq(site),
                        documents::path.eq(format!(
                            "Shared Documents/{}-{i}.docx",
                            topic.replace(' ', "-")
                        )),
                        documents::title.eq(capitalise(topic)),
                        documents::body.eq(format!("{} {}", g.pick(SENTENCES), g.pick(SENTENCES))),
                    ))
                    .execute(conn)?;
                let versions: Vec<_> = (1..=1 + g.below(4) as i32)
                    .map(|v| {
                        (
                            document_versions::document_id.eq(doc),
                            document_versions::version.eq(v),
                            document_versions::modified_by
                                .eq(format!("{}@{domain}", g.pick(PEOPLE))),
                            document_versions::modified_at
                                .eq(now - Duration::days(40 - i64::from(v) * 5)),
                            document_versions::size_bytes.eq(20_000 + (g.below(80_000) as i32)),
                        )
                    })
                    .collect();
                diesel::insert_into(document_versions::table)
                    .values(versions)
                    .execute(conn)?;
            }
        }
        for person in PEOPLE.iter().take(6) {
            for i in 0..8 {
                let file = Uuid::new_v4();
                diesel::insert_into(drive_files::table)
                    .values((
                        drive_files::id.eq(file),
                        drive_files::tenant_id.eq(tenant),
                        drive_files::owner.eq(format!("{person}@{domain}")),
                        drive_files::path.eq(format!(
                            "Documents/{}-{i}.xlsx",
                            g.pick(TOPICS).replace(' ', "-")
                        )),
                    ))
                    .execute(conn)?;
                let versions: Vec<_> = (1..=1 + g.below(3) as i32)
                    .map(|v| {
                        (
                            drive_file_versions::file_id.eq(file),
                            drive_file_versions::version.eq(v),
                            drive_file_versions::modified_at
                                .eq(now - Duration::days(30 - i64::from(v) * 4)),
                            drive_file_versions::size_bytes.eq(10_000 + (g.below(500_000) as i32)),
                        )
                    })
                    .collect();
                diesel::insert_into(drive_file_versions::table)
                    .values(versions)
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
