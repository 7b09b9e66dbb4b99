DROP INDEX access_requests_window_lookup_idx;
DROP TABLE drive_file_versions;
DROP TABLE drive_files;
DROP TABLE document_versions;
DROP TABLE documents;
DROP TABLE sites;
DROP TABLE mail_messages;
DROP TABLE mailboxes;
