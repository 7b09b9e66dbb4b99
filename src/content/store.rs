//! The content behind the lockbox, one trait per workload so a deployment
//! can plug in its real services; the bundled implementations read
//! PostgreSQL. Every method is read-only. Results come back as a [`Table`]
//! the engineer portal can show as is.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};

use super::times::time;
use crate::identity::TenantId;

/// Rows any one operation returns at most.
pub const MAX_ROWS: i64 = 200;

/// A result: column headings and rows of text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("content store unavailable: {0}")]
    Unavailable(String),
}

impl From<diesel::result::Error> for ContentError {
    fn from(e: diesel::result::Error) -> Self {
        ContentError::Unavailable(e.to_string())
    }
}

/// Filters of `Get-MessageTrace`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQuery {
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

pub trait ExchangeOnline: Send + Sync {
    fn mailbox_statistics(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        mailbox: Option<&str>,
    ) -> Result<Table, ContentError>;
    fn message_trace(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        query: &TraceQuery,
    ) -> Result<Table, ContentError>;
    fn search_mailbox(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        mailbox: Option<&str>,
        words: &str,
    ) -> Result<Table, ContentError>;
}

pub trait SharePointOnline: Send + Sync {
    fn site_usage(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        site: Option<&str>,
    ) -> Result<Table, ContentError>;
    fn site_documents(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        site: &str,
    ) -> Result<Table, ContentError>;
    fn document_versions(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        site: &str,
        path: &str,
    ) -> Result<Table, ContentError>;
}

pub trait OneDriveForBusiness: Send + Sync {
    fn drive_usage(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        owner: Option<&str>,
    ) -> Result<Table, ContentError>;
    fn drive_file_versions(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        owner: &str,
        path: &str,
    ) -> Result<Table, ContentError>;
}

/// The three stores the enforcement point reads through.
#[derive(Clone)]
pub struct ContentStores {
    pub exchange: Arc<dyn ExchangeOnline>,
    pub sharepoint: Arc<dyn SharePointOnline>,
    pub onedrive: Arc<dyn OneDriveForBusiness>,
}

impl ContentStores {
    /// The bundled stores, on lockbox's own database.
    pub fn postgres() -> Self {
        let store = Arc::new(PgContent);
        Self {
            exchange: store.clone(),
            sharepoint: store.clone(),
            onedrive: store,
        }
    }
}

/// The bundled PostgreSQL content store.
pub struct PgContent;

fn kb(bytes: i64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0)
}

