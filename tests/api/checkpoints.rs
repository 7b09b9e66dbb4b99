//! Signed checkpoints of the audit chain, the deployment signing key, and
//! `lockbox audit verify` catching what the chain alone cannot: a tail cut
//! off, a log rewritten and sealed again, a checkpoint replaced.

use std::process::{Command, Output};

use chrono::Duration;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use lockbox::{
    audit::{self, checkpoint},
    identity::TenantId,
    schema::audit_checkpoints as cp,
    signing::{PublicKeys, Signer},
};

use crate::helpers::{TestApp, World, attrs, texts, world};

const HOUR: i64 = 60;

pub(crate) fn signer(app: &TestApp) -> Signer {
    Signer::load_or_create(&app.settings.signing_key_file, app.clock_now()).expect("key")
}

/// Writes the checkpoints due now (hourly), as the background task would.
pub(crate) fn checkpoint_now(app: &TestApp) -> u64 {
    checkpoint::write_due(
        &mut app.app_conn(),
        &signer(app),
        app.clock_now(),
        Duration::minutes(HOUR),
    )
    .expect("checkpoints")
}

pub(crate) fn checkpoints(app: &TestApp, tenant: TenantId) -> Vec<checkpoint::Checkpoint> {
    checkpoint::list(&mut app.conn(), tenant, 100).expect("list")
}

pub(crate) fn keys(app: &TestApp) -> PublicKeys {
    PublicKeys::load(&app.settings.signing_key_file).expect("keyring")
}

pub(crate) fn db_name(app: &TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    diesel::sql_query("SELECT current_database() AS name")
        .get_result::<Name>(&mut app.conn())
        .expect("name")
        .name
}

