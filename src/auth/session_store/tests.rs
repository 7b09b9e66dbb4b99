//! The session store's keys and deadlines, without a database.

use super::*;
use crate::i18n::Tz;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_441_000 + secs, 0).expect("valid")
}

fn csrf_only(token: &str) -> State {
    State::from([(CSRF.to_owned(), format!("\"{token}\""))])
}

#[test]
fn a_csrf_token_alone_travels_in_the_key_until_the_session_would_end() {
    let token = token::random_token();
    let key = anonymous_key(&csrf_only(&token), at(0)).expect("anonymous");
    assert!(key.as_ref().ends_with(&token));
    let twelve_hours = Duration::hours(12);
    assert_eq!(
        anonymous_state(&key, at(60), twelve_hours),
        Some(Some(csrf_only(&token)))
    );
    assert_eq!(
        anonymous_state(&key, at(12 * 3600), twelve_hours),
        Some(None),
        "too old"
    );
    assert_eq!(anonymous_state(&key, at(-60), twelve_hours), Some(None));
}

#[test]
fn anything_more_than_a_csrf_token_is_stored() {
    let token = token::random_token();
    let mut state = csrf_only(&token);
    state.insert("principal".into(), "\"someone\"".into());
    assert!(anonymous_key(&state, at(0)).is_none());
    assert!(anonymous_key(&csrf_only("short"), at(0)).is_none());
    assert!(anonymous_key(&State::new(), at(0)).is_none());
}

#[test]
fn malformed_anonymous_keys_carry_nothing_and_stored_keys_are_not_anonymous() {
    let hours = Duration::hours(12);
    for raw in [
        "anon.",
        "anon.x.y",
        "anon.1772441000.zz",
        "anon.99999999999999999999.00",
        &format!("anon.1772441000.{}", "g".repeat(64)),
    ] {
        let key = SessionKey::try_from(raw.to_owned()).expect("key");
        assert_eq!(anonymous_state(&key, at(0), hours), Some(None), "{raw}");
    }
    let stored = SessionKey::try_from(token::random_token()).expect("key");
    assert_eq!(anonymous_state(&stored, at(0), hours), None);
    assert!(!is_anonymous(&stored));
}

/// The account read with the session is handed over only inside the
/// request's scope, only for the id it was read for, and only as the type
/// it was read as; an account that is gone is handed over as gone.
#[tokio::test]
async fn the_account_is_handed_over_only_for_its_id_and_type() {
    let (id, other) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let hand = |account: Option<Handed>| {
        HANDED.with(|room| *room.borrow_mut() = Some(HandOver { id, account }));
    };
    assert_eq!(handed_over::<String>(id), None, "outside a scope");
    hand_over_scope(async {
        assert_eq!(handed_over::<String>(id), None, "nothing read yet");
        hand(Some((
            Box::new("someone".to_owned()),
            Tz::Europe__Amsterdam,
        )));
        assert_eq!(handed_over::<String>(id), Some(Some("someone".to_owned())));
        // Asked again (a handler may extract it twice): still there.
        assert_eq!(handed_over::<String>(id), Some(Some("someone".to_owned())));
        assert_eq!(handed_over_zone(id), Some(Tz::Europe__Amsterdam));
        assert_eq!(handed_over::<String>(other), None, "another account");
        assert_eq!(handed_over_zone(other), None);
        assert_eq!(handed_over::<u32>(id), None, "another type");
        hand(None);
        assert_eq!(handed_over::<String>(id), Some(None), "the account is gone");
        assert_eq!(handed_over_zone(id), None);
    })
    .await;
    assert_eq!(handed_over::<String>(id), None, "after the request");
}

/// Requests in progress at once on one worker each see their own account
/// only, however their polls interleave.
#[tokio::test]
async fn requests_at_once_see_only_their_own_account() {
    let request = |name: &'static str| async move {
        let id = uuid::Uuid::new_v4();
        hand_over_scope(async move {
            tokio::task::yield_now().await;
            let account: Handed = (Box::new(name.to_owned()), Tz::UTC);
            HANDED.with(|room| {
                *room.borrow_mut() = Some(HandOver {
                    id,
                    account: Some(account),
                })
            });
            for _ in 0..3 {
                tokio::task::yield_now().await;
                assert_eq!(handed_over::<String>(id), Some(Some(name.to_owned())));
            }
            id
        })
        .await
    };
    let (a, b) = tokio::join!(request("a"), request("b"));
    assert_ne!(a, b);
}
