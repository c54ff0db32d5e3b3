//! The printed report: every run, medians and ratios per scenario, the limits, and issue 4's
//! targets marked met or not. Timing never fails the bench; only completeness does.

use std::fmt::Write as _;

use crate::limits::{FetchRate, NormalizeRate, SinkRate};
use crate::scenario::{RunResult, Side};

/// Everything one bench invocation measured.
#[derive(Debug, Default)]
pub struct Report {
    pub runs: Vec<RunResult>,
    /// Per scenario label: raw `UID FETCH 1:*` rates.
    pub fetch: Vec<(String, Vec<FetchRate>)>,
    /// Per scenario label: the normalizer on one thread and on every core.
    pub normalize: Vec<(String, NormalizeRate, NormalizeRate)>,
    pub sink: Vec<SinkRate>,
    /// The same commands as the sink without the script: what Redis itself costs.
    pub redis_floor: Vec<SinkRate>,
    /// Peak RSS per mailbox size (full mix, one Intake run each).
    pub sizes: Vec<(usize, RunResult)>,
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Medians of one scenario and side.
#[derive(Debug, Clone, Copy)]
pub struct Medians {
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
    pub rss_mib: f64,
    pub cpu_secs: f64,
    pub first_entry_ms: f64,
}

impl Report {
    pub fn scenarios(&self) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for run in &self.runs {
            if !labels.contains(&run.scenario) {
                labels.push(run.scenario.clone());
            }
        }
        labels
    }

    pub fn medians(&self, scenario: &str, side: Side) -> Option<Medians> {
        let runs: Vec<&RunResult> = self
            .runs
            .iter()
            .filter(|r| r.scenario == scenario && r.side == side)
            .collect();
        if runs.is_empty() {
            return None;
        }
        let of = |f: &dyn Fn(&RunResult) -> f64| median(runs.iter().map(|r| f(r)).collect());
        Some(Medians {
            msgs_per_sec: of(&|r| r.msgs_per_sec()),
            mb_per_sec: of(&|r| r.mb_per_sec()),
            rss_mib: of(&|r| r.rss_mib()),
            cpu_secs: of(&|r| r.cpu_secs),
            first_entry_ms: of(&|r| r.first_entry_ms.unwrap_or(f64::NAN)),
        })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // `--sink-only` has no runs: print only what was measured.
        if !self.runs.is_empty() {
            self.render_runs(&mut out);
            self.render_medians(&mut out);
        }
        self.render_limits(&mut out);
        out
    }

    fn render_runs(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Runs\n");
        let _ = writeln!(
            out,
            "| scenario | run | side | msgs | secs | msgs/s | MB/s | peak RSS MiB | CPU s | first entry ms |"
        );
        let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.runs {
            let first = r
                .first_entry_ms
                .map_or_else(|| "-".to_string(), |ms| format!("{ms:.0}"));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {:.2} | {first} |",
                r.scenario,
                r.run,
                r.side.as_str(),
                r.msgs,
                r.secs,
                r.msgs_per_sec(),
                r.mb_per_sec(),
                r.rss_mib(),
                r.cpu_secs
            );
        }
    }

    fn render_medians(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Medians (Intake / peer)\n");
        let _ = writeln!(
            out,
            "| scenario | intake msgs/s | peer msgs/s | ratio | intake MB/s | peer MB/s | intake RSS MiB | peer RSS MiB | intake CPU s | peer CPU s | CPU ratio peer/intake | first entry ms |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for label in self.scenarios() {
            let Some(i) = self.medians(&label, Side::Intake) else {
                continue;
            };
            let p = self.medians(&label, Side::Peer);
            let nan = |f: &dyn Fn(&Medians) -> f64| p.as_ref().map_or(f64::NAN, f);
            let _ = writeln!(
                out,
                "| {label} | {:.0} | {:.0} | {:.1}x | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.1}x | {:.0} |",
                i.msgs_per_sec,
                nan(&|m| m.msgs_per_sec),
                i.msgs_per_sec / nan(&|m| m.msgs_per_sec),
                i.mb_per_sec,
                nan(&|m| m.mb_per_sec),
                i.rss_mib,
                nan(&|m| m.rss_mib),
                i.cpu_secs,
                nan(&|m| m.cpu_secs),
                nan(&|m| m.cpu_secs) / i.cpu_secs,
                i.first_entry_ms,
            );
        }
    }

    fn render_limits(&self, out: &mut String) {
        if !self.fetch.is_empty() || !self.normalize.is_empty() {
            let _ = writeln!(out, "\n## Limits (same run)\n");
            let _ = writeln!(
                out,
                "| scenario | dovecot raw UID FETCH 1:* msgs/s | MB/s | normalizer 1 thread msgs/s | normalizer all cores msgs/s (threads) | became cases | intake / normalizer all cores |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        }
        for (label, rates) in &self.fetch {
            let msgs = median(rates.iter().map(|r| r.msgs as f64 / r.secs).collect());
            let mb = median(
                rates
                    .iter()
                    .map(|r| r.bytes as f64 / 1e6 / r.secs)
                    .collect(),
            );
            let norm = self.normalize.iter().find(|(l, _, _)| l == label);
            let (one, all, threads, ok, total) = norm
                .map_or((f64::NAN, f64::NAN, 0, 0, 0), |(_, o, a)| {
                    (o.msgs_per_sec(), a.msgs_per_sec(), a.threads, o.ok, o.msgs)
                });
            let intake = self
                .medians(label, Side::Intake)
                .map_or(f64::NAN, |m| m.msgs_per_sec);
            let _ = writeln!(
                out,
                "| {label} | {msgs:.0} | {mb:.1} | {one:.0} | {all:.0} ({threads}) | {ok}/{total} | {:.2} |",
                intake / all
            );
        }
        if !self.sink.is_empty() {
            let _ = writeln!(
                out,
                "\n## Stream append path alone (~2 KB cases, one batch in flight), and Redis without the script\n"
            );
            let _ = writeln!(
                out,
                "| path | batch | cases | secs | cases/s | redis-server CPU µs/case | bench CPU µs/case |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
            for s in &self.sink {
                sink_row(out, "StreamSink", s);
            }
            for s in &self.redis_floor {
                sink_row(out, "plain GET, XADD, 2x SET NX EX (no script)", s);
            }
        }
        if !self.sizes.is_empty() {
            let _ = writeln!(
                out,
                "\n## Peak RSS by mailbox size (full mix, one Intake run each)\n"
            );
            let _ = writeln!(out, "| messages | msgs/s | peak RSS MiB |");
            let _ = writeln!(out, "|---:|---:|---:|");
            for (size, r) in &self.sizes {
                let _ = writeln!(
                    out,
                    "| {size} | {:.0} | {:.1} |",
                    r.msgs_per_sec(),
                    r.rss_mib()
                );
            }
        }
    }
}

fn sink_row(out: &mut String, path: &str, s: &SinkRate) {
    let _ = writeln!(
        out,
        "| {path} | {} | {} | {:.2} | {:.0} | {:.1} | {:.1} |",
        s.batch,
        s.cases,
        s.secs,
        s.cases_per_sec(),
        s.redis_us_per_case(),
        s.client_us_per_case()
    );
}