/// `lockbox audit verify` through the real binary, with the app's keyring.
pub(crate) fn verify_cli(app: &TestApp) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", crate::helpers::database_url(&db_name(app)))
        .env("LOCKBOX_SIGNING_KEY_FILE", &app.settings.signing_key_file)
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("runs")
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs statements as the owner with the append-only triggers off: what
/// only someone with the database's keys could do behind lockbox's back.
pub(crate) fn tamper(app: &TestApp, statements: &[String]) {
    let mut conn = app.owner_conn();
    let triggers = [
        ("audit_records", "audit_records_no_update_delete"),
        ("audit_chain", "audit_chain_no_update_delete"),
        ("audit_checkpoints", "audit_checkpoints_no_update_delete"),
    ];
    for (table, trigger) in triggers {
        diesel::sql_query(format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
            .execute(&mut conn)
            .expect("disable");
    }
    for sql in statements {
        diesel::sql_query(sql).execute(&mut conn).expect(sql);
    }
    for (table, trigger) in triggers {
        diesel::sql_query(format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
            .execute(&mut conn)
            .expect("enable");
    }
}

pub(crate) fn requests(w: &World, tenant: TenantId, n: usize) {
    for _ in 0..n {
        w.app.arrange_request(tenant, &w.engineer, Some(&w.manager));
    }
    w.app.seal_audit();
}

#[tokio::test]
async fn a_checkpoint_is_signed_for_each_moved_tenant_and_none_for_idle_ones() {
    let w = world().await;
    requests(&w, w.contoso, 1);
    let idle = w.app.create_tenant("Idle", true);
    w.app.seal_audit();

    assert_eq!(checkpoint_now(&w.app), 3, "every tenant with a chain");
    assert_eq!(checkpoint_now(&w.app), 0, "nothing moved");

    // Contoso moves: not within the hour, then once.
    requests(&w, w.contoso, 1);
    assert_eq!(checkpoint_now(&w.app), 0, "too soon");
    w.app.clock.advance(Duration::minutes(HOUR));
    assert_eq!(checkpoint_now(&w.app), 1, "only the tenant that moved");
    assert_eq!(checkpoint_now(&w.app), 0);
    assert_eq!(checkpoints(&w.app, w.fabrikam).len(), 1);
    assert_eq!(checkpoints(&w.app, idle).len(), 1);

    let list = checkpoints(&w.app, w.contoso);
    assert_eq!(list.len(), 2);
    let head = audit::head(&mut w.app.conn(), w.contoso).expect("head");
    let newest = &list[0];
    assert_eq!(newest.seq, head.count, "newest first, at the head");
    assert_eq!(newest.record_count, head.count);
    assert_eq!(
        Some(lockbox::digest::hex(&newest.head_hash)),
        head.hash,
        "it vouches for the head"
    );
    assert_eq!(newest.created_at, w.app.clock_now());
    let keys = keys(&w.app);
    for c in &list {
        assert_eq!(
            keys.verify(&c.key_id, &c.signed_bytes(), &c.signature),
            lockbox::signing::Verdict::Valid
        );
    }
    // The runtime role may add checkpoints, never change them.
    let err = diesel::update(cp::table.filter(cp::tenant_id.eq(w.contoso)))
        .set(cp::seq.eq(1))
        .execute(&mut w.app.app_conn())
        .expect_err("refused");
    assert!(err.to_string().contains("permission denied"), "{err}");
    let err = diesel::sql_query("DELETE FROM audit_checkpoints")
        .execute(&mut w.app.owner_conn())
        .expect_err("refused");
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[tokio::test]
async fn two_writers_racing_write_one_checkpoint_per_tenant() {
    let w = world().await;
    requests(&w, w.contoso, 2);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (pool, barrier) = (w.app.pool.clone(), barrier.clone());
            let (signer, now) = (signer(&w.app), w.app.clock_now());
            std::thread::spawn(move || {
                let mut conn = pool.get().expect("conn");
                barrier.wait();
                checkpoint::write_due(&mut conn, &signer, now, Duration::minutes(HOUR))
                    .expect("writes")
            })
        })
        .collect();
    let written: u64 = writers.into_iter().map(|t| t.join().expect("joins")).sum();
    assert_eq!(written, 2, "Contoso's and Fabrikam's, once each");
    assert_eq!(checkpoints(&w.app, w.contoso).len(), 1);
    assert_eq!(checkpoints(&w.app, w.fabrikam).len(), 1);
}

#[tokio::test]
async fn verify_catches_a_cut_tail_and_names_the_checkpoint() {
    let w = world().await;
    requests(&w, w.contoso, 3);
    checkpoint_now(&w.app);
    let out = verify_cli(&w.app);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("chain intact")
            && stdout(&out).contains("1 signed checkpoints agree"),
        "{}",
        stdout(&out)
    );
    let checkpoint = checkpoints(&w.app, w.contoso).remove(0);

    // The newest two records go, with their seals: the chain that is left
    // is whole, so the chain alone cannot tell.
    tamper(
        &w.app,
        &[
            format!(
                "DELETE FROM audit_records WHERE id IN (SELECT record_id FROM audit_chain \
                 WHERE tenant_id = '{}' AND seq > {})",
                w.contoso,
                checkpoint.seq - 2
            ),
            format!(
                "DELETE FROM audit_chain WHERE tenant_id = '{}' AND seq > {}",
                w.contoso,
                checkpoint.seq - 2
            ),
        ],
    );
    let chain_only = audit::verify::verify_tenant(&mut w.app.conn(), w.contoso).expect("verify");
    assert_eq!(chain_only.broken, None);

    let out = verify_cli(&w.app);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "Contoso: CHECKPOINT CONTRADICTED: the checkpoint of seq {} signed at {} (key {})",
            checkpoint.seq,
            checkpoint.time(),
            checkpoint.key_id
        )),
        "{text}"
    );
    assert!(text.contains("removed from its end"), "{text}");
    assert!(text.contains("Fabrikam: 1 records, chain intact"), "{text}");
}

