//! The request state machine of SPEC.md §2, as a pure function:
//! (snapshot, event, actor, now, policy) → the transition, or a refusal that
//! says why in words a person can act on. No I/O, no clock: `now` is given.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::identity::{StaffId, UserId};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    PendingManager,
    PendingCustomer,
    Approved,
    Rejected,
    Denied,
    Expired,
    Cancelled,
    Revoked,
    Ended,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::PendingManager,
        Status::PendingCustomer,
        Status::Approved,
        Status::Rejected,
        Status::Denied,
        Status::Expired,
        Status::Cancelled,
        Status::Revoked,
        Status::Ended,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            Status::PendingManager => "pending_manager",
            Status::PendingCustomer => "pending_customer",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Denied => "denied",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
            Status::Revoked => "revoked",
            Status::Ended => "ended",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|s| s.as_db() == value)
    }

    /// The name shown to people (and used in the SPEC).
    pub fn name(self) -> &'static str {
        match self {
            Status::PendingManager => "PendingManager",
            Status::PendingCustomer => "PendingCustomer",
            Status::Approved => "Approved",
            Status::Rejected => "Rejected",
            Status::Denied => "Denied",
            Status::Expired => "Expired",
            Status::Cancelled => "Cancelled",
            Status::Revoked => "Revoked",
            Status::Ended => "Ended",
        }
    }

    /// The translation key of the status label.
    pub fn label_key(self) -> &'static str {
        match self {
            Status::PendingManager => "status-pending-manager",
            Status::PendingCustomer => "status-pending-customer",
            Status::Approved => "status-approved",
            Status::Rejected => "status-rejected",
            Status::Denied => "status-denied",
            Status::Expired => "status-expired",
            Status::Cancelled => "status-cancelled",
            Status::Revoked => "status-revoked",
            Status::Ended => "status-ended",
        }
    }

    pub fn is_pending(self) -> bool {
        matches!(self, Status::PendingManager | Status::PendingCustomer)
    }

    pub fn is_final(self) -> bool {
        !self.is_pending() && self != Status::Approved
    }
}

/// What can happen to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// First approval; `lockbox_on` is the tenant's switch at this moment.
    ManagerApprove {
        lockbox_on: bool,
    },
    ManagerReject,
    /// One approver's approval, with the request's approvals so far (read
    /// under its row lock when the decision is applied).
    CustomerApprove(Tally),
    CustomerDeny,
    Cancel,
    Revoke,
    /// The customer's decision deadline passed (recorded by the system).
    Expire,
    /// The access window closed (recorded by the system).
    End,
}

impl Event {
    pub const ALL: [Event; 9] = [
        Event::ManagerApprove { lockbox_on: true },
        Event::ManagerApprove { lockbox_on: false },
        Event::ManagerReject,
        Event::CustomerApprove(Tally::SINGLE),
        Event::CustomerDeny,
        Event::Cancel,
        Event::Revoke,
        Event::Expire,
        Event::End,
    ];

    /// The timeline's name for the event.
    pub fn as_db(self) -> &'static str {
        match self {
            Event::ManagerApprove { .. } => "manager_approved",
            Event::ManagerReject => "manager_rejected",
            Event::CustomerApprove(_) => "customer_approved",
            Event::CustomerDeny => "customer_denied",
            Event::Cancel => "cancelled",
            Event::Revoke => "revoked",
            Event::Expire => "expired",
            Event::End => "ended",
        }
    }
}

/// The customer quorum of a request waiting for its customer (issue 19):
/// how many distinct approvers approved it so far, how many must (the
/// quorum it was created under), and whether the one approving now is
/// already among them. The machine decides from it whether an approval
/// completes the quorum; the counting itself is the database's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub given: u8,
    pub required: u8,
    pub yours: bool,
}

impl Tally {
    /// One approver decides (the default quorum, and every request before
    /// quorums existed).
    pub const SINGLE: Tally = Tally {
        given: 0,
        required: 1,
        yours: false,
    };

    /// Whether one more approval reaches the quorum.
    pub fn completes(self) -> bool {
        u16::from(self.given) + 1 >= u16::from(self.required)
    }
}

