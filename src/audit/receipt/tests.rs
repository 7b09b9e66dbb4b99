//! The documented receipt vector and the binding to the audit record.
use super::*;

/// README, "Decision receipts": the Ed25519 seed 32 bytes of 0x42, tenant
/// 01234567-89ab-cdef-0123-456789abcdef, request
/// 00000000-0000-0000-0000-000000000001, decision Approve by user
/// 00000000-0000-0000-0000-000000000002 "Ada", comment "ok", time
/// 2026-03-02T09:00:00.5Z, fingerprint the bytes 0x00..0x1f, record 42.
fn vector() -> (Signer, Receipt) {
    let signer = Signer::from_seed([0x42; 32]);
    let mut fingerprint = [0u8; 32];
    for (i, b) in fingerprint.iter_mut().enumerate() {
        *b = i as u8;
    }
    let statement = Statement {
        tenant_id: TenantId(uuid::Uuid::from_u128(
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        )),
        audit_record: 42,
        request_id: RequestId(uuid::Uuid::from_u128(1)),
        decision: "Approve",
        approver: "00000000-0000-0000-0000-000000000002",
        approver_name: "Ada",
        comment: "ok",
        decided_at: DateTime::parse_from_rfc3339("2026-03-02T09:00:00.5Z")
            .expect("valid")
            .with_timezone(&Utc),
        request_fingerprint: fingerprint,
    };
    let receipt = Receipt::sign(&signer, &statement);
    (signer, receipt)
}

#[test]
fn the_signed_bytes_and_signature_match_the_documented_vector() {
    let (signer, receipt) = vector();
    let bytes = receipt.signed_bytes();
    assert!(bytes.starts_with(b"lockbox-receipt-v1\0\0\0\0\0\0\0\x24"));
    assert_eq!(crate::digest::hex(&bytes), SIGNED_BYTES);
    assert_eq!(crate::digest::hex(&receipt.signature), SIGNATURE);
    let keys = PublicKeys::from_pem(&crate::signing::PublicKeys::pem_of(&signer.public_key()))
        .expect("pem");
    assert_eq!(receipt.verify(&keys), Verdict::Valid);
}

#[test]
fn a_receipt_read_back_verifies_and_any_change_breaks_it() {
    let (signer, receipt) = vector();
    let keys = PublicKeys::from_pem(&crate::signing::PublicKeys::pem_of(&signer.public_key()))
        .expect("pem");
    let published = receipt.published();
    let back = Receipt::from_published(&published).expect("parses");
    assert_eq!(back, receipt);
    assert_eq!(back.verify(&keys), Verdict::Valid);
    let mut denied = published.clone();
    denied.decision = "Deny".into();
    let denied = Receipt::from_published(&denied).expect("parses");
    assert_eq!(denied.verify(&keys), Verdict::Invalid);
    let mut other = published;
    other.audit_record = 43;
    let other = Receipt::from_published(&other).expect("parses");
    assert_eq!(other.verify(&keys), Verdict::Invalid);
}

#[test]
fn the_receipt_matches_only_its_own_audit_record() {
    let (_, receipt) = vector();
    let params = serde_json::json!({
        "ApprovalDecision": "Approve",
        "Comment": "ok",
        "RequestFingerprint": crate::digest::hex(&receipt.request_fingerprint),
    });
    let record = Chained {
        tenant_id: receipt.tenant_id,
        seq: 9,
        occurred_at: receipt.decided_at,
        actor_id: "00000000-0000-0000-0000-000000000002",
        actor_name: "Ada",
        ip: "10.0.0.1",
        activity: super::super::activity::SET_REQUEST,
        item: "x",
        request_id: Some(receipt.request_id),
        parameters: &params,
    };
    assert_eq!(receipt.contradicts(42, &record), None);
    assert!(receipt.contradicts(41, &record).is_some());
    let deny = serde_json::json!({
        "ApprovalDecision": "Deny",
        "Comment": "ok",
        "RequestFingerprint": crate::digest::hex(&receipt.request_fingerprint),
    });
    let denied = Chained {
        parameters: &deny,
        ..record.clone()
    };
    assert!(receipt.contradicts(42, &denied).is_some());
    let changed = serde_json::json!({
        "ApprovalDecision": "Approve",
        "Comment": "ok!",
        "RequestFingerprint": crate::digest::hex(&receipt.request_fingerprint),
    });
    let commented = Chained {
        parameters: &changed,
        ..record
    };
    assert!(receipt.contradicts(42, &commented).is_some());
}

/// `openssl pkeyutl -sign -rawin` with the seed's PKCS#8 key gives the
/// same signature over these bytes.
const SIGNED_BYTES: &str = concat!(
    "6c6f636b626f782d726563656970742d7631",
    "0000000000000024",
    "30303030303030302d303030302d303030302d303030302d303030303030303030303031",
    "0000000000000024",
    "30313233343536372d383961622d636465662d303132332d343536373839616263646566",
    "0000000000000007",
    "417070726f7665",
    "0000000000000024",
    "30303030303030302d303030302d303030302d303030302d303030303030303030303032",
    "0000000000000003",
    "416461",
    "0000000000000040",
    "32363839333637623230356331366365333265643432303039343262386238623165323632646663373064396263396662633737633439363939613466316466",
    "000000000000001b",
    "323032362d30332d30325430393a30303a30302e3530303030305a",
    "0000000000000040",
    "30303031303230333034303530363037303830393061306230633064306530663130313131323133313431353136313731383139316131623163316431653166",
    "0000000000000002",
    "3432",
    "0000000000000010",
    "33303937653264656532636234613334",
);
const SIGNATURE: &str = concat!(
    "5874b7758ce1dd4db4299222176b2a83a69cdbc70e456f8578c07ce15fa38e87",
    "2bc1a2c946defdfba0fdac0168fa102d1df6e6c9e48ed1985194fdafa6137504",
);
