//! The customer quorum (issue 19) in the pure machine: for every quorum
//! 1–5, every state and every event, and for any order of approvals.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

const ENGINEER: StaffId = StaffId(Uuid::from_u128(1));
const MANAGER: StaffId = StaffId(Uuid::from_u128(2));

fn approver(n: u128) -> Actor {
    Actor::Customer(UserId(Uuid::from_u128(100 + n)))
}

fn snap(status: Status) -> Snapshot {
    Snapshot {
        status,
        engineer_id: ENGINEER,
        duration: Duration::hours(4),
        expires_at: (status == Status::PendingCustomer).then(|| t0() + Duration::hours(12)),
        ends_at: (status == Status::Approved).then(|| t0() + Duration::hours(4)),
    }
}

/// Every event, with every tally a quorum of `required` can carry.
fn events(required: u8) -> Vec<Event> {
    let mut all: Vec<Event> = Event::ALL
        .into_iter()
        .filter(|e| !matches!(e, Event::CustomerApprove(_)))
        .collect();
    for given in 0..required {
        for yours in [false, true] {
            all.push(Event::CustomerApprove(Tally {
                given,
                required,
                yours,
            }));
        }
    }
    all
}

fn natural_actor(event: Event) -> Actor {
    match event {
        Event::ManagerApprove { .. } | Event::ManagerReject => Actor::Manager(MANAGER),
        Event::CustomerApprove(_) | Event::CustomerDeny | Event::Revoke => approver(1),
        Event::Cancel => Actor::Engineer(ENGINEER),
        Event::Expire | Event::End => Actor::System,
    }
}

/// What the quorum changes: only an approval of a request waiting for its
/// customer; everything else is decided as with a single approver.
#[test]
fn every_quorum_state_and_event() {
    let p = Policy::default();
    let mut checked = 0;
    for required in 1..=5u8 {
        for status in Status::ALL {
            for event in events(required) {
                let got = transition(&snap(status), event, natural_actor(event), t0(), &p);
                match (status, event) {
                    (Status::PendingCustomer, Event::CustomerApprove(t)) if t.yours => {
                        assert_eq!(got, Err(Refusal::AlreadyApprovedByYou), "{t:?}");
                    }
                    (Status::PendingCustomer, Event::CustomerApprove(t)) => {
                        let t2 = got.expect("accepted");
                        if t.given + 1 == required {
                            assert_eq!(t2.to, Status::Approved, "{t:?}");
                            assert_eq!(t2.approved_at, Some(t0()));
                            assert_eq!(t2.ends_at, Some(t0() + Duration::hours(4)));
                        } else {
                            assert_eq!(t2.to, Status::PendingCustomer, "{t:?}");
                            assert_eq!((t2.approved_at, t2.ends_at), (None, None));
                            assert_eq!(t2.expires_at, snap(status).expires_at, "same deadline");
                        }
                    }
                    (_, Event::CustomerApprove(_)) => {
                        let single = Event::CustomerApprove(Tally::SINGLE);
                        let as_single = transition(&snap(status), single, approver(1), t0(), &p);
                        assert_eq!(got, as_single, "{status:?}: the state decides");
                        assert!(got.is_err(), "{status:?}");
                    }
                    _ => {}
                }
                checked += 1;
            }
        }
    }
    // 9 states × (8 other events + 2 × quorum tallies), over quorums 1–5.
    assert_eq!(checked, 9 * (8 * 5 + 2 * (1 + 2 + 3 + 4 + 5)));
}

#[test]
fn a_partial_approval_after_the_deadline_is_refused_as_expired() {
    let s = snap(Status::PendingCustomer);
    let deadline = t0() + Duration::hours(12);
    let tally = Tally {
        given: 1,
        required: 3,
        yours: false,
    };
    let at = |now| {
        transition(
            &s,
            Event::CustomerApprove(tally),
            approver(2),
            now,
            &Policy::default(),
        )
    };
    assert_eq!(
        at(deadline - Duration::microseconds(1)).map(|t| t.to),
        Ok(Status::PendingCustomer)
    );
    assert_eq!(at(deadline), Err(Refusal::Expired { at: deadline }));
}

#[test]
fn only_customers_approve_whatever_the_quorum() {
    let tally = Tally {
        given: 1,
        required: 2,
        yours: false,
    };
    for actor in [
        Actor::Manager(MANAGER),
        Actor::Engineer(ENGINEER),
        Actor::System,
    ] {
        assert_eq!(
            transition(
                &snap(Status::PendingCustomer),
                Event::CustomerApprove(tally),
                actor,
                t0(),
                &Policy::default()
            ),
            Err(Refusal::NotYourDecision)
        );
    }
}

/// Replays approvals by `who` (approver numbers, repeats allowed) the way
/// the database counts them: distinct approvers, in order. Returns the
/// index of the approval that approved the request, and how many were
/// recorded.
fn replay(required: u8, who: &[u8]) -> (Option<usize>, usize, bool) {
    let mut s = snap(Status::PendingCustomer);
    let mut approvers: Vec<u8> = Vec::new();
    let mut approved_at = None;
    let mut refused_twice = true;
    for (i, &n) in who.iter().enumerate() {
        let tally = Tally {
            given: u8::try_from(approvers.len()).expect("small"),
            required,
            yours: approvers.contains(&n),
        };
        let now = t0() + Duration::minutes(i64::try_from(i).expect("small"));
        match transition(
            &s,
            Event::CustomerApprove(tally),
            approver(u128::from(n)),
            now,
            &Policy::default(),
        ) {
            Ok(t) => {
                approvers.push(n);
                if t.to == Status::Approved {
                    approved_at = Some(i);
                }
                s.status = t.to;
                s.ends_at = t.ends_at;
            }
            Err(Refusal::AlreadyApprovedByYou) => refused_twice &= tally.yours,
            Err(_) => {}
        }
    }
    (approved_at, approvers.len(), refused_twice)
}

proptest! {
    /// Whatever the order and the repeats, the request is approved at the
    /// approval of the `required`-th distinct approver, never earlier, and
    /// nobody counts twice.
    #[test]
    fn the_quorum_th_distinct_approver_approves(
        required in 1..=5u8,
        who in proptest::collection::vec(0..6u8, 0..20),
    ) {
        let (approved, recorded, refused_twice) = replay(required, &who);
        let mut distinct: Vec<u8> = Vec::new();
        let mut expected = None;
        for (i, n) in who.iter().enumerate() {
            if !distinct.contains(n) && expected.is_none() {
                distinct.push(*n);
                if distinct.len() == usize::from(required) {
                    expected = Some(i);
                }
            }
        }
        prop_assert_eq!(approved, expected);
        prop_assert_eq!(recorded, distinct.len().min(usize::from(required)));
        prop_assert!(refused_twice);
    }
}
