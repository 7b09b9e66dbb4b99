use super::*;

#[test]
fn cursors_round_trip() {
    let c = Cursor {
        occurred_at: DateTime::from_timestamp_micros(1_772_441_000_123_456).expect("valid"),
        id: 42,
    };
    assert_eq!(Cursor::decode(&c.encode()), Some(c));
    assert_eq!(Cursor::decode("nonsense"), None);
    // Times PostgreSQL's timestamptz cannot hold are refused here
    // rather than failing the query.
    assert_eq!(Cursor::decode("-9223372036854775808.1"), None);
    assert_eq!(Cursor::decode("-8000000000000000000.1"), None);
    assert_eq!(Cursor::decode("253402300800000000.1"), None);
}

#[test]
fn like_patterns_are_escaped() {
    assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
}
