//! The key files, the keyring, signatures and their test vector.
use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid")
        .with_timezone(&Utc)
}

#[test]
fn signatures_round_trip_and_a_changed_message_fails() {
    let signer = Signer::from_seed([7; 32]);
    let ring = PublicKeys {
        keys: vec![PublicKeyEntry::of(
            &signer.key.verifying_key(),
            at("2026-01-01T00:00:00Z"),
        )],
    };
    let sig = signer.sign(b"hello");
    assert_eq!(ring.verify(signer.key_id(), b"hello", &sig), Verdict::Valid);
    assert_eq!(
        ring.verify(signer.key_id(), b"hellO", &sig),
        Verdict::Invalid
    );
    assert_eq!(
        ring.verify("0000000000000000", b"hello", &sig),
        Verdict::UnknownKey
    );
    assert_eq!(
        ring.verify(signer.key_id(), b"hello", &sig[..10]),
        Verdict::Invalid
    );
}

#[test]
fn the_key_file_round_trips_and_rotation_keeps_old_public_keys() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("signing-key.pem");
    let first = Signer::load_or_create(&file, at("2026-01-01T00:00:00Z")).expect("created");
    let again = Signer::load_or_create(&file, at("2026-01-02T00:00:00Z")).expect("loaded");
    assert_eq!(first.public_key(), again.public_key());
    let old_sig = first.sign(b"old");
    let second = Signer::rotate(&file, at("2026-02-01T00:00:00Z")).expect("rotated");
    assert_ne!(first.key_id(), second.key_id());
    let ring = PublicKeys::load(&file).expect("ring");
    assert_eq!(ring.keys.len(), 2);
    assert_eq!(ring.keys[0].valid_until, Some(at("2026-02-01T00:00:00Z")));
    assert_eq!(
        ring.current().map(|k| k.key_id.as_str()),
        Some(second.key_id())
    );
    assert_eq!(
        ring.verify(first.key_id(), b"old", &old_sig),
        Verdict::Valid
    );
    let reloaded = Signer::load_or_create(&file, at("2026-03-01T00:00:00Z")).expect("loaded");
    assert_eq!(reloaded.key_id(), second.key_id());
}

#[cfg(unix)]
#[test]
fn a_key_file_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("signing-key.pem");
    Signer::load_or_create(&file, Utc::now()).expect("created");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let err = Signer::load_or_create(&file, Utc::now()).expect_err("refused");
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn the_key_id_and_pem_have_the_documented_form() {
    // RFC 8032 test 1: the seed 9d61…7f60 has the public key d75a…511a.
    let seed: [u8; 32] = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let signer = Signer::from_seed(seed);
    assert_eq!(
        crate::digest::hex(&signer.public_key()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    assert_eq!(
        crate::digest::hex(&signer.sign(b"")),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    let entry = PublicKeyEntry::of(&signer.key.verifying_key(), Utc::now());
    assert_eq!(entry.key_id.len(), 16);
    assert!(entry.fingerprint().starts_with(&entry.key_id));
    let pem = entry.pem();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"),
        "{pem}"
    );
    let private = signer.key.to_pkcs8_pem(LineEnding::LF).expect("pem");
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    // A v1 PKCS#8 key, as `openssl genpkey -algorithm ed25519` (and lockbox
    // before 0.2) write them, reads too: the seed 32 bytes of 0x42.
    let openssl = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIEJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC\n\
        -----END PRIVATE KEY-----\n";
    let v1 = Signer::parse_pem(Path::new("x"), openssl).expect("v1 parses");
    assert_eq!(v1.public_key(), Signer::from_seed([0x42; 32]).public_key());
    let back = Signer::parse_pem(Path::new("x"), &private).expect("parses");
    assert_eq!(back.public_key(), signer.public_key());
    let ring = PublicKeys::from_pem(&pem).expect("a public key PEM reads back");
    assert_eq!(ring.keys[0].key_id, entry.key_id);
    assert_eq!(PublicKeys::pem_of(&signer.public_key()), pem);
    assert!(
        PublicKeys::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_none()
    );
}

#[test]
fn a_signature_dated_outside_its_keys_validity_is_refused() {
    let signer = Signer::from_seed([9; 32]);
    let mut entry = PublicKeyEntry::of(&signer.key.verifying_key(), at("2026-02-01T00:00:00Z"));
    entry.valid_until = Some(at("2026-03-01T00:00:00Z"));
    let ring = PublicKeys { keys: vec![entry] };
    let sig = signer.sign(b"m");
    let id = signer.key_id();
    let verdict = |t| ring.verify_at(id, b"m", &sig, at(t));
    assert_eq!(verdict("2026-02-15T00:00:00Z"), Verdict::Valid);
    assert_eq!(
        verdict("2026-01-31T23:56:00Z"),
        Verdict::Valid,
        "within the skew"
    );
    assert_eq!(verdict("2026-01-31T23:54:00Z"), Verdict::OutsideValidity);
    assert_eq!(
        verdict("2026-03-01T00:04:00Z"),
        Verdict::Valid,
        "within the skew"
    );
    assert_eq!(verdict("2026-03-01T00:06:00Z"), Verdict::OutsideValidity);
    assert_eq!(
        ring.verify_at(id, b"n", &sig, at("2026-02-15T00:00:00Z")),
        Verdict::Invalid
    );
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

#[test]
fn a_pem_beside_the_keyring_does_not_lift_its_validity_and_a_doctored_keyring_is_refused() {
    let signer = Signer::from_seed([5; 32]);
    let pem = PublicKeys::pem_of(&signer.public_key());
    let mut entry = PublicKeyEntry::of(&signer.key.verifying_key(), at("2026-02-01T00:00:00Z"));
    entry.valid_until = Some(at("2026-03-01T00:00:00Z"));
    let ring = PublicKeys { keys: vec![entry] };
    let json = serde_json::to_string(&ring).expect("json");
    for order in [[pem.as_str(), json.as_str()], [json.as_str(), pem.as_str()]] {
        let mut keys = PublicKeys::default();
        for text in order {
            keys.extend(PublicKeys::from_file_text(text).expect("reads"));
        }
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(keys.keys[0].valid_until, Some(at("2026-03-01T00:00:00Z")));
    }
    let doctored = json.replace(signer.key_id(), "0000000000000000");
    assert!(PublicKeys::from_file_text(&doctored).is_none());
}
