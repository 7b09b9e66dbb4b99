//! Every mail in both languages: no key missing in either bundle.

use chrono::{TimeZone, Utc};

use super::*;
use crate::{
    i18n::Lang,
    identity::{RequestId, StaffId, TenantId},
    requests::{Status, Workload},
};

fn request() -> AccessRequest {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 29, 9, 0, 0)
        .single()
        .expect("time");
    AccessRequest {
        id: RequestId(uuid::Uuid::from_u128(7)),
        tenant_id: TenantId(uuid::Uuid::from_u128(1)),
        tenant_name: "Contoso".into(),
        engineer_id: StaffId(uuid::Uuid::from_u128(2)),
        engineer_name: "Eve Engineer".into(),
        service_request: "SR-1000".into(),
        workload: Workload::Exchange,
        duration_minutes: 240,
        justification: "why".into(),
        status: Status::PendingCustomer,
        created_at: at,
        manager_id: None,
        expires_at: Some(at),
        approved_at: None,
        ends_at: None,
        closed_at: None,
        ticket_id: None,
        quorum: 1,
        approvals: Vec::new(),
    }
}

fn ticket() -> crate::requests::tickets::Ticket {
    let req = request();
    crate::requests::tickets::Ticket {
        id: uuid::Uuid::from_u128(9),
        tenant_id: req.tenant_id,
        tenant_name: req.tenant_name,
        number: "SR-20261129-1".into(),
        title: "Mail lost".into(),
        description: "Nothing arrives".into(),
        workload: Workload::Exchange,
        severity: crate::requests::tickets::Severity::A,
        open: true,
        opened_by: crate::identity::UserId(uuid::Uuid::from_u128(3)),
        opener_name: "Ada".into(),
        opened_at: req.created_at,
        closed_at: None,
        closed_by_name: None,
    }
}

/// Every mail of requests (this module's and the service requests' and
/// more-information ones, `tickets::mails`), in `lang`: subject, text,
/// HTML.
fn every_mail(lang: Lang) -> Vec<(String, String, String)> {
    use crate::requests::tickets::mails as t;
    let (tr, req, ticket) = (Tr::new(lang), request(), ticket());
    let mut notices = vec![
        waiting_notice(&tr, &req, &None, false),
        waiting_notice(&tr, &req, &Some(("Mail lost".into(), "Ada".into())), true),
        manager_notice(&tr, &req),
        tenant_notice(&tr, &req, TenantNews::Cancelled, "Ada", req.created_at),
        tenant_notice(&tr, &req, TenantNews::Revoked, "Ada", req.created_at),
        t::reply_notice(&tr, &ticket, "We fixed it."),
        t::critical_notice(&tr, &ticket),
        t::cancelled_notice(&tr, &req, &ticket),
        t::question_notice(&tr, &req, "Why?"),
        t::answer_notice(&tr, &req, "Because."),
    ];
    for required in [2, 3] {
        let tally = crate::requests::Tally {
            given: 0,
            required,
            yours: false,
        };
        notices.push(quorum::more_needed_notice(&tr, &req, "Ada", tally));
    }
    for news in EngineerNews::ALL {
        notices.push(engineer_notice(
            &tr,
            &req,
            news,
            req.created_at,
            Some(req.created_at),
        ));
    }
    notices
        .into_iter()
        .map(|(subject, n)| {
            let (text, html) = n.render().expect("render");
            (subject, text, html)
        })
        .collect()
}

fn keys_of(bundle: &str) -> std::collections::BTreeSet<String> {
    bundle
        .lines()
        .filter(|l| l.starts_with("mail-") && l.contains(" = "))
        .filter_map(|l| l.split(" = ").next().map(str::to_owned))
        .collect()
}

#[test]
fn every_mail_key_exists_in_english_and_dutch() {
    let en = keys_of(include_str!("../../../templates/i18n/en-US/lockbox.ftl"));
    let nl = keys_of(include_str!("../../../templates/i18n/nl/lockbox.ftl"));
    assert_eq!(en, nl, "the same mail keys in both languages");
    for lang in Lang::ALL {
        for (subject, text, html) in every_mail(lang) {
            for part in [&subject, &text, &html] {
                // A missing key comes back as its name (or an error text).
                assert!(
                    !part.contains("mail-") && !part.contains("Unknown"),
                    "{lang:?}: {part}"
                );
                assert!(!part.contains("http") && !part.contains('@'), "{part}");
            }
        }
    }
}

#[test]
fn dutch_mail_is_dutch() {
    let (en, nl) = (every_mail(Lang::En), every_mail(Lang::Nl));
    for (e, n) in en.iter().zip(&nl) {
        assert_ne!(e.0, n.0, "subjects differ");
        assert_ne!(e.1, n.1, "texts differ");
    }
    assert!(nl[0].0.starts_with("Customer Lockbox: goedkeuring nodig"));
    assert!(nl[0].2.contains("lang=\"nl\""));
}

#[test]
fn text_facts_line_up() {
    let (_, text, _) = &every_mail(Lang::En)[0];
    assert!(text.contains("Service request number: SR-1000"), "{text}");
    assert!(
        text.contains("Workload:               Exchange Online"),
        "{text}"
    );
}
