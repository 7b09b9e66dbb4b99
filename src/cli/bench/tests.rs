//! The bench's own helpers.
use super::*;

#[test]
fn kept_database_urls_are_printed_without_their_password() {
    for (url, shown) in [
        (
            "postgres://lockbox:s3cret@db.internal:5432/lockbox_bench_1",
            "postgres://lockbox:***@db.internal:5432/lockbox_bench_1",
        ),
        (
            "postgresql://u:p%40ss@h1,h2/db?sslmode=require&password=s3cret",
            "postgresql://u:***@h1,h2/db?sslmode=require&password=***",
        ),
        ("postgres://u@h/db", "postgres://u@h/db"),
        (
            "postgres://h/db?sslmode=disable",
            "postgres://h/db?sslmode=disable",
        ),
        (
            "host=h user=u password=s3cret dbname=d",
            "host=h user=u password=*** dbname=d",
        ),
        (
            "host=h password = 's3 cr\\'et' dbname=d",
            "host=h password=*** dbname=d",
        ),
    ] {
        assert_eq!(redacted(url), shown, "{url}");
        assert!(!redacted(url).contains("s3"), "{url}");
    }
    assert_eq!(
        redacted(&with_database(
            "postgres://u:s3cret@h:5432/main",
            "lockbox_bench_x"
        )),
        "postgres://u:***@h:5432/lockbox_bench_x"
    );
}
