//! Issue 4's targets checked against a [`Report`]: each met or not, with the measured value.
//! Printed only; timing never fails the bench.

use std::fmt::Write as _;

use crate::report::Report;
use crate::scenario::Side;

/// Renders one line per target that the report has data for.
pub fn render(report: &Report) -> String {
    let mut out = String::from("\n## Targets (issue 4)\n\n");
    let mut line = |name: &str, measured: String, met: bool| {
        let mark = if met { "met" } else { "NOT met" };
        let _ = writeln!(out, "- {name}: {measured} -> {mark}");
    };
    for (label, floor, ratio_floor, rss_cap) in [
        ("email/full", 13_000.0, 30.0, 64.0),
        ("email/small", 40_000.0, 60.0, 32.0),
    ] {
        let Some(intake) = report.medians(label, Side::Intake) else {
            continue;
        };
        line(
            &format!("{label} >= {floor:.0} msgs/s"),
            format!("{:.0} msgs/s", intake.msgs_per_sec),
            intake.msgs_per_sec >= floor,
        );
        if let Some(peer) = report.medians(label, Side::Peer) {
            let ratio = intake.msgs_per_sec / peer.msgs_per_sec;
            line(
                &format!("{label} >= {ratio_floor:.0}x the peer"),
                format!("{ratio:.1}x"),
                ratio >= ratio_floor,
            );
        }
        if label == "email/full"
            && let Some((_, _, all)) = report.normalize.iter().find(|(l, _, _)| l == label)
        {
            let share = intake.msgs_per_sec / all.msgs_per_sec();
            line(
                &format!("{label} >= 0.6 of the normalizer alone (all cores)"),
                format!("{share:.2}"),
                share >= 0.6,
            );
        }
        line(
            &format!("{label} peak RSS <= {rss_cap:.0} MiB"),
            format!("{:.1} MiB", intake.rss_mib),
            intake.rss_mib <= rss_cap,
        );
    }
    if let (Some((small_n, small)), Some((large_n, large))) =
        (report.sizes.first(), report.sizes.last())
        && large_n > small_n
    {
        let growth = large.rss_mib() / small.rss_mib();
        line(
            &format!("peak RSS does not grow with mailbox size ({small_n} -> {large_n}, <= 1.25x)"),
            format!(
                "{:.1} -> {:.1} MiB ({growth:.2}x)",
                small.rss_mib(),
                large.rss_mib()
            ),
            growth <= 1.25,
        );
    }
    let firsts: Vec<f64> = report
        .runs
        .iter()
        .filter_map(|r| r.first_entry_ms)
        .collect();
    if !firsts.is_empty() {
        let first = crate::report::median(firsts);
        line(
            "start-up to first case <= 200 ms (median of all Intake runs)",
            format!("{first:.0} ms"),
            first <= 200.0,
        );
    }
    if let Some(best) = report
        .sink
        .iter()
        .map(|s| s.cases_per_sec())
        .max_by(f64::total_cmp)
    {
        line(
            "stream append path alone >= 100,000 cases/s",
            format!("{best:.0} cases/s (best batch size)"),
            best >= 100_000.0,
        );
    }
    out
}