#[tokio::test]
async fn a_rewritten_log_or_a_replaced_checkpoint_is_reported() {
    let w = world().await;
    requests(&w, w.contoso, 2);
    requests(&w, w.fabrikam, 1);
    checkpoint_now(&w.app);
    let keys = keys(&w.app);
    let contoso = checkpoints(&w.app, w.contoso).remove(0);

    // Contoso's newest record rewritten, then sealed afresh: a whole chain
    // that no longer leads to the signed head.
    tamper(
        &w.app,
        &[
            format!(
                "UPDATE audit_records SET actor_name = 'Nobody' WHERE id = (SELECT record_id \
                 FROM audit_chain WHERE tenant_id = '{}' AND seq = {})",
                w.contoso, contoso.seq
            ),
            format!(
                "DELETE FROM audit_chain WHERE tenant_id = '{}' AND seq = {}",
                w.contoso, contoso.seq
            ),
        ],
    );
    w.app.seal_audit();
    let report = audit::verify::verify_tenant_with_checkpoints(&mut w.app.conn(), w.contoso, &keys)
        .expect("verify");
    assert_eq!(report.broken, None, "the chain itself is whole");
    let c = report.contradicted.expect("contradicted");
    assert_eq!(c.seq, contoso.seq);
    assert!(c.reason.contains("rewritten"), "{}", c.reason);

    // Fabrikam's checkpoint replaced by one vouching for another head.
    let fabrikam = checkpoints(&w.app, w.fabrikam).remove(0);
    tamper(
        &w.app,
        &[format!(
            "UPDATE audit_checkpoints SET head_hash = sha256(head_hash) WHERE tenant_id = '{}'",
            w.fabrikam
        )],
    );
    let c = audit::verify::verify_tenant_with_checkpoints(&mut w.app.conn(), w.fabrikam, &keys)
        .expect("verify")
        .contradicted
        .expect("contradicted");
    assert_eq!(c.seq, fabrikam.seq);
    assert!(
        c.reason.contains("signature does not verify"),
        "{}",
        c.reason
    );
    let out = verify_cli(&w.app);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains(&format!(
            "Fabrikam: CHECKPOINT CONTRADICTED: the checkpoint of seq {}",
            fabrikam.seq
        )),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn rotation_keeps_old_checkpoints_verifiable() {
    let w = world().await;
    requests(&w, w.contoso, 1);
    checkpoint_now(&w.app);
    let old_signer = signer(&w.app);
    let old = old_signer.key_id().to_owned();

    let out = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["key", "rotate"])
        .env(
            "DATABASE_URL",
            crate::helpers::database_url(&db_name(&w.app)),
        )
        .env("LOCKBOX_SIGNING_KEY_FILE", &w.app.settings.signing_key_file)
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = signer(&w.app).key_id().to_owned();
    assert_ne!(old, new);
    assert!(stdout(&out).contains(&new), "{}", stdout(&out));
    // Every tenant's log tells its customer the key changed.
    for tenant in [w.contoso, w.fabrikam] {
        let rotations: Vec<serde_json::Value> = lockbox::schema::audit_records::table
            .filter(lockbox::schema::audit_records::tenant_id.eq(tenant))
            .filter(lockbox::schema::audit_records::activity.eq("Set-LockboxSigningKey"))
            .select(lockbox::schema::audit_records::parameters)
            .load(&mut w.app.conn())
            .expect("records");
        assert_eq!(rotations.len(), 1);
        assert_eq!(rotations[0]["KeyId"], new.as_str());
        assert_eq!(rotations[0]["PreviousKeyId"], old.as_str());
    }

    // The command line dates the new key by the wall clock; the app's clock
    // follows it there (a checkpoint dated before its key existed would be
    // refused).
    requests(&w, w.contoso, 1);
    w.app
        .clock
        .set(chrono::Utc::now() + Duration::minutes(HOUR));
    // Contoso moved by a request, Fabrikam by the rotation's record.
    assert_eq!(checkpoint_now(&w.app), 2);
    let ids: Vec<String> = checkpoints(&w.app, w.contoso)
        .into_iter()
        .map(|c| c.key_id)
        .collect();
    assert_eq!(ids, vec![new.clone(), old.clone()]);
    let ring = keys(&w.app);
    assert_eq!(ring.keys.len(), 2);
    assert!(ring.find(&old).and_then(|k| k.valid_until).is_some());
    assert_eq!(ring.current().map(|k| k.key_id.clone()), Some(new));

    let out = verify_cli(&w.app);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2 signed checkpoints agree"),
        "{}",
        stdout(&out)
    );

    // The retired key, should it leak, signs nothing that verifies later.
    requests(&w, w.fabrikam, 1);
    let head = audit::head(&mut w.app.conn(), w.fabrikam).expect("head");
    let retired_at = ring
        .find(&old)
        .and_then(|k| k.valid_until)
        .expect("retired");
    let forged = checkpoint::Checkpoint::sign(
        &old_signer,
        w.fabrikam,
        head.count,
        lockbox::schema::audit_chain::table
            .filter(lockbox::schema::audit_chain::tenant_id.eq(w.fabrikam))
            .filter(lockbox::schema::audit_chain::seq.eq(head.count))
            .select(lockbox::schema::audit_chain::hash)
            .first::<Vec<u8>>(&mut w.app.conn())
            .expect("head hash"),
        retired_at + Duration::hours(1),
    );
    diesel::insert_into(cp::table)
        .values(&forged)
        .execute(&mut w.app.owner_conn())
        .expect("inserted");
    let c = audit::verify::verify_tenant_with_checkpoints(&mut w.app.conn(), w.fabrikam, &ring)
        .expect("verify")
        .contradicted
        .expect("contradicted");
    assert_eq!(c.seq, head.count);
    assert!(c.reason.contains("retired"), "{}", c.reason);
    // Nor does the new key sign anything dated before it existed.
    let new_signer = signer(&w.app);
    let backdated = checkpoint::Checkpoint::sign(
        &new_signer,
        w.fabrikam,
        head.count - 1,
        lockbox::schema::audit_chain::table
            .filter(lockbox::schema::audit_chain::tenant_id.eq(w.fabrikam))
            .filter(lockbox::schema::audit_chain::seq.eq(head.count - 1))
            .select(lockbox::schema::audit_chain::hash)
            .first::<Vec<u8>>(&mut w.app.conn())
            .expect("hash"),
        retired_at - Duration::days(30),
    );
    assert_eq!(
        ring.verify_at(
            &backdated.key_id,
            &backdated.signed_bytes(),
            &backdated.signature,
            backdated.created_at
        ),
        lockbox::signing::Verdict::OutsideValidity
    );
}