/// `%words%` for ILIKE, wildcards escaped.
fn like(words: &str) -> String {
    format!(
        "%{}%",
        words
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

macro_rules! row_struct {
    ($name:ident { $($field:ident : $sql:ty => $rust:ty),* $(,)? }) => {
        #[derive(QueryableByName)]
        struct $name {
            $(#[diesel(sql_type = $sql)] $field: $rust,)*
        }
    };
}

row_struct!(MailboxRow { address: Text => String, display_name: Text => String, items: BigInt => i64, bytes: BigInt => i64, newest: Nullable<Timestamptz> => Option<DateTime<Utc>> });
row_struct!(MessageRow { address: Text => String, received_at: Timestamptz => DateTime<Utc>, sender: Text => String, recipients: Text => String, subject: Text => String, body: Text => String, size_bytes: Integer => i32 });
row_struct!(SiteRow { path: Text => String, title: Text => String, documents: BigInt => i64, versions: BigInt => i64, bytes: BigInt => i64 });
row_struct!(DocRow { path: Text => String, title: Text => String, version: Integer => i32, modified_by: Text => String, modified_at: Timestamptz => DateTime<Utc> });
row_struct!(VersionRow { version: Integer => i32, modified_by: Text => String, modified_at: Timestamptz => DateTime<Utc>, size_bytes: Integer => i32 });
row_struct!(DriveRow { owner: Text => String, files: BigInt => i64, bytes: BigInt => i64 });

impl ExchangeOnline for PgContent {
    fn mailbox_statistics(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        mailbox: Option<&str>,
    ) -> Result<Table, ContentError> {
        let rows: Vec<MailboxRow> = diesel::sql_query(
            "SELECT m.address, m.display_name, count(x.id) AS items, \
                    coalesce(sum(x.size_bytes), 0)::bigint AS bytes, max(x.received_at) AS newest \
             FROM mailboxes m LEFT JOIN mail_messages x ON x.mailbox_id = m.id \
             WHERE m.tenant_id = $1 AND ($2::text IS NULL OR lower(m.address) = lower($2)) \
             GROUP BY m.address, m.display_name ORDER BY m.address LIMIT $3",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Nullable<Text>, _>(mailbox)
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(Table {
            columns: vec![
                "Mailbox",
                "Display name",
                "Items",
                "Total size (KB)",
                "Newest item",
            ],
            rows: rows
                .into_iter()
                .map(|r| {
                    vec![
                        r.address,
                        r.display_name,
                        r.items.to_string(),
                        kb(r.bytes),
                        r.newest.map(time).unwrap_or_default(),
                    ]
                })
                .collect(),
        })
    }

    fn message_trace(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        q: &TraceQuery,
    ) -> Result<Table, ContentError> {
        let rows: Vec<MessageRow> = diesel::sql_query(
            "SELECT m.address, x.received_at, x.sender, x.recipients, x.subject, '' AS body, x.size_bytes \
             FROM mail_messages x JOIN mailboxes m ON m.id = x.mailbox_id \
             WHERE m.tenant_id = $1 \
               AND ($2::text IS NULL OR x.sender ILIKE $2) \
               AND ($3::text IS NULL OR x.recipients ILIKE $3) \
               AND ($4::timestamptz IS NULL OR x.received_at >= $4) \
               AND ($5::timestamptz IS NULL OR x.received_at < $5) \
             ORDER BY x.received_at DESC LIMIT $6",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Nullable<Text>, _>(q.sender.as_deref().map(like))
        .bind::<Nullable<Text>, _>(q.recipient.as_deref().map(like))
        .bind::<Nullable<Timestamptz>, _>(q.start)
        .bind::<Nullable<Timestamptz>, _>(q.end)
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(Table {
            columns: vec!["Received", "Sender", "Recipients", "Subject", "Size (KB)"],
            rows: rows
                .into_iter()
                .map(|r| {
                    vec![
                        time(r.received_at),
                        r.sender,
                        r.recipients,
                        r.subject,
                        kb(i64::from(r.size_bytes)),
                    ]
                })
                .collect(),
        })
    }

    fn search_mailbox(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        mailbox: Option<&str>,
        words: &str,
    ) -> Result<Table, ContentError> {
        let rows: Vec<MessageRow> = diesel::sql_query(
            "SELECT m.address, x.received_at, x.sender, x.recipients, x.subject, x.body, x.size_bytes \
             FROM mail_messages x JOIN mailboxes m ON m.id = x.mailbox_id \
             WHERE m.tenant_id = $1 AND ($2::text IS NULL OR lower(m.address) = lower($2)) \
               AND (x.subject ILIKE $3 OR x.body ILIKE $3) \
             ORDER BY x.received_at DESC LIMIT $4",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Nullable<Text>, _>(mailbox)
        .bind::<Text, _>(like(words))
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(Table {
            columns: vec!["Mailbox", "Received", "Sender", "Subject", "Snippet"],
            rows: rows
                .into_iter()
                .map(|r| {
                    let snippet: String = r.body.chars().take(120).collect();
                    vec![r.address, time(r.received_at), r.sender, r.subject, snippet]
                })
                .collect(),
        })
    }
}

impl SharePointOnline for PgContent {
    fn site_usage(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        site: Option<&str>,
    ) -> Result<Table, ContentError> {
        let rows: Vec<SiteRow> = diesel::sql_query(
            "SELECT s.path, s.title, count(DISTINCT d.id) AS documents, count(v.version) AS versions, \
                    coalesce(sum(v.size_bytes), 0)::bigint AS bytes \
             FROM sites s LEFT JOIN documents d ON d.site_id = s.id \
             LEFT JOIN document_versions v ON v.document_id = d.id \
             WHERE s.tenant_id = $1 AND ($2::text IS NULL OR lower(s.path) = lower($2)) \
             GROUP BY s.path, s.title ORDER BY s.path LIMIT $3",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Nullable<Text>, _>(site)
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(Table {
            columns: vec!["Site", "Title", "Documents", "Versions", "Storage (KB)"],
            rows: rows
                .into_iter()
                .map(|r| {
                    vec![
                        r.path,
                        r.title,
                        r.documents.to_string(),
                        r.versions.to_string(),
                        kb(r.bytes),
                    ]
                })
                .collect(),
        })
    }

    fn site_documents(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        site: &str,
    ) -> Result<Table, ContentError> {
        let rows: Vec<DocRow> = diesel::sql_query(
            "SELECT d.path, d.title, v.version, v.modified_by, v.modified_at \
             FROM documents d JOIN sites s ON s.id = d.site_id \
             JOIN LATERAL (SELECT * FROM document_versions WHERE document_id = d.id \
                           ORDER BY version DESC LIMIT 1) v ON true \
             WHERE s.tenant_id = $1 AND lower(s.path) = lower($2) \
             ORDER BY d.path LIMIT $3",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Text, _>(site)
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(Table {
            columns: vec![
                "Path",
                "Title",
                "Latest version",
                "Modified by",
                "Modified at",
            ],
            rows: rows
                .into_iter()
                .map(|r| {
                    vec![
                        r.path,
                        r.title,
                        r.version.to_string(),
                        r.modified_by,
                        time(r.modified_at),
                    ]
                })
                .collect(),
        })
    }

    fn document_versions(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        site: &str,
        path: &str,
    ) -> Result<Table, ContentError> {
        let rows: Vec<VersionRow> = diesel::sql_query(
            "SELECT v.version, v.modified_by, v.modified_at, v.size_bytes \
             FROM document_versions v JOIN documents d ON d.id = v.document_id \
             JOIN sites s ON s.id = d.site_id \
             WHERE s.tenant_id = $1 AND lower(s.path) = lower($2) AND lower(d.path) = lower($3) \
             ORDER BY v.version DESC LIMIT $4",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Text, _>(site)
        .bind::<Text, _>(path)
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(versions_table(rows, true))
    }
}

fn versions_table(rows: Vec<VersionRow>, with_author: bool) -> Table {
    let columns = if with_author {
        vec!["Version", "Modified by", "Modified at", "Size (KB)"]
    } else {
        vec!["Version", "Modified at", "Size (KB)"]
    };
    Table {
        columns,
        rows: rows
            .into_iter()
            .map(|r| {
                let mut row = vec![r.version.to_string()];
                if with_author {
                    row.push(r.modified_by);
                }
                row.extend([time(r.modified_at), kb(i64::from(r.size_bytes))]);
                row
            })
            .collect(),
    }
}

impl OneDriveForBusiness for PgContent {
    fn drive_usage(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        owner: Option<&str>,
    ) -> Result<Table, ContentError> {
        let rows: Vec<DriveRow> = diesel::sql_query(
            "SELECT f.owner, count(DISTINCT f.id) AS files, coalesce(sum(v.size_bytes), 0)::bigint AS bytes \
             FROM drive_files f LEFT JOIN LATERAL (SELECT size_bytes FROM drive_file_versions \
                 WHERE file_id = f.id ORDER BY version DESC LIMIT 1) v ON true \
             WHERE f.tenant_id = $1 AND ($2::text IS NULL OR lower(f.owner) = lower($2)) \
             GROUP BY f.owner ORDER BY f.owner LIMIT $3",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Nullable<Text>, _>(owner)
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(Table {
            columns: vec!["Owner", "Files", "Storage (KB)"],
            rows: rows
                .into_iter()
                .map(|r| vec![r.owner, r.files.to_string(), kb(r.bytes)])
                .collect(),
        })
    }

    fn drive_file_versions(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        owner: &str,
        path: &str,
    ) -> Result<Table, ContentError> {
        let rows: Vec<VersionRow> = diesel::sql_query(
            "SELECT v.version, f.owner AS modified_by, v.modified_at, v.size_bytes \
             FROM drive_file_versions v JOIN drive_files f ON f.id = v.file_id \
             WHERE f.tenant_id = $1 AND lower(f.owner) = lower($2) AND lower(f.path) = lower($3) \
             ORDER BY v.version DESC LIMIT $4",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Text, _>(owner)
        .bind::<Text, _>(path)
        .bind::<BigInt, _>(MAX_ROWS)
        .load(conn)?;
        Ok(versions_table(rows, false))
    }
}