/// Who causes an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Engineer(StaffId),
    Manager(StaffId),
    /// A global administrator or approver of the request's tenant.
    Customer(UserId),
    System,
}

impl Actor {
    pub fn kind(self) -> &'static str {
        match self {
            Actor::Engineer(_) => "engineer",
            Actor::Manager(_) => "manager",
            Actor::Customer(_) => "customer",
            Actor::System => "system",
        }
    }

    pub fn id(self) -> Option<Uuid> {
        match self {
            Actor::Engineer(id) | Actor::Manager(id) => Some(id.0),
            Actor::Customer(id) => Some(id.0),
            Actor::System => None,
        }
    }
}

/// The deployment's time rules (bounded in [`crate::config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub pending_lifetime: Duration,
    pub max_window: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            pending_lifetime: Duration::hours(12),
            max_window: Duration::hours(4),
        }
    }
}

/// What the machine needs to know about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub status: Status,
    pub engineer_id: StaffId,
    pub duration: Duration,
    pub expires_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl Snapshot {
    /// The state time has already decided, whatever is stored: a pending
    /// request is expired from its deadline on, an approved one ended from
    /// the end of its window on. Returns the state and, for a time-decided
    /// state, the instant it began.
    pub fn effective(&self, now: DateTime<Utc>) -> (Status, Option<DateTime<Utc>>) {
        match (self.status, self.expires_at, self.ends_at) {
            (Status::PendingCustomer, Some(deadline), _) if now >= deadline => {
                (Status::Expired, Some(deadline))
            }
            (Status::Approved, _, Some(end)) if now >= end => (Status::Ended, Some(end)),
            (status, _, _) => (status, None),
        }
    }
}

/// An accepted transition: the new state and the deadlines it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: Status,
    /// When the event takes effect: `now`, or the deadline for time events.
    pub at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// Why an event was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request already reached a final state (or, for the loser of a
    /// race, the state the winner moved it to).
    AlreadyDecided { status: Status },
    /// The customer's decision deadline passed at `at`.
    Expired { at: DateTime<Utc> },
    /// The access window closed at `at`.
    WindowEnded { at: DateTime<Utc> },
    /// Not something that can happen in this state.
    NotInThisState { status: Status },
    /// A manager may not decide on a request they filed.
    TwoPersonRule,
    /// An engineer may only cancel their own request.
    NotYourRequest,
    /// This kind of actor may not cause this event.
    NotYourDecision,
    /// A time event before its deadline.
    NotYetDue,
    /// This approver already approved; the quorum needs someone else.
    AlreadyApprovedByYou,
}

