//! What the four benches share: criterion measures the model-core side and the hand-written
//! sqlx side of each case as two benchmarks of one group (`<bench>/<backend>/<case>/model` and
//! `.../hand`), one after the other, in the same process and on the same pool; each bench then
//! prints the ratio of the two from the samples criterion took (criterion has no notion of a
//! ratio between two benchmarks), one line per case as it ends and the whole table at the end.
//!
//! Each side is an async closure that gets criterion's iteration count and returns the time
//! those iterations took (`Bencher::iter_custom`), so a case can do untimed work around the
//! timed part (build 50,000 rows to insert, delete them again). The closures run on one
//! current-thread tokio runtime, entered once per sample, not once per iteration.
//!
//! Command line: criterion's own (`cargo bench -p model-tests --bench writes -- --help`). Its
//! filter is a regular expression on the benchmark's name, whose backend part is `sqlite`,
//! `postgres` or `mysql`; a filter naming a backend also keeps the others' servers from being
//! connected to. A server that cannot be reached is skipped with a `SKIPPED:` line on stderr,
//! or is a failure when `CI` is set, as in the tests (`model_tests::TestBackend::fresh`).

// Each bench uses a part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use model_core::Dialect;
use tokio::runtime::Runtime;

/// How long one iteration of a case takes, which decides how criterion samples it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// Up to a few milliseconds: criterion's default sampling (100 samples of 1, 2, 3, ...
    /// times an iteration count).
    Short,
    /// Tens of milliseconds to seconds (a statement over 10,000 or 50,000 rows, a transaction
    /// of 1,000 inserts): 10 samples of the same iteration count (`SamplingMode::Flat`).
    Long,
}

/// The median time of one iteration of each side, over criterion's samples.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The model-core side.
    pub model: Duration,
    /// The hand-written sqlx side.
    pub hand: Duration,
}

impl Timing {
    /// Model time over hand-written time: 1.00 = no overhead, higher is slower.
    pub fn model_over_hand(&self) -> f64 {
        self.model.as_secs_f64() / self.hand.as_secs_f64()
    }

    /// Hand-written time over model time, i.e. model rows/s over hand-written rows/s: 1.00 =
    /// as fast, higher is faster.
    pub fn hand_over_model(&self) -> f64 {
        self.hand.as_secs_f64() / self.model.as_secs_f64()
    }
}

/// The `sqlite`/`postgres`/`mysql` part of benchmark names, and the backend's name in tables.
pub fn backend(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Sqlite => ("sqlite", "SQLite"),
        Dialect::Postgres => ("postgres", "PostgreSQL"),
        Dialect::MySql => ("mysql", "MariaDB"),
    }
}

const BACKENDS: [&str; 3] = ["sqlite", "postgres", "mysql"];

/// Criterion's options that take a value, so that the value is not read as the filter.
const WITH_VALUE: &[&str] = &[
    "-c",
    "--color",
    "--colour",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// One bench binary's run: criterion, the runtime the cases run on, and the ratio table.
pub struct Bench {
    criterion: Criterion,
    rt: Runtime,
    filter: Option<String>,
    sample_size: Option<usize>,
    quick: bool,
    measuring: bool,
    header: &'static str,
    lines: Vec<String>,
}

impl Bench {
    /// Reads criterion's command line (`--help` prints it and exits). `header` is the ratio
    /// table's header, printed with the table at the end.
    pub fn new(header: &'static str) -> Bench {
        let criterion = Criterion::default().without_plots().configure_from_args();
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut filter = None;
        let mut sample_size = None;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some(value) = arg.strip_prefix("--sample-size=") {
                sample_size = value.parse().ok();
            } else if arg == "--sample-size" {
                sample_size = iter.next().and_then(|v| v.parse().ok());
            } else if WITH_VALUE.contains(&arg.as_str()) {
                iter.next();
            } else if !arg.starts_with('-') && filter.is_none() {
                filter = Some(arg.to_lowercase());
            }
        }
        let has = |flag: &str| args.iter().any(|a| a == flag);
        // As criterion decides: `cargo bench` passes `--bench`; without it (`cargo test
        // --benches`) or with `--test`, each benchmark runs once, unmeasured.
        let measuring = has("--bench")
            && !has("--test")
            && !has("--list")
            && !args.iter().any(|a| a.starts_with("--profile-time"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        Bench {
            criterion,
            rt,
            filter,
            sample_size,
            quick: has("--quick"),
            measuring,
            header,
            lines: Vec::new(),
        }
    }

    /// Runs `future` to completion on the bench's runtime (setup and teardown of a backend).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// Whether the filter may select a benchmark of `backend` (`sqlite`, `postgres`,
    /// `mysql`): yes without a filter, or when it names this backend or no backend at all.
    pub fn wants(&self, backend: &str) -> bool {
        self.filter
            .as_deref()
            .is_none_or(|f| f.contains(backend) || !BACKENDS.iter().any(|b| f.contains(b)))
    }

    /// Measures one case: the group `name` with the benchmarks `model` and `hand`, in that
    /// order. Each closure gets an iteration count and returns the time the iterations took.
    /// The median time per iteration of each side over criterion's samples (not its warm-up),
    /// or `None` when nothing was measured (criterion's test, list or profile modes, or a
    /// filter that left either side out).
    pub fn compare(
        &mut self,
        name: &str,
        length: Length,
        mut model: impl AsyncFnMut(u64) -> Duration,
        mut hand: impl AsyncFnMut(u64) -> Duration,
    ) -> Option<Timing> {
        let samples = match length {
            Length::Short => self.sample_size.unwrap_or(100),
            Length::Long => self.sample_size.unwrap_or(10),
        };
        let rt = &self.rt;
        let (mut model_runs, mut hand_runs) = (Vec::new(), Vec::new());
        let mut group = self.criterion.benchmark_group(name);
        group.sample_size(samples);
        if length == Length::Long {
            group.sampling_mode(SamplingMode::Flat);
        }
        group.bench_function("model", |b| {
            b.iter_custom(|iters| {
                let took = rt.block_on(model(iters));
                model_runs.push(took.as_secs_f64() / iters as f64);
                took
            });
        });
        group.bench_function("hand", |b| {
            b.iter_custom(|iters| {
                let took = rt.block_on(hand(iters));
                hand_runs.push(took.as_secs_f64() / iters as f64);
                took
            });
        });
        group.finish();
        if !self.measuring {
            return None;
        }
        // Criterion warms up first, then takes its samples: they are the last calls (two in
        // `--quick` mode, where the last two of a doubling series are the samples).
        let kept = if self.quick { 2 } else { samples };
        Some(Timing {
            model: median_of_last(&mut model_runs, kept)?,
            hand: median_of_last(&mut hand_runs, kept)?,
        })
    }

    /// Prints one line of the ratio table now, and again with the table at the end.
    pub fn line(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }

    /// Prints the ratio table of the cases measured.
    pub fn finish(self) {
        if !self.lines.is_empty() {
            println!("\n{}", self.header);
            for line in &self.lines {
                println!("{line}");
            }
        }
        self.criterion.final_summary();
    }
}

/// The median of the last `n` seconds-per-iteration in `runs`.
fn median_of_last(runs: &mut [f64], n: usize) -> Option<Duration> {
    if runs.len() < n || n == 0 {
        return None;
    }
    let from = runs.len() - n;
    let last = &mut runs[from..];
    last.sort_by(f64::total_cmp);
    Some(Duration::from_secs_f64(last[n / 2]))
}
