//! The times in the content stores' tables: written in UTC to the minute
//! ([`time`]), so every interface gets the same table (the JSON API keeps
//! them so); a page shows them in its reader's zone ([`Table::with_times`],
//! issue 22).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::store::Table;

/// The columns whose cells are times.
pub const TIME_COLUMNS: [&str; 3] = ["Newest item", "Received", "Modified at"];
/// How a store writes a time.
const FORMAT: &str = "%Y-%m-%d %H:%M UTC";

/// A time as the stores write it.
pub fn time(at: DateTime<Utc>) -> String {
    at.format(FORMAT).to_string()
}

impl Table {
    /// The table with every time (a cell of a [`TIME_COLUMNS`] column, as
    /// [`time`] wrote it) written by `show` instead.
    pub fn with_times(mut self, show: impl Fn(DateTime<Utc>) -> String) -> Self {
        let at: Vec<usize> = (self.columns.iter().enumerate())
            .filter(|(_, c)| TIME_COLUMNS.contains(c))
            .map(|(i, _)| i)
            .collect();
        for cell in self.rows.iter_mut().flat_map(|row| {
            row.iter_mut()
                .enumerate()
                .filter(|(i, _)| at.contains(i))
                .map(|(_, cell)| cell)
        }) {
            if let Ok(t) = NaiveDateTime::parse_from_str(cell, FORMAT) {
                *cell = show(t.and_utc());
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn only_the_time_columns_are_shown_in_the_readers_zone() {
        let at = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        let table = Table {
            columns: vec!["Subject", "Received"],
            rows: vec![vec![time(at), time(at)], vec!["x".into(), String::new()]],
        };
        let shown = table.with_times(|t| crate::i18n::fmt_time_in(chrono_tz::Europe::Amsterdam, t));
        assert_eq!(
            shown.rows,
            vec![
                vec![
                    "2026-03-29 01:00 UTC".to_owned(),
                    "2026-03-29 03:00:00 CEST".to_owned()
                ],
                vec!["x".to_owned(), String::new()],
            ]
        );
    }
}
