//! Every way an export can be tampered with, each named.
use chrono::DateTime;

use super::*;
use crate::{
    audit::checkpoint::Published,
    signing::{PublicKeyEntry, Signer},
};

struct World {
    lines: Vec<String>,
    checkpoints: Vec<Published>,
    keys: PublicKeys,
}

fn tenant() -> TenantId {
    TenantId(uuid::Uuid::from_u128(7))
}

fn start() -> chrono::DateTime<chrono::Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .expect("valid")
        .to_utc()
}

fn keys_of(signer: &Signer) -> PublicKeys {
    let mut keys = PublicKeys::from_pem(&PublicKeys::pem_of(&signer.public_key())).expect("pem");
    keys.keys[0].valid_from = start();
    keys
}

/// Ten records, newest first as an export writes them, checkpoints at 4
/// and 8 and 10.
fn world() -> World {
    let signer = Signer::from_seed([3; 32]);
    let mut lines = Vec::new();
    let checkpoints = synthetic::log(tenant(), 10, &signer, start(), 4, |l| lines.push(l));
    lines.reverse();
    World {
        lines,
        checkpoints: checkpoints.iter().map(|c| c.published()).collect(),
        keys: keys_of(&signer),
    }
}

fn verify(w: &World) -> Result<Summary, Problem> {
    let text = w.lines.join("\n") + "\n";
    verify_file(
        text.as_bytes(),
        Verifier::new(w.keys.clone()),
        &w.checkpoints,
        &[],
    )
}

#[test]
fn a_clean_export_verifies_with_its_checkpoints() {
    let summary = verify(&world()).expect("whole");
    assert_eq!(summary.records, 10);
    assert_eq!(summary.seqs, Some((1, 10)));
    assert_eq!(summary.checkpoints, 3);
    let mut oldest_first = world();
    oldest_first.lines.reverse();
    assert_eq!(verify(&oldest_first).expect("whole").records, 10);
}