#[test]
fn serve_refuses_a_signing_key_others_may_read() {
    use std::os::unix::fs::PermissionsExt;
    let db = crate::helpers::TestDatabase::new();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("signing-key.pem");
    Signer::load_or_create(&file, chrono::Utc::now()).expect("key");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .arg("serve")
        .env("DATABASE_URL", &db.app_url)
        .env("LOCKBOX_MIGRATE_DATABASE_URL", &db.url)
        .env("LOCKBOX_SIGNING_KEY_FILE", &file)
        .env("LOCKBOX_ADMIN_ADDR", "127.0.0.1:0")
        .env("LOCKBOX_ENGINEER_ADDR", "127.0.0.1:0")
        .env("LOCKBOX_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("lockbox served with a key others may read");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("may be read by group or others") && err.contains("chmod 600"),
        "{err}"
    );
}

/// The Audit page shows the tenant's checkpoints newest first beside its
/// records, and says so when there is none yet.
#[tokio::test]
async fn the_audit_page_shows_the_checkpoints_newest_first_beside_its_records() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    requests(&w, w.contoso, 1);
    let html = w.app.admin_page(&admin, "/audit").await;
    assert_eq!(texts(&html, "#checkpoints-none").len(), 1, "{html}");
    assert!(texts(&html, "#checkpoints .checkpoint-seq").is_empty());

    checkpoint_now(&w.app);
    w.app.clock.advance(Duration::minutes(HOUR));
    requests(&w, w.contoso, 1);
    checkpoint_now(&w.app);
    let mine = checkpoints(&w.app, w.contoso);
    assert_eq!(mine.len(), 2);
    // Signed in again: the hour ended the first session.
    let admin = w.app.admin_client(&c.admin).await;
    let html = w.app.admin_page(&admin, "/audit").await;
    assert!(texts(&html, "#checkpoints-none").is_empty());
    assert_eq!(
        texts(&html, "#checkpoints .checkpoint-seq"),
        vec![mine[0].seq.to_string(), mine[1].seq.to_string()],
        "newest first"
    );
    assert!(mine[0].seq > mine[1].seq);
    // The records as an unfiltered search reads them, in the same order.
    let (listed, _) = audit::search::search::<audit::search::Listed>(
        &mut w.app.conn(),
        w.contoso,
        &audit::search::Filter::default(),
        None,
        50,
    )
    .expect("search");
    let shown: Vec<String> = listed
        .iter()
        .map(|r| format!("/audit/records/{}", r.id))
        .collect();
    assert!(!shown.is_empty());
    assert_eq!(attrs(&html, "td a.more", "href"), shown);
    let head = audit::head(&mut w.app.conn(), w.contoso).expect("head");
    assert_eq!(texts(&html, "#audit-count"), vec![head.count.to_string()]);
}

