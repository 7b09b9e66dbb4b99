//! `scripts/verify-export.py`, a second verifier written from the documented
//! formats alone (Python's standard library and `openssl`), agrees with
//! `lockbox audit verify-file` on real exports: both accept a whole export
//! (or evidence pack) with the same summary, and both refuse each kind of
//! tampering for the same reason, naming the same seq. A record holds what an encoder could get
//! wrong (quotes, backslashes, line breaks, control characters, non-ASCII,
//! U+2028, numbers), so a difference in the canonical encoding would show.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use chrono::Duration;
use lockbox::{
    audit::{self, checkpoint, receipt},
    identity::{TenantId, UserId},
    signing::{PublicKeys, Signer},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, client_from, world};

/// What an approver typed: everything JSON escapes, and what it does not.
const COMMENT: &str = "say \"yes\" \\ C:\\tmp\\n\nline two\tafter a tab: é 😀 \u{2028} end";

/// A real export of Contoso's log, the checkpoint and receipt a customer
/// kept, and the public key: what both verifiers are given.
struct Evidence {
    dir: tempfile::TempDir,
    key: PathBuf,
    /// The export's lines, newest first.
    lines: Vec<String>,
    checkpoint: checkpoint::Published,
    receipt: receipt::Published,
    /// The seal of each line: (seq, hash).
    seals: Vec<(i64, String)>,
}

impl Evidence {
    fn seq_of(&self, line: usize) -> i64 {
        self.seals[line].0
    }

    /// The line of the record with this seq.
    fn line_of(&self, seq: i64) -> usize {
        self.seals
            .iter()
            .position(|(s, _)| *s == seq)
            .expect("sealed")
    }

    /// The seq of the receipt's audit record.
    fn seq_of_receipt(&self) -> i64 {
        let id = self.receipt.audit_record;
        self.lines
            .iter()
            .zip(&self.seals)
            .find(|(l, _)| serde_json::from_str::<Value>(l).expect("JSON")["id"] == id)
            .expect("the receipt's record")
            .1
            .0
    }
}

fn export(app: &TestApp, tenant: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["audit", "export", "--tenant", tenant, "--format", "jsonl"])
        .env("DATABASE_URL", &app.owner_url)
        .env("LOCKBOX_SIGNING_KEY_FILE", &app.settings.signing_key_file)
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("lockbox runs");
    assert!(out.status.success(), "export: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// A record the web forms would refuse (a control character) and numbers
/// the log's own records never hold, appended as the domain appends.
fn append_odd_record(app: &TestApp, tenant: TenantId) {
    let actor = audit::Actor::customer(UserId::from(uuid::Uuid::from_u128(9)), "Zoë \"Z\"", "");
    audit::append(
        &mut app.conn(),
        audit::Entry {
            tenant_id: tenant,
            occurred_at: app.clock_now(),
            actor: &actor,
            activity: "Test-Encoding",
            item: String::new(),
            parameters: json!({
                "Comment": "bell \u{1} delete \u{7f} unit separator \u{1f} paragraph \u{2029}",
                "Numbers": [0, -3, 0.5, 1.5e-7, 2.5e-5, 1e16, 1e20, 12_345_678_901_234_567_890_u64],
                "é": {"z": true, "a": null, "Z": [], "😀": {}},
            }),
            request_id: None,
        },
    )
    .expect("append");
}

async fn evidence() -> (crate::helpers::World, Evidence) {
    let w = world().await;
    let c = w.customers();
    let approver = client_from("127.0.0.5");
    w.app.admin_sign_in(&approver, &c.approver).await;
    let approved = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let denied = w
        .app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    for (id, action, comment) in [(approved, "approve", COMMENT), (denied, "deny", "no")] {
        let resp = w.app.customer_decide(&approver, id, action, comment).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{action}");
    }
    append_odd_record(&w.app, w.contoso);
    w.app.seal_audit();
    let signer = w.app.signer();
    checkpoint::write_due(
        &mut w.app.app_conn(),
        &signer,
        w.app.clock_now(),
        Duration::minutes(60),
    )
    .expect("checkpoints");
    let checkpoint = checkpoint::list(&mut w.app.conn(), w.contoso, 1)
        .expect("list")
        .remove(0)
        .published();
    // A record after the checkpoint: the export reaches past it.
    let resp = w
        .app
        .customer_decide(&approver, approved, "revoke", "done")
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "revoke");
    w.app.seal_audit();

    let receipt = receipt::for_request(&mut w.app.conn(), w.contoso, approved)
        .expect("receipts")
        .remove(0)
        .published();
    assert_eq!(receipt.decision, "Approve");
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key.pem");
    let public = w.app.public_keys().current().expect("a current key").pem();
    assert_eq!(public, PublicKeys::pem_of(&signer.public_key()));
    std::fs::write(&key, public).expect("write");
    let text = export(&w.app, "Contoso");
    assert!(text.contains(r#"\"yes\" \\ C:\\tmp\\n\nline two\tafter a tab: é 😀 "#));
    assert!(text.contains(r"bell \u0001 delete ") && text.contains('\u{2028}'));
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let seals = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON");
            (
                v["seq"].as_i64().expect("sealed"),
                v["hash"].as_str().expect("hash").to_owned(),
            )
        })
        .collect();
    let evidence = Evidence {
        dir,
        key,
        lines,
        checkpoint,
        receipt,
        seals,
    };
    (w, evidence)
}