/// Applies `event` by `actor` at `now` to the request.
pub fn transition(
    snap: &Snapshot,
    event: Event,
    actor: Actor,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Transition, Refusal> {
    let (status, since) = snap.effective(now);
    let stay = |to: Status, at: DateTime<Utc>| Transition {
        to,
        at,
        expires_at: snap.expires_at,
        approved_at: None,
        ends_at: snap.ends_at,
    };
    let approve_now = || Transition {
        to: Status::Approved,
        at: now,
        expires_at: snap.expires_at,
        approved_at: Some(now),
        // A window never outlasts the deployment's maximum, even for a
        // request filed before the maximum was lowered.
        ends_at: Some(now + snap.duration.min(policy.max_window)),
    };

    // Time events: only the system records them, and only once due.
    match event {
        Event::Expire | Event::End => {
            if actor != Actor::System {
                return Err(Refusal::NotYourDecision);
            }
            let wanted = if event == Event::Expire {
                Status::Expired
            } else {
                Status::Ended
            };
            return match (snap.status, status, since) {
                (stored, eff, Some(at)) if eff == wanted && stored != eff => Ok(stay(wanted, at)),
                (Status::PendingCustomer, _, _) | (Status::Approved, _, _) => {
                    Err(Refusal::NotYetDue)
                }
                (stored, _, _) => Err(refusal_for_state(stored)),
            };
        }
        // The system cancels too: when the ticket a request cites is closed.
        _ if actor == Actor::System && event != Event::Cancel => {
            return Err(Refusal::NotYourDecision);
        }
        _ => {}
    }

    // Time has decided even if nobody recorded it yet.
    if let Some(at) = since {
        return Err(if status == Status::Expired {
            Refusal::Expired { at }
        } else {
            Refusal::WindowEnded { at }
        });
    }

    match (status, event, actor) {
        (Status::PendingManager, Event::ManagerApprove { lockbox_on }, Actor::Manager(m)) => {
            if m == snap.engineer_id {
                Err(Refusal::TwoPersonRule)
            } else if lockbox_on {
                Ok(Transition {
                    to: Status::PendingCustomer,
                    at: now,
                    expires_at: Some(now + policy.pending_lifetime),
                    approved_at: None,
                    ends_at: None,
                })
            } else {
                Ok(approve_now())
            }
        }
        (Status::PendingManager, Event::ManagerReject, Actor::Manager(m)) => {
            if m == snap.engineer_id {
                Err(Refusal::TwoPersonRule)
            } else {
                Ok(stay(Status::Rejected, now))
            }
        }
        (Status::PendingManager, Event::ManagerApprove { .. } | Event::ManagerReject, _) => {
            Err(Refusal::NotYourDecision)
        }

        (Status::PendingCustomer, Event::CustomerApprove(tally), Actor::Customer(_)) => {
            if tally.yours {
                Err(Refusal::AlreadyApprovedByYou)
            } else if tally.completes() {
                Ok(approve_now())
            } else {
                // A partial approval: recorded, the request keeps waiting
                // (and keeps its deadline: it applies to the whole quorum).
                Ok(stay(Status::PendingCustomer, now))
            }
        }
        (Status::PendingCustomer, Event::CustomerDeny, Actor::Customer(_)) => {
            Ok(stay(Status::Denied, now))
        }
        (Status::PendingCustomer, Event::CustomerApprove(_) | Event::CustomerDeny, _) => {
            Err(Refusal::NotYourDecision)
        }

        (Status::PendingManager | Status::PendingCustomer, Event::Cancel, actor) => match actor {
            Actor::Engineer(e) if e == snap.engineer_id => Ok(stay(Status::Cancelled, now)),
            Actor::Engineer(_) => Err(Refusal::NotYourRequest),
            Actor::Customer(_) | Actor::System => Ok(stay(Status::Cancelled, now)),
            _ => Err(Refusal::NotYourDecision),
        },

        (Status::Approved, Event::Revoke, Actor::Customer(_)) => Ok(stay(Status::Revoked, now)),
        (Status::Approved, Event::Revoke, _) => Err(Refusal::NotYourDecision),

        (status, _, _) => Err(refusal_for_state(status)),
    }
}

fn refusal_for_state(status: Status) -> Refusal {
    if status.is_final() {
        Refusal::AlreadyDecided { status }
    } else {
        Refusal::NotInThisState { status }
    }
}

#[cfg(test)]
mod quorum_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    const ENGINEER: StaffId = StaffId(Uuid::from_u128(1));
    const MANAGER: StaffId = StaffId(Uuid::from_u128(2));
    const CUSTOMER: UserId = UserId(Uuid::from_u128(3));

    /// A request stored in `status`, with deadlines far in the future.
    fn snap(status: Status) -> Snapshot {
        Snapshot {
            status,
            engineer_id: ENGINEER,
            duration: Duration::hours(4),
            expires_at: (status == PendingCustomer).then(|| t0() + Duration::hours(12)),
            ends_at: (status == Approved).then(|| t0() + Duration::hours(4)),
        }
    }

    /// The natural actor of each event.
    fn actor_for(event: Event) -> Actor {
        match event {
            Event::ManagerApprove { .. } | Event::ManagerReject => Actor::Manager(MANAGER),
            Event::CustomerApprove(_) | Event::CustomerDeny | Event::Revoke => {
                Actor::Customer(CUSTOMER)
            }
            Event::Cancel => Actor::Engineer(ENGINEER),
            Event::Expire | Event::End => Actor::System,
        }
    }

    /// The whole table: every (state × event) pair, with its natural actor.
    #[test]
    fn every_state_and_event_pair() {
        use Event::*;
        let expected = |s: Status, e: Event| -> Result<Status, Refusal> {
            match (s, e) {
                (PendingManager, ManagerApprove { lockbox_on: true }) => Ok(PendingCustomer),
                (PendingManager, ManagerApprove { lockbox_on: false }) => Ok(Approved),
                (PendingManager, ManagerReject) => Ok(Rejected),
                (PendingManager | PendingCustomer, Cancel) => Ok(Cancelled),
                (PendingCustomer, CustomerApprove(_)) => Ok(Approved),
                (PendingCustomer, CustomerDeny) => Ok(Denied),
                (PendingCustomer | Approved, Expire | End) => Err(Refusal::NotYetDue),
                (Approved, Revoke) => Ok(Revoked),
                (s, _) if s.is_final() => Err(Refusal::AlreadyDecided { status: s }),
                (s, _) => Err(Refusal::NotInThisState { status: s }),
            }
        };
        let mut checked = 0;
        for status in Status::ALL {
            for event in Event::ALL {
                let got = transition(
                    &snap(status),
                    event,
                    actor_for(event),
                    t0(),
                    &Policy::default(),
                )
                .map(|t| t.to);
                assert_eq!(got, expected(status, event), "{status:?} × {event:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 81);
    }

    #[test]
    fn manager_approval_sets_the_customer_deadline_or_the_window() {
        let policy = Policy {
            pending_lifetime: Duration::hours(12),
            max_window: Duration::hours(4),
        };
        let on = transition(
            &snap(PendingManager),
            Event::ManagerApprove { lockbox_on: true },
            Actor::Manager(MANAGER),
            t0(),
            &policy,
        )
        .expect("allowed");
        assert_eq!(on.expires_at, Some(t0() + Duration::hours(12)));
        assert_eq!(on.ends_at, None);

        let off = transition(
            &snap(PendingManager),
            Event::ManagerApprove { lockbox_on: false },
            Actor::Manager(MANAGER),
            t0(),
            &policy,
        )
        .expect("allowed");
        assert_eq!(off.approved_at, Some(t0()));
        assert_eq!(off.ends_at, Some(t0() + Duration::hours(4)));
    }

    #[test]
    fn a_manager_cannot_decide_their_own_request() {
        let own = Snapshot {
            engineer_id: MANAGER,
            ..snap(PendingManager)
        };
        for event in [
            Event::ManagerApprove { lockbox_on: true },
            Event::ManagerReject,
        ] {
            assert_eq!(
                transition(
                    &own,
                    event,
                    Actor::Manager(MANAGER),
                    t0(),
                    &Policy::default()
                ),
                Err(Refusal::TwoPersonRule)
            );
        }
    }

    #[test]
    fn only_the_right_people_decide() {
        let p = Policy::default();
        let other_engineer = Actor::Engineer(StaffId(Uuid::from_u128(9)));
        assert_eq!(
            transition(
                &snap(PendingManager),
                Event::Cancel,
                other_engineer,
                t0(),
                &p
            ),
            Err(Refusal::NotYourRequest)
        );
        assert_eq!(
            transition(
                &snap(PendingManager),
                Event::ManagerReject,
                Actor::Engineer(ENGINEER),
                t0(),
                &p
            ),
            Err(Refusal::NotYourDecision)
        );
        assert_eq!(
            transition(
                &snap(PendingCustomer),
                Event::CustomerApprove(Tally::SINGLE),
                Actor::Manager(MANAGER),
                t0(),
                &p
            ),
            Err(Refusal::NotYourDecision)
        );
        assert_eq!(
            transition(
                &snap(Approved),
                Event::Revoke,
                Actor::Engineer(ENGINEER),
                t0(),
                &p
            ),
            Err(Refusal::NotYourDecision)
        );
        assert_eq!(
            transition(
                &snap(PendingCustomer),
                Event::Cancel,
                Actor::Customer(CUSTOMER),
                t0(),
                &p
            )
            .map(|t| t.to),
            Ok(Cancelled)
        );
        assert_eq!(
            transition(
                &snap(PendingManager),
                Event::Cancel,
                Actor::System,
                t0(),
                &p
            )
            .map(|t| t.to),
            Ok(Cancelled)
        );
        assert_eq!(
            transition(
                &snap(PendingCustomer),
                Event::CustomerApprove(Tally::SINGLE),
                Actor::System,
                t0(),
                &p
            ),
            Err(Refusal::NotYourDecision)
        );
    }

    #[test]
    fn a_pending_request_expires_exactly_at_its_deadline() {
        let p = Policy::default();
        let s = snap(PendingCustomer);
        let deadline = t0() + Duration::hours(12);
        let just_before = deadline - Duration::microseconds(1);

        assert_eq!(s.effective(just_before), (PendingCustomer, None));
        assert_eq!(s.effective(deadline), (Expired, Some(deadline)));

        let approve = |now| {
            transition(
                &s,
                Event::CustomerApprove(Tally::SINGLE),
                Actor::Customer(CUSTOMER),
                now,
                &p,
            )
        };
        assert_eq!(approve(just_before).map(|t| t.to), Ok(Approved));
        assert_eq!(approve(deadline), Err(Refusal::Expired { at: deadline }));

        let expire = |now| transition(&s, Event::Expire, Actor::System, now, &p);
        assert_eq!(expire(just_before), Err(Refusal::NotYetDue));
        let recorded = expire(deadline + Duration::hours(1)).expect("due");
        assert_eq!(
            (recorded.to, recorded.at),
            (Expired, deadline),
            "recorded at the deadline"
        );
    }

    #[test]
    fn an_access_window_closes_exactly_at_its_end() {
        let p = Policy::default();
        let s = snap(Approved);
        let end = t0() + Duration::hours(4);
        assert_eq!(
            s.effective(end - Duration::microseconds(1)),
            (Approved, None)
        );
        assert_eq!(s.effective(end), (Ended, Some(end)));
        assert_eq!(
            transition(&s, Event::Revoke, Actor::Customer(CUSTOMER), end, &p),
            Err(Refusal::WindowEnded { at: end })
        );
        assert_eq!(
            transition(&s, Event::End, Actor::System, end, &p).map(|t| (t.to, t.at)),
            Ok((Ended, end))
        );
        assert_eq!(
            transition(
                &s,
                Event::End,
                Actor::System,
                end - Duration::microseconds(1),
                &p
            ),
            Err(Refusal::NotYetDue)
        );
    }

    #[test]
    fn recorded_time_states_are_not_recorded_twice() {
        let p = Policy::default();
        let expired = Snapshot {
            status: Expired,
            ..snap(PendingCustomer)
        };
        assert_eq!(
            transition(
                &expired,
                Event::Expire,
                Actor::System,
                t0() + Duration::days(1),
                &p
            ),
            Err(Refusal::AlreadyDecided { status: Expired })
        );
    }

    #[test]
    fn a_window_never_outlasts_the_current_maximum() {
        let lowered = Policy {
            max_window: Duration::hours(1),
            ..Policy::default()
        };
        let t = transition(
            &snap(PendingCustomer),
            Event::CustomerApprove(Tally::SINGLE),
            Actor::Customer(CUSTOMER),
            t0(),
            &lowered,
        )
        .expect("allowed");
        assert_eq!(t.ends_at, Some(t0() + Duration::hours(1)));
    }

    #[test]
    fn the_approval_window_starts_at_the_customer_decision() {
        let p = Policy::default();
        let later = t0() + Duration::hours(3);
        let t = transition(
            &snap(PendingCustomer),
            Event::CustomerApprove(Tally::SINGLE),
            Actor::Customer(CUSTOMER),
            later,
            &p,
        )
        .expect("allowed");
        assert_eq!(t.approved_at, Some(later));
        assert_eq!(t.ends_at, Some(later + Duration::hours(4)));
    }
}