#[tokio::test]
async fn the_audit_page_shows_the_key_and_the_tenants_checkpoints() {
    let w = world().await;
    let c = w.customers();
    requests(&w, w.contoso, 1);
    checkpoint_now(&w.app);
    let admin = w.app.admin_client(&c.admin).await;
    let html = w.app.admin_page(&admin, "/audit").await;
    let ring = keys(&w.app);
    let key = ring.current().expect("current key");
    assert_eq!(
        texts(&html, "#signing-public-key"),
        vec![key.public_key.clone()]
    );
    assert_eq!(
        texts(&html, "#signing-fingerprint"),
        vec![key.fingerprint()]
    );
    assert_eq!(texts(&html, "#signing-key-id"), vec![key.key_id.clone()]);
    let mine = checkpoints(&w.app, w.contoso);
    assert_eq!(
        texts(&html, "#checkpoints .checkpoint-seq"),
        vec![mine[0].seq.to_string()]
    );
    // The row's head hash and key, as the checkpoint's JSON gives them.
    let published = mine[0].published();
    assert_eq!(
        texts(&html, "#checkpoints td code"),
        vec![published.head_hash, published.key_id]
    );

    let pem = w
        .app
        .get_admin(&admin, "/audit/signing-key.pem")
        .await
        .text()
        .await
        .expect("pem");
    assert_eq!(pem, key.pem());
    // Debian's openssl reads it (scripts/test installs openssl).
    let openssl = which_openssl().expect("openssl is installed (scripts/test installs it)");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("key.pem");
    std::fs::write(&path, &pem).expect("write");
    let out = Command::new(openssl)
        .args(["pkey", "-pubin", "-in"])
        .arg(&path)
        .args(["-text", "-noout"])
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout).replace([':', ' ', '\n'], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("ED25519Public-Key"), "{text}");
    let raw = lockbox::digest::hex(&key.raw().expect("raw"));
    assert!(text.contains(&raw), "{text} should hold {raw}");

    let resp = w
        .app
        .get_admin(&admin, &format!("/audit/checkpoints/{}.json", mine[0].seq))
        .await;
    assert_eq!(resp.status(), 200);
    let json: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(json["format"], "lockbox-checkpoint-v1");
    assert_eq!(json["tenant"], w.contoso.0.to_string());
    assert_eq!(json["seq"], mine[0].seq);
    assert_eq!(json["head_hash"], lockbox::digest::hex(&mine[0].head_hash));
    assert_eq!(json["signature"], lockbox::digest::hex(&mine[0].signature));

    // Fabrikam's checkpoint is not Contoso's to see.
    let theirs = checkpoints(&w.app, w.fabrikam);
    let other = theirs.iter().find(|t| !mine.iter().any(|m| m.seq == t.seq));
    let missing = other.map_or(9_999, |t| t.seq);
    let resp = w
        .app
        .get_admin(&admin, &format!("/audit/checkpoints/{missing}.json"))
        .await;
    assert_eq!(resp.status(), 404);
}

pub(crate) fn which_openssl() -> Result<std::path::PathBuf, ()> {
    ["/usr/bin/openssl", "/usr/local/bin/openssl"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .ok_or(())
}

/// The head and the newest checkpoints the Audit page and the home card
/// show come from one statement; it agrees with the chain and with the
/// checkpoint list, with and without checkpoints and with records still
/// waiting for their seal.
#[tokio::test]
async fn the_head_and_the_newest_checkpoints_read_together_agree_with_each_part() {
    use lockbox::audit::{head, head_with_checkpoints};
    let w = world().await;
    requests(&w, w.contoso, 1);
    let (bare, none) = head_with_checkpoints(&mut w.app.conn(), w.contoso, 20).expect("head");
    assert!(none.is_empty(), "no checkpoint yet: {none:?}");
    assert!(
        bare.count > 0 && bare.hash.is_some() && bare.pending == 0,
        "{bare:?}"
    );
    for _ in 0..3 {
        requests(&w, w.contoso, 1);
        checkpoint_now(&w.app);
        w.app.clock.advance(Duration::minutes(HOUR));
    }
    // Records after the newest seal are counted as waiting.
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let (h, two) = head_with_checkpoints(&mut w.app.conn(), w.contoso, 2).expect("head");
    assert!(h.pending > 0, "{h:?}");
    assert_eq!(h, head(&mut w.app.conn(), w.contoso).expect("head alone"));
    let all = checkpoints(&w.app, w.contoso);
    assert_eq!(all.len(), 3);
    assert_eq!(two, all[..2].to_vec(), "the newest two, newest first");
    assert_eq!(
        h.count, all[0].record_count,
        "sealed since the newest checkpoint: none"
    );
    // Another tenant's head and checkpoints are its own.
    let (other, theirs) = head_with_checkpoints(&mut w.app.conn(), w.fabrikam, 20).expect("head");
    assert_eq!(theirs, checkpoints(&w.app, w.fabrikam));
    assert_ne!(other.hash, h.hash);
}