#[test]
fn a_key_twice_in_a_parameter_object_is_refused() {
    // serde_json would keep the last ("record 7", which verifies); a reader
    // keeping the first would see "forged".
    let mut w = world();
    w.lines[3] = w.lines[3].replace(r#""parameters":{"#, r#""parameters":{"Comment":"forged","#);
    let problem = verify(&w).expect_err("refused");
    assert!(
        matches!(&problem, Problem::Unreadable { line: 4, reason } if reason.contains("twice")),
        "{problem}"
    );
    // Nested objects and arrays are read as before.
    w.lines[3] = world().lines[3].replace(
        r#""parameters":{"#,
        r#""parameters":{"N":[1,-2,0.5,{"a":null,"b":[true]}],"#,
    );
    assert!(matches!(verify(&w), Err(Problem::Changed { seq: 7, .. })));
}

#[test]
fn one_changed_byte_in_a_parameter_is_named() {
    let mut w = world();
    w.lines[3] = w.lines[3].replace("record 7", "record 8");
    assert_eq!(
        verify(&w),
        Err(Problem::Changed {
            line: 4,
            id: 1007,
            seq: 7
        })
    );
}

#[test]
fn a_removed_record_is_a_gap() {
    let mut w = world();
    w.lines.remove(4);
    assert_eq!(
        verify(&w),
        Err(Problem::Gap {
            line: 5,
            from: 5,
            to: 7
        })
    );
}

#[test]
fn swapped_records_are_out_of_order() {
    let mut w = world();
    w.lines.swap(2, 3);
    assert!(
        matches!(
            verify(&w),
            Err(Problem::Gap { .. } | Problem::Reordered { .. })
        ),
        "{:?}",
        verify(&w)
    );
    let mut w = world();
    let copy = w.lines[2].clone();
    w.lines.insert(3, copy);
    assert!(
        matches!(
            verify(&w),
            Err(Problem::Reordered {
                seq: 8,
                after: 8,
                ..
            })
        ),
        "{:?}",
        verify(&w)
    );
}

#[test]
fn a_tail_cut_below_a_checkpoint_is_named_by_that_checkpoint() {
    let mut w = world();
    w.lines.drain(..3);
    match verify(&w) {
        Err(
            Problem::Checkpoint { seq: 8, reason, .. }
            | Problem::Checkpoint {
                seq: 10, reason, ..
            },
        ) => {
            assert!(reason.contains("truncated tail"), "{reason}");
            assert!(reason.contains("ends at seq 7"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Without a checkpoint nothing ties the records to the deployment.
    w.checkpoints.clear();
    assert_eq!(verify(&w), Err(Problem::Unanchored));
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let mut w = world();
    w.checkpoints[1].head_hash = "00".repeat(32);
    match verify(&w) {
        Err(Problem::Checkpoint { seq: 8, reason, .. }) => {
            assert!(reason.contains("signature"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rewritten_log_contradicts_the_checkpoint() {
    // A second log, same tenant, other content, sealed anew: its own
    // checkpoints are not the ones the customer kept.
    let w = world();
    let signer = Signer::from_seed([3; 32]);
    let mut lines = Vec::new();
    synthetic::log(
        tenant(),
        10,
        &signer,
        start() + chrono::Duration::seconds(1),
        4,
        |l| lines.push(l),
    );
    lines.reverse();
    let rewritten = World { lines, ..w };
    match verify(&rewritten) {
        Err(Problem::Checkpoint {
            seq: 10, reason, ..
        }) => assert!(reason.contains("rewritten"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rotated_out_key_still_verifies_and_an_unknown_key_does_not() {
    let old = Signer::from_seed([3; 32]);
    let new = Signer::from_seed([4; 32]);
    let mut w = world();
    let mut ring = keys_of(&old);
    ring.keys[0].valid_until = Some(start() + chrono::Duration::days(1));
    let mut entry: PublicKeyEntry = keys_of(&new).keys.remove(0);
    entry.valid_from = start() + chrono::Duration::days(1);
    ring.keys.push(entry);
    w.keys = ring;
    assert_eq!(verify(&w).expect("old key still valid").checkpoints, 3);
    w.keys = keys_of(&new);
    match verify(&w) {
        Err(Problem::Checkpoint { reason, .. }) => {
            assert!(reason.contains("none of the given"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn records_without_a_seal_count_only_at_the_newest_end() {
    let mut w = world();
    let unsealed = w.lines[0]
        .replace("\"seq\":10", "\"seq\":null")
        .replace("\"id\":1010", "\"id\":1011");
    let unsealed: serde_json::Value = serde_json::from_str(&unsealed).expect("json");
    let mut unsealed = unsealed;
    unsealed["prev_hash"] = serde_json::Value::Null;
    unsealed["hash"] = serde_json::Value::Null;
    w.lines.insert(0, unsealed.to_string());
    assert_eq!(verify(&w).expect("whole").pending, 1);
    w.lines.swap(0, 1);
    assert!(
        matches!(verify(&w), Err(Problem::UnsealedBetween { .. })),
        "{:?}",
        verify(&w)
    );
}

#[test]
fn a_second_checkpoint_for_a_kept_seq_is_equivocation_not_a_replacement() {
    let w = world();
    // Whoever holds the key rewrites the log after seq 4 and signs a new
    // head for seq 8; the customer kept the old one.
    let signer = Signer::from_seed([3; 32]);
    let forged = synthetic::log(
        tenant(),
        10,
        &signer,
        start() + chrono::Duration::seconds(1),
        4,
        |_| {},
    );
    let kept = w.checkpoints[1].clone();
    let mut verifier = Verifier::new(w.keys.clone());
    verifier
        .add_checkpoint(&kept)
        .expect("the kept one verifies");
    let theirs = forged[1].published();
    match verifier.add_checkpoint(&theirs) {
        Err(Problem::Checkpoint { seq: 8, reason, .. }) => {
            assert!(reason.contains("says otherwise"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // The same checkpoint twice is fine.
    let mut verifier = Verifier::new(w.keys.clone());
    verifier.add_checkpoint(&kept).expect("once");
    verifier.add_checkpoint(&kept).expect("twice");
}

#[test]
fn records_past_the_newest_checkpoint_are_reported_as_not_signed_yet() {
    let mut w = world();
    w.checkpoints.truncate(2);
    let summary = verify(&w).expect("whole");
    assert_eq!(summary.signed_to, Some(8));
    assert!(
        summary
            .to_string()
            .contains("records seq 9–10 are not covered by a checkpoint yet"),
        "{summary}"
    );
}
