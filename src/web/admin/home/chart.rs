//! The home page's chart of requests per week by outcome, laid out on the
//! server as SVG (no script): one stacked bar per week, each outcome in
//! its own pattern (readable without colour), the week's total written
//! above its bar, and the same numbers as a table for screen readers and
//! anyone who prefers text.

use chrono::Datelike;

use crate::{
    i18n::Tr,
    requests::home::{Outcome, WeekCounts},
};

/// The drawing's coordinate system (it scales to the page's width).
pub const WIDTH: u32 = 480;
pub const HEIGHT: u32 = 210;
/// Room above the tallest bar for its total.
const TOP: u32 = 22;
/// Room below the bars for the week labels.
const BOTTOM: u32 = 34;
/// The bars' height at the largest week.
const PLOT: u32 = HEIGHT - TOP - BOTTOM;
const BAR: u32 = 26;

/// One outcome's part of a week's bar.
pub struct Segment {
    pub slug: &'static str,
    pub y: u32,
    pub height: u32,
}

/// One week: its bar, its labels and its row of the table.
pub struct Bar {
    pub x: u32,
    /// The centre of the bar, where its labels stand.
    pub mid: u32,
    /// Where the total is written (above the bar).
    pub total_y: u32,
    pub total: i64,
    /// "W10" under the bar.
    pub short: String,
    /// "Week of 2026-03-02" in the table.
    pub label: String,
    pub segments: Vec<Segment>,
    /// The week's count per outcome, in [`Outcome::ALL`]'s order.
    pub counts: Vec<i64>,
}

pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// The line the bars stand on.
    pub baseline: u32,
    pub bars: Vec<Bar>,
    /// The outcomes in order: (slug, name).
    pub outcomes: Vec<(&'static str, String)>,
    /// The drawing's text alternative (`<desc>`): the totals by outcome.
    pub desc: String,
    /// No request in any of the weeks: the page says so instead.
    pub empty: bool,
}

impl Chart {
    pub fn new(tr: &Tr, weeks: &[WeekCounts]) -> Self {
        let most = weeks
            .iter()
            .map(WeekCounts::total)
            .max()
            .unwrap_or(0)
            .max(1);
        let baseline = TOP + PLOT;
        let slot = WIDTH / u32::try_from(weeks.len().max(1)).unwrap_or(1);
        let bars = weeks
            .iter()
            .zip(0u32..)
            .map(|(week, i)| {
                let x = i * slot + (slot.saturating_sub(BAR)) / 2;
                let height_of = |count: i64| scale(count, most);
                let mut below = 0;
                let mut segments = Vec::new();
                for outcome in Outcome::ALL {
                    let count = week.count(outcome);
                    if count == 0 {
                        continue;
                    }
                    // Cumulative heights, so rounding never drifts.
                    let top = height_of(below + count);
                    let bottom = height_of(below);
                    segments.push(Segment {
                        slug: outcome.slug(),
                        y: baseline - top,
                        height: top - bottom,
                    });
                    below += count;
                }
                let date = week.start.format("%Y-%m-%d").to_string();
                Bar {
                    x,
                    mid: x + BAR / 2,
                    total_y: baseline - height_of(week.total()) - 6,
                    total: week.total(),
                    short: tr.t1(
                        "home-chart-week-short",
                        "week",
                        &week.start.iso_week().week().to_string(),
                    ),
                    label: tr.t1("home-chart-week-of", "date", &date),
                    segments,
                    counts: Outcome::ALL.iter().map(|o| week.count(*o)).collect(),
                }
            })
            .collect();
        let sum = |o: Outcome| weeks.iter().map(|w| w.count(o)).sum::<i64>().to_string();
        Self {
            width: WIDTH,
            height: HEIGHT,
            baseline,
            bars,
            outcomes: Outcome::ALL
                .iter()
                .map(|o| (o.slug(), tr.t(&format!("home-outcome-{}", o.slug()))))
                .collect(),
            desc: tr.t_args(
                "home-chart-desc",
                &[
                    ("approved", &sum(Outcome::Approved)),
                    ("denied", &sum(Outcome::Denied)),
                    ("expired", &sum(Outcome::Expired)),
                    ("withdrawn", &sum(Outcome::Withdrawn)),
                    ("waiting", &sum(Outcome::Waiting)),
                ],
            ),
            empty: weeks.iter().all(|w| w.total() == 0),
        }
    }
}

/// The height of `count` requests when `most` fill the plot.
fn scale(count: i64, most: i64) -> u32 {
    let h = count.saturating_mul(i64::from(PLOT)) / most.max(1);
    u32::try_from(h.clamp(0, i64::from(PLOT))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_week_fills_the_plot_and_the_rest_scale() {
        assert_eq!(scale(4, 4), PLOT);
        assert_eq!(scale(2, 4), PLOT / 2);
        assert_eq!(scale(0, 4), 0);
        assert_eq!(scale(1, 0), PLOT, "never divides by zero");
    }
}