/// Both verifiers' outputs for `file`'s text with these checkpoints and
/// receipts: (verify-file, verify-export.py).
fn both(
    e: &Evidence,
    name: &str,
    file: &str,
    checkpoints: &[&checkpoint::Published],
    receipts: &[&receipt::Published],
) -> (Output, Output) {
    both_with_key(e, &e.key, name, file, checkpoints, receipts)
}

/// [`both`] with another public key file (a PEM or a keyring).
fn both_with_key(
    e: &Evidence,
    key: &Path,
    name: &str,
    file: &str,
    checkpoints: &[&checkpoint::Published],
    receipts: &[&receipt::Published],
) -> (Output, Output) {
    let write = |file: String, text: &str| {
        let path = e.dir.path().join(file);
        std::fs::write(&path, text).expect("write");
        path.into_os_string()
    };
    let mut args = vec![write(format!("{name}.jsonl"), file)];
    for (i, c) in checkpoints.iter().enumerate() {
        let json = serde_json::to_string(c).expect("JSON");
        args.extend([
            "--checkpoint".into(),
            write(format!("{name}-cp{i}.json"), &json),
        ]);
    }
    for (i, r) in receipts.iter().enumerate() {
        let json = serde_json::to_string(r).expect("JSON");
        args.extend([
            "--receipt".into(),
            write(format!("{name}-r{i}.json"), &json),
        ]);
    }
    args.extend(["--public-key".into(), key.as_os_str().to_owned()]);
    let rust = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["audit", "verify-file"])
        .args(&args)
        .env_remove("DATABASE_URL")
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("lockbox runs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify-export.py");
    let python = Command::new("python3")
        .arg(script)
        .args(&args)
        .output()
        .expect("python3 runs");
    (rust, python)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

/// Both accept with the same one-line summary; returns it.
fn both_accept((rust, python): (Output, Output)) -> String {
    let says = |out: &Output| {
        assert!(out.status.success(), "should verify: {}", text(&out.stderr));
        let line = text(&out.stdout);
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        line.split_once(": ").expect("FILE: summary").1.to_owned()
    };
    let summary = says(&rust);
    assert_eq!(summary, says(&python), "the verifiers disagree");
    summary
}

/// Both refuse (exit 1, one line), each saying `needle`: the reasons they
/// give, (verify-file's, verify-export.py's).
fn refusals((rust, python): (Output, Output), needle: &str) -> (String, String) {
    let reason_of = |out: &Output, who: &str| {
        let err = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{who} should refuse: {}",
            text(&out.stdout)
        );
        assert_eq!(err.lines().count(), 1, "{who}: one line: {err}");
        let (_, reason) = err
            .split_once(": VERIFICATION FAILED: ")
            .unwrap_or_else(|| panic!("{who}: {err}"));
        assert!(
            reason.contains(needle),
            "{who} should say {needle:?}: {err}"
        );
        reason.to_owned()
    };
    (
        reason_of(&rust, "verify-file"),
        reason_of(&python, "verify-export.py"),
    )
}

