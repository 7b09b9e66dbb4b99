//! What a customer checks without the provider's word: signed decision
//! receipts (OpenSSL verifies them), the evidence pack of a closed request
//! (`lockbox audit verify-file` verifies it offline), and the whole journey
//! of issue 15: export, checkpoint and key downloaded, the log proven
//! whole, three records deleted and both verifiers naming what is missing.

use std::{path::Path, process::Command};

use chrono::Duration;
use lockbox::identity::RequestId;
use reqwest::Client;

use crate::{
    checkpoints::{
        checkpoint_now, checkpoints, db_name, requests, stdout, tamper, verify_cli, which_openssl,
    },
    helpers::{TestApp, texts, world},
};

const ADMIN_BASE: &str = "/support/lockbox/requests";

async fn download(app: &TestApp, client: &Client, path: &str) -> Vec<u8> {
    let resp = app.get_admin(client, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().await.expect("body").to_vec()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// `openssl pkeyutl -verify` exactly as README shows it.
fn openssl_verifies(key: &Path, message: &Path, signature: &Path) -> bool {
    let openssl = which_openssl().expect("openssl is installed (scripts/test installs it)");
    Command::new(openssl)
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(key)
        .arg("-rawin")
        .arg("-in")
        .arg(message)
        .arg("-sigfile")
        .arg(signature)
        .output()
        .expect("openssl runs")
        .status
        .success()
}

/// `lockbox audit verify-file` through the real binary, with no database.
fn verify_file(file: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["audit", "verify-file"])
        .arg(file)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("runs")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn receipt_records(html: &str) -> Vec<String> {
    texts(html, "#receipts tbody tr td:first-child")
}

#[tokio::test]
async fn every_customer_decision_gets_a_receipt_openssl_verifies_and_the_engineer_sees_it() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;
    let page = w
        .app
        .admin_page(&approver, &format!("{ADMIN_BASE}/{id}"))
        .await;
    assert!(receipt_records(&page).is_empty());
    assert!(page.contains("No customer decision yet"));

    let resp = w
        .app
        .customer_decide(&approver, id, "approve", "Go ahead, ticket 42.")
        .await;
    assert_eq!(resp.status(), 303);
    let page = w
        .app
        .admin_page(&approver, &format!("{ADMIN_BASE}/{id}"))
        .await;
    assert_eq!(receipt_records(&page), vec!["Approve"]);

    let receipts =
        lockbox::audit::receipt::for_request(&mut w.app.conn(), w.contoso, id).expect("receipts");
    let record = receipts[0].audit_record;
    let base = format!("{ADMIN_BASE}/{id}/receipts/{record}");
    let json: serde_json::Value =
        serde_json::from_slice(&download(&w.app, &approver, &format!("{base}.json")).await)
            .expect("json");
    assert_eq!(json["format"], "lockbox-receipt-v1");
    assert_eq!(json["decision"], "Approve");
    assert_eq!(json["request"], id.to_string());
    assert_eq!(json["tenant"], w.contoso.to_string());
    assert_eq!(json["approver"], c.approver.id.to_string());
    assert_eq!(
        json["comment_sha256"],
        lockbox::digest::hex(&lockbox::digest::sha256(b"Go ahead, ticket 42."))
    );
    assert_eq!(json["audit_record"], record);

    // OpenSSL checks it with the public key from the Audit page.
    let dir = tempfile::tempdir().expect("dir");
    let key = write(
        dir.path(),
        "key.pem",
        &download(&w.app, &approver, "/audit/signing-key.pem").await,
    );
    let signed = download(&w.app, &approver, &format!("{base}.bin")).await;
    let bin = write(dir.path(), "receipt.bin", &signed);
    let sig = write(
        dir.path(),
        "receipt.sig",
        &download(&w.app, &approver, &format!("{base}.sig")).await,
    );
    assert!(openssl_verifies(&key, &bin, &sig));
    let mut forged = signed.clone();
    let at = forged
        .windows(7)
        .position(|w| w == b"Approve")
        .expect("decision in the signed bytes");
    forged[at..at + 7].copy_from_slice(b"Approvf");
    let forged = write(dir.path(), "forged.bin", &forged);
    assert!(!openssl_verifies(&key, &forged, &sig));

    // The engineer sees the receipt of the approval that opened the window.
    let engineer = w.app.engineer_client(&w.engineer).await;
    let page = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(receipt_records(&page), vec!["Approve"]);
    let theirs = w
        .app
        .get_engineer(&engineer, &format!("/requests/{id}/receipts/{record}.json"))
        .await;
    assert_eq!(theirs.status(), 200);
    assert_eq!(
        theirs.json::<serde_json::Value>().await.expect("json"),
        json
    );

    // Another tenant's admin, another record, another file: 404.
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    for path in [
        format!("{base}.json"),
        format!("{ADMIN_BASE}/{id}/receipts/{}.json", record + 1),
        format!("{base}.txt"),
        format!("{ADMIN_BASE}/{id}/receipts/-1.json"),
    ] {
        let client = if path.ends_with(&format!("{record}.json")) {
            &fabrikam
        } else {
            &approver
        };
        assert_eq!(w.app.get_admin(client, &path).await.status(), 404, "{path}");
    }

    // Revoking gets its own receipt; so do denial and cancellation.
    let resp = w.app.customer_decide(&approver, id, "revoke", "").await;
    assert_eq!(resp.status(), 303);
    let denied = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app
        .customer_decide(&approver, denied, "deny", "No.")
        .await;
    let cancelled = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app
        .customer_decide(&approver, cancelled, "cancel", "")
        .await;
    let page = w
        .app
        .admin_page(&approver, &format!("{ADMIN_BASE}/{id}"))
        .await;
    assert_eq!(receipt_records(&page), vec!["Approve", "Revoke"]);
    for (request, decision) in [(denied, "Deny"), (cancelled, "Cancel")] {
        let page = w
            .app
            .admin_page(&approver, &format!("{ADMIN_BASE}/{request}"))
            .await;
        assert_eq!(receipt_records(&page), vec![decision]);
    }
}

/// Takes `id` (approved, Fabrikam) through operations and a revocation,
/// with a checkpoint before and after; returns the operations' count.
async fn operate_and_close(w: &crate::helpers::World, approver: &Client, id: RequestId) -> usize {
    let engineer = w.app.engineer_client(&w.engineer).await;
    let operations = [
        vec![("operation", "Get-SiteUsage")],
        vec![
            ("operation", "Get-SiteDocuments"),
            ("site", "/sites/finance"),
        ],
    ];
    for fields in &operations {
        let resp = w.app.run_operation(&engineer, id, fields).await;
        assert_eq!(resp.status(), 200);
    }
    let resp = w
        .app
        .customer_decide(approver, id, "revoke", "Done, thanks.")
        .await;
    assert_eq!(resp.status(), 303);
    w.app.seal_audit();
    w.app.clock.advance(Duration::hours(1));
    checkpoint_now(&w.app);
    operations.len()
}

#[tokio::test]
async fn the_evidence_pack_of_a_closed_request_holds_its_operator_actions_and_verifies_offline() {
    let w = world().await;
    let admin = w.app.create_user(
        "Fabrikam",
        "admin@fabrikam.example",
        lockbox::tenants::Role::GlobalAdmin,
    );
    let client = w.app.admin_client(&admin).await;
    // With Lockbox on, the customer's approval has a receipt too.
    w.app.set_lockbox(w.fabrikam, true);
    requests(&w, w.fabrikam, 1);
    checkpoint_now(&w.app);
    let id = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "sharepoint");
    let pack_path = format!("{ADMIN_BASE}/{id}/evidence.json");

    // Open: no evidence yet.
    let page = w
        .app
        .admin_page(&client, &format!("{ADMIN_BASE}/{id}"))
        .await;
    assert!(!page.contains("evidence.json"));
    assert_eq!(w.app.get_admin(&client, &pack_path).await.status(), 400);

    let operations = operate_and_close(&w, &client, id).await;
    // An hour later: the session timed out; sign in again.
    let client = w.app.admin_client(&admin).await;
    let page = w
        .app
        .admin_page(&client, &format!("{ADMIN_BASE}/{id}"))
        .await;
    assert!(
        page.contains(&pack_path),
        "the closed request offers its evidence"
    );
    let bytes = download(&w.app, &client, &pack_path).await;
    let pack: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(pack["format"], "lockbox-evidence-v1");
    assert_eq!(pack["times"], "UTC", "the pack says its times are UTC");
    assert_eq!(pack["request"]["id"], id.to_string());
    assert_eq!(pack["request"]["status"], "Revoked");
    let actions = pack["operator_actions"].as_array().expect("actions");
    assert_eq!(actions.len(), operations, "every operator action");
    let decisions: Vec<&str> = pack["receipts"]
        .as_array()
        .expect("receipts")
        .iter()
        .filter_map(|r| r["decision"].as_str())
        .collect();
    assert_eq!(decisions, vec!["Approve", "Revoke"]);
    let records = pack["records"].as_array().expect("records");
    let seqs: Vec<i64> = records.iter().filter_map(|r| r["seq"].as_i64()).collect();
    let cps: Vec<i64> = pack["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .filter_map(|c| c["seq"].as_i64())
        .collect();
    assert_eq!(cps.first(), seqs.first(), "starts at the checkpoint before");
    assert_eq!(cps.last(), seqs.last(), "ends at the checkpoint after");
    for action in actions {
        assert!(
            records.contains(action),
            "operator actions are in the chain"
        );
    }
    assert!(
        records
            .iter()
            .any(|r| r["activity"] == "Set-AccessToCustomerDataRequest")
    );

    let dir = tempfile::tempdir().expect("dir");
    let key = write(
        dir.path(),
        "key.pem",
        &download(&w.app, &client, "/audit/signing-key.pem").await,
    );
    let file = write(dir.path(), "evidence.json", &bytes);
    let out = verify_file(&file, &["--public-key".as_ref(), key.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 signed receipts match"),
        "{}",
        stdout(&out)
    );

    // One operator action's parameter changed in the pack: caught.
    let mut tampered = pack.clone();
    let first_action = tampered["records"]
        .as_array_mut()
        .expect("records")
        .iter_mut()
        .find(|r| r["activity"] == "Get-SiteUsage")
        .expect("an operation");
    let count = first_action["parameters"]["ResultCount"]
        .as_i64()
        .expect("a count");
    first_action["parameters"]["ResultCount"] = serde_json::json!(count + 1);
    let file = write(dir.path(), "tampered.json", tampered.to_string().as_bytes());
    let out = verify_file(&file, &["--public-key".as_ref(), key.as_os_str()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("was changed"), "{}", stderr(&out));
}

#[tokio::test]
async fn a_customer_proves_the_log_whole_offline_and_three_deleted_records_are_named() {
    let w = world().await;
    let c = w.customers();
    let approver = w.app.admin_client(&c.approver).await;
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.customer_decide(&approver, id, "approve", "ok").await;
    w.app.customer_decide(&approver, id, "revoke", "").await;
    requests(&w, w.contoso, 2);
    checkpoint_now(&w.app);
    let checkpoint = checkpoints(&w.app, w.contoso).remove(0);

    // What a global admin downloads.
    let admin = w.app.admin_client(&c.admin).await;
    let dir = tempfile::tempdir().expect("dir");
    let key = write(
        dir.path(),
        "key.pem",
        &download(&w.app, &admin, "/audit/signing-key.pem").await,
    );
    let cp = write(
        dir.path(),
        "checkpoint.json",
        &download(
            &w.app,
            &admin,
            &format!("/audit/checkpoints/{}.json", checkpoint.seq),
        )
        .await,
    );
    let receipt = lockbox::audit::receipt::for_request(&mut w.app.conn(), w.contoso, id)
        .expect("receipts")
        .remove(0);
    let receipt = write(
        dir.path(),
        "receipt.json",
        &download(
            &w.app,
            &approver,
            &format!("{ADMIN_BASE}/{id}/receipts/{}.json", receipt.audit_record),
        )
        .await,
    );
    let export = write(
        dir.path(),
        "export.jsonl",
        &download(&w.app, &admin, "/audit/export.jsonl").await,
    );
    let args = [
        "--checkpoint".as_ref(),
        cp.as_os_str(),
        "--receipt".as_ref(),
        receipt.as_os_str(),
        "--public-key".as_ref(),
        key.as_os_str(),
    ];
    let out = verify_file(&export, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    // The whole log: from seq 1 to at least the checkpoint (records written
    // since, e.g. the export's own, may have been sealed already).
    let whole =
        regex_lite::Regex::new(r"the log is whole: (\d+) records \(seq 1–(\d+)\)").expect("regex");
    let seqs = whole.captures(&stdout(&out)).map(|c| {
        (
            c[1].parse::<i64>().unwrap_or(0),
            c[2].parse::<i64>().unwrap_or(0),
        )
    });
    assert!(
        seqs.is_some_and(|(n, hi)| n == hi && hi >= checkpoint.seq),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("1 signed checkpoints reached"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("1 signed receipts match"),
        "{}",
        stdout(&out)
    );

    // The last three records go, with their seals.
    let cut = checkpoint.seq - 3;
    tamper(
        &w.app,
        &[
            format!(
                "DELETE FROM audit_records WHERE id IN (SELECT record_id FROM audit_chain \
                 WHERE tenant_id = '{}' AND seq > {cut})",
                w.contoso
            ),
            format!(
                "DELETE FROM audit_chain WHERE tenant_id = '{}' AND seq > {cut}",
                w.contoso
            ),
        ],
    );
    let out = verify_cli(&w.app);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains(&format!(
            "Contoso: CHECKPOINT CONTRADICTED: the checkpoint of seq {}",
            checkpoint.seq
        )),
        "{}",
        stdout(&out)
    );
    let export = write(
        dir.path(),
        "export-after.jsonl",
        &download(&w.app, &admin, "/audit/export.jsonl").await,
    );
    let out = verify_file(
        &export,
        &args[..2]
            .iter()
            .chain(&args[4..])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    // The newest records are gone. Either the export ends below the
    // checkpoint, or (the export's own audit record was numbered after the
    // deleted ones) a gap opens where they were: both name what is missing.
    // (A record written after the deletion, e.g. this export's own, may be
    // sealed into the gap first: then the file ends a little later.)
    let tail = format!(
        "checkpoint seq {} signed at {} with key {}: the file ends at seq ",
        checkpoint.seq,
        checkpoint.time(),
        checkpoint.key_id,
    );
    let tail = err.contains(&tail)
        && err.contains(&format!(
            "–{} were removed from its end (truncated tail)",
            checkpoint.seq
        ));
    let gap = format!("records are missing between seq {cut} and seq ");
    assert!(tail || err.contains(&gap), "{err}");
    let _ = db_name(&w.app);
}

#[tokio::test]
async fn the_keyring_download_verifies_what_a_rotated_out_key_signed() {
    let w = world().await;
    let c = w.customers();
    requests(&w, w.contoso, 1);
    checkpoint_now(&w.app);
    // The pages show the key before the rotation (and keep it read)...
    let admin = w.app.admin_client(&c.admin).await;
    let before = w.app.public_keys();
    let before = before.current().expect("current").fingerprint();
    for page in ["/settings/org/lockbox", "/audit"] {
        let shown = w.app.admin_page(&admin, page).await;
        assert_eq!(texts(&shown, "#signing-fingerprint"), vec![before.clone()]);
    }
    // A rotation an hour later, then more activity and a checkpoint by the
    // new key.
    w.app.clock.advance(Duration::hours(1));
    lockbox::signing::Signer::rotate(&w.app.settings.signing_key_file, w.app.clock_now())
        .expect("rotated");
    requests(&w, w.contoso, 1);
    w.app.clock.advance(Duration::hours(1));
    checkpoint_now(&w.app);
    let both = checkpoints(&w.app, w.contoso);
    assert_eq!(both.len(), 2);
    assert_ne!(both[0].key_id, both[1].key_id);

    // ...and the new one at once after it, without a restart (signed in
    // again: two hours passed).
    let admin = w.app.admin_client(&c.admin).await;
    let current = w.app.public_keys();
    let current = current.current().expect("current");
    assert_ne!(current.fingerprint(), before);
    for page in ["/settings/org/lockbox", "/audit"] {
        let shown = w.app.admin_page(&admin, page).await;
        assert_eq!(
            texts(&shown, "#signing-fingerprint"),
            vec![current.fingerprint()]
        );
    }

    let dir = tempfile::tempdir().expect("dir");
    let ring = write(
        dir.path(),
        "keys.json",
        &download(&w.app, &admin, "/audit/signing-keys.json").await,
    );
    let pem = write(
        dir.path(),
        "key.pem",
        &download(&w.app, &admin, "/audit/signing-key.pem").await,
    );
    let export = write(
        dir.path(),
        "export.jsonl",
        &download(&w.app, &admin, "/audit/export.jsonl").await,
    );
    let mut cps = Vec::new();
    for c in &both {
        cps.push(write(
            dir.path(),
            &format!("cp{}.json", c.seq),
            &download(
                &w.app,
                &admin,
                &format!("/audit/checkpoints/{}.json", c.seq),
            )
            .await,
        ));
    }
    let with_key = |key: &Path| {
        let mut args: Vec<&std::ffi::OsStr> = Vec::new();
        for cp in &cps {
            args.push("--checkpoint".as_ref());
            args.push(cp.as_os_str());
        }
        args.push("--public-key".as_ref());
        args.push(key.as_os_str());
        verify_file(&export, &args)
    };
    let out = with_key(&ring);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 signed checkpoints reached"),
        "{}",
        stdout(&out)
    );
    // The current key alone does not know the retired one.
    let out = with_key(&pem);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("none of the given public keys"),
        "{}",
        stderr(&out)
    );

    // A keyring edited in place, to the same length and with its old
    // modification time put back, is seen too.
    let path = lockbox::signing::keyring_path(&w.app.settings.signing_key_file);
    let mtime = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let text = std::fs::read_to_string(&path).expect("keyring");
    let key = &current.public_key;
    let edited = format!(
        "{}{}",
        if key.starts_with('A') { 'B' } else { 'A' },
        &key[1..]
    );
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut &file, text.replace(key.as_str(), &edited).as_bytes())
        .expect("edit in place");
    file.set_modified(mtime).expect("mtime back");
    let now_shown = w.app.public_keys();
    let now_shown = now_shown.current().expect("current").fingerprint();
    assert_ne!(now_shown, current.fingerprint());
    let shown = w.app.admin_page(&admin, "/audit").await;
    assert_eq!(texts(&shown, "#signing-fingerprint"), vec![now_shown]);
}

#[tokio::test]
async fn an_evidence_pack_whose_readable_parts_were_edited_fails_and_none_is_given_before_it_is_signed()
 {
    let w = world().await;
    let admin = w.app.create_user(
        "Fabrikam",
        "admin@fabrikam.example",
        lockbox::tenants::Role::GlobalAdmin,
    );
    let client = w.app.admin_client(&admin).await;
    w.app.set_lockbox(w.fabrikam, true);
    let id = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "sharepoint");
    let engineer = w.app.engineer_client(&w.engineer).await;
    let resp = w
        .app
        .run_operation(&engineer, id, &[("operation", "Get-SiteUsage")])
        .await;
    assert_eq!(resp.status(), 200);
    w.app.customer_decide(&client, id, "revoke", "").await;
    w.app.seal_audit();
    // Closed, but no checkpoint signs its last records yet: no pack.
    let pack_path = format!("{ADMIN_BASE}/{id}/evidence.json");
    assert_eq!(w.app.get_admin(&client, &pack_path).await.status(), 400);
    checkpoint_now(&w.app);
    let bytes = download(&w.app, &client, &pack_path).await;
    let pack: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let dir = tempfile::tempdir().expect("dir");
    let key = write(
        dir.path(),
        "key.pem",
        &download(&w.app, &client, "/audit/signing-key.pem").await,
    );
    let check = |name: &str, edited: &serde_json::Value| {
        let file = write(dir.path(), name, edited.to_string().as_bytes());
        verify_file(&file, &["--public-key".as_ref(), key.as_os_str()])
    };
    let out = check("whole.json", &pack);
    assert!(out.status.success(), "{}", stderr(&out));

    let mut dropped = pack.clone();
    dropped["operator_actions"] = serde_json::json!([]);
    let out = check("dropped.json", &dropped);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is left out"), "{}", stderr(&out));

    let mut reasoned = pack.clone();
    reasoned["request"]["justification"] = serde_json::json!("Routine maintenance.");
    let out = check("reasoned.json", &reasoned);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the request was altered"),
        "{}",
        stderr(&out)
    );

    let mut unsigned = pack.clone();
    unsigned["checkpoints"] = serde_json::json!([]);
    let out = check("unsigned.json", &unsigned);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no signed checkpoint"),
        "{}",
        stderr(&out)
    );
}