/// Both refuse for the same reason, saying `needle`; returns the first seq
/// it names.
fn both_refuse(outputs: (Output, Output), needle: &str) -> Option<i64> {
    let (rust, python) = refusals(outputs, needle);
    assert_eq!(rust, python, "the verifiers disagree");
    let re = regex_lite::Regex::new(r"seq (\d+)").expect("regex");
    re.captures(&rust).and_then(|c| c[1].parse().ok())
}

#[tokio::test]
async fn offline_verify_both_verifiers_accept_a_whole_export_and_its_pack() {
    let (w, e) = evidence().await;
    let file = e.lines.join("\n") + "\n";
    let n = e.lines.len();
    let head = e.seq_of(0);
    assert_eq!(head as usize, n, "the whole log, seq 1 to {n}");
    let summary = both_accept(both(&e, "whole", &file, &[&e.checkpoint], &[&e.receipt]));
    assert!(
        summary.starts_with(&format!("the log is whole: {n} records (seq 1–{head})"))
            && summary.contains("1 signed checkpoints reached; 1 signed receipts match"),
        "{summary}"
    );

    // The approved request's evidence pack (it was revoked after the
    // checkpoint; the next round signs its end): records oldest first, with
    // its request, operator actions and receipts checked too.
    w.app.clock.advance(Duration::hours(1));
    checkpoint::write_due(
        &mut w.app.app_conn(),
        &w.app.signer(),
        w.app.clock_now(),
        Duration::hours(1),
    )
    .expect("checkpoints");
    let auditor = w.app.create_user(
        "Contoso",
        "auditor@contoso.example",
        lockbox::tenants::Role::GlobalAdmin,
    );
    let client = w.app.admin_client(&auditor).await;
    let resp = w
        .app
        .get_admin(
            &client,
            &format!(
                "/support/lockbox/requests/{}/evidence.json",
                e.receipt.request
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let pack = resp.text().await.expect("the pack");
    let summary = both_accept(both(&e, "pack", &pack, &[], &[]));
    assert!(
        summary.contains("2 signed receipts match") && !summary.contains("not covered"),
        "{summary}"
    );
    // Its readable parts are checked against its records by both.
    let mut edited: Value = serde_json::from_str(&pack).expect("JSON");
    edited["request"]["justification"] = json!("Routine.");
    both_refuse(
        both(&e, "pack-edited", &edited.to_string(), &[], &[]),
        "the request was altered",
    );
    let mut unsigned: Value = serde_json::from_str(&pack).expect("JSON");
    unsigned["checkpoints"] = json!([]);
    both_refuse(
        both(&e, "pack-unsigned", &unsigned.to_string(), &[], &[]),
        "no signed checkpoint",
    );

    // Records newer than the checkpoint may be missing: it vouches for
    // nothing after its seq.
    let newer = e.line_of(e.checkpoint.seq);
    assert!(newer > 0, "records after the checkpoint");
    let cut = e.lines[1..].join("\n");
    let summary = both_accept(both(&e, "newer-cut", &cut, &[&e.checkpoint], &[]));
    assert!(summary.contains(&format!("{} records", n - 1)), "{summary}");
}

#[tokio::test]
async fn offline_verify_both_verifiers_refuse_a_changed_or_removed_record() {
    let (_w, e) = evidence().await;
    // One byte of the approver's comment.
    let line = e
        .lines
        .iter()
        .position(|l| l.contains("line two"))
        .expect("the comment");
    let mut lines = e.lines.clone();
    lines[line] = lines[line].replacen("line two", "line twO", 1);
    let seq = both_refuse(
        both(&e, "comment", &lines.join("\n"), &[&e.checkpoint], &[]),
        "was changed",
    );
    assert_eq!(seq, Some(e.seq_of(line)));

    // One escaped control character of the odd record: \u0001 to \u0002.
    let line = e
        .lines
        .iter()
        .position(|l| l.contains(r"bell \u0001"))
        .expect("the odd record");
    let mut lines = e.lines.clone();
    lines[line] = lines[line].replacen(r"bell \u0001", r"bell \u0002", 1);
    let seq = both_refuse(
        both(&e, "control", &lines.join("\n"), &[], &[]),
        "was changed",
    );
    assert_eq!(seq, Some(e.seq_of(line)));

    // Another number is another record; the same number written
    // otherwise (0.5 as 5e-1) is the same record to both.
    let mut lines = e.lines.clone();
    lines[line] = lines[line].replacen("[0,-3,0.5,", "[0,-3,0.25,", 1);
    assert_ne!(lines[line], e.lines[line], "the numbers as exported");
    let seq = both_refuse(
        both(&e, "number", &lines.join("\n"), &[], &[]),
        "was changed",
    );
    assert_eq!(seq, Some(e.seq_of(line)));
    let mut lines = e.lines.clone();
    lines[line] = lines[line].replacen("[0,-3,0.5,", "[0,-3,5e-1,", 1);
    both_accept(both(
        &e,
        "same-number",
        &lines.join("\n"),
        &[&e.checkpoint],
        &[],
    ));

    // A key twice in an object: readers that keep the first would see
    // what the verifiers (which would keep the last) did not check.
    let line = e.line_of(e.seq_of_receipt());
    let mut lines = e.lines.clone();
    lines[line] = lines[line].replacen(
        r#""parameters":{"#,
        r#""parameters":{"Comment":"forged","#,
        1,
    );
    assert_ne!(lines[line], e.lines[line]);
    refusals(
        both(&e, "twice", &lines.join("\n"), &[], &[]),
        &format!("line {}: not a record of an export", line + 1),
    );
    // And a field of the record twice.
    let mut lines = e.lines.clone();
    lines[line] = lines[line].replacen(
        r#""actor_name":"#,
        r#""actor_name":"Mallory","actor_name":"#,
        1,
    );
    assert_ne!(lines[line], e.lines[line]);
    refusals(
        both(&e, "field-twice", &lines.join("\n"), &[], &[]),
        &format!("line {}: not a record of an export", line + 1),
    );

    // A record in the middle removed: a gap, named by the seq below it.
    let middle = e.lines.len() / 2;
    let mut lines = e.lines.clone();
    lines.remove(middle);
    let seq = both_refuse(both(&e, "removed", &lines.join("\n"), &[], &[]), "a gap");
    assert_eq!(seq, Some(e.seq_of(middle) - 1));

    // The receipt's record changed its comment: the chain already says so.
    let line = e.line_of(e.seq_of_receipt());
    let mut lines = e.lines.clone();
    lines[line] = lines[line].replacen("😀", "🙂", 1);
    let seq = both_refuse(
        both(&e, "receipt-record", &lines.join("\n"), &[], &[&e.receipt]),
        "was changed",
    );
    assert_eq!(seq, Some(e.seq_of(line)));
}

#[tokio::test]
async fn offline_verify_both_verifiers_refuse_a_cut_tail_and_bad_checkpoints() {
    let (w, e) = evidence().await;
    let cp = &e.checkpoint;
    let at = e.line_of(cp.seq);

    // The tail cut below the checkpoint: its record and the newer ones go.
    let cut = e.lines[at + 1..].join("\n");
    let seq = both_refuse(both(&e, "tail", &cut, &[cp], &[]), "truncated tail");
    assert_eq!(seq, Some(cp.seq));

    let file = e.lines.join("\n");
    // A forged checkpoint: another head hash under the old signature.
    let mut forged = cp.clone();
    forged.head_hash = e.seals[at + 1].1.clone();
    let seq = both_refuse(
        both(&e, "forged", &file, &[&forged], &[]),
        "signature does not verify",
    );
    assert_eq!(seq, Some(cp.seq));

    // A checkpoint signed with the deployment key that contradicts the
    // file (the log was rewritten after it was signed).
    let other_hash = lockbox::digest::from_hex(&e.seals[at + 1].1).expect("hex");
    let contradicting = checkpoint::Checkpoint::sign(
        &w.app.signer(),
        w.contoso,
        cp.seq,
        other_hash,
        w.app.clock_now(),
    )
    .published();
    let seq = both_refuse(
        both(&e, "rewritten", &file, &[&contradicting], &[]),
        "has another hash",
    );
    assert_eq!(seq, Some(cp.seq));
    // Beside the checkpoint the customer kept, it is equivocation: never a
    // replacement for the kept one.
    let seq = both_refuse(
        both(&e, "equivocation", &file, &[cp, &contradicting], &[]),
        "another signed checkpoint for the same seq says otherwise",
    );
    assert_eq!(seq, Some(cp.seq));

    // A checkpoint of the real head, signed with a key the customer does
    // not hold.
    let head = lockbox::digest::from_hex(&cp.head_hash).expect("hex");
    let unknown = checkpoint::Checkpoint::sign(
        &Signer::generate(),
        w.contoso,
        cp.seq,
        head,
        w.app.clock_now(),
    )
    .published();
    let seq = both_refuse(
        both(&e, "unknown-key", &file, &[&unknown], &[]),
        "none of the given public keys",
    );
    assert_eq!(seq, Some(cp.seq));
}

#[tokio::test]
async fn offline_verify_both_verifiers_check_receipts_against_their_records() {
    let (_w, e) = evidence().await;
    let file = e.lines.join("\n");
    // A forged receipt: another decision under the approval's signature.
    let mut forged = e.receipt.clone();
    forged.decision = "Deny".into();
    both_refuse(
        both(&e, "forged-receipt", &file, &[], &[&forged]),
        "signature does not verify",
    );
    // The receipt's record missing from the file.
    let line = e.line_of(e.seq_of_receipt());
    let mut lines = e.lines.clone();
    lines.truncate(line);
    both_refuse(
        both(&e, "receipt-missing", &lines.join("\n"), &[], &[&e.receipt]),
        "does not hold its audit record",
    );
}

#[tokio::test]
async fn offline_verify_both_verifiers_read_the_keyring_and_its_validity_periods() {
    let (w, e) = evidence().await;
    let file = e.lines.join("\n");
    let ring = w.app.public_keys();
    let signed_at = chrono::DateTime::parse_from_rfc3339(&e.checkpoint.time)
        .expect("time")
        .to_utc();
    let keyring = |name: &str, ring: &PublicKeys| {
        let path = e.dir.path().join(format!("{name}.keyring.json"));
        std::fs::write(&path, serde_json::to_string_pretty(ring).expect("JSON")).expect("write");
        path
    };
    let key = keyring("as-is", &ring);
    let pem = both(&e, "pem", &file, &[&e.checkpoint], &[&e.receipt]);
    let summary = both_accept(both_with_key(
        &e,
        &key,
        "keyring",
        &file,
        &[&e.checkpoint],
        &[&e.receipt],
    ));
    assert_eq!(
        summary,
        both_accept(pem),
        "the keyring says what the PEM says"
    );

    // The key retired an hour before the checkpoint was signed (more than
    // the five minutes of clock skew), or made an hour after it.
    let mut retired = ring.clone();
    retired.keys[0].valid_until = Some(signed_at - Duration::hours(1));
    let mut later = ring.clone();
    later.keys[0].valid_from = signed_at + Duration::hours(1);
    for (name, ring) in [("retired", retired), ("later", later)] {
        let key = keyring(name, &ring);
        let seq = both_refuse(
            both_with_key(&e, &key, name, &file, &[&e.checkpoint], &[]),
            "outside its key's validity period",
        );
        assert_eq!(seq, Some(e.checkpoint.seq));
    }
    // Within the clock skew it still counts.
    let mut skewed = ring.clone();
    skewed.keys[0].valid_from = signed_at + Duration::minutes(4);
    let key = keyring("skewed", &skewed);
    both_accept(both_with_key(
        &e,
        &key,
        "skewed",
        &file,
        &[&e.checkpoint],
        &[],
    ));
}
