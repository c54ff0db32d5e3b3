//! `[runtime]`: how many threads run the async work (the HTTP server, the channels, the Redis
//! round trips). The default, one per core, suits a host Intake has to itself; on a host shared
//! with Redis fewer can be faster (BENCHMARKS.md, push scenario).

use crate::error::ConfigErrors;
use crate::raw::RawRuntime;
use crate::types::RuntimeConfig;

/// More threads than this is a typo, not a tuning.
const MAX_WORKER_THREADS: i64 = 1024;

pub(super) fn runtime(raw: RawRuntime, errors: &mut ConfigErrors) -> RuntimeConfig {
    let worker_threads = raw.worker_threads.and_then(|n| match n {
        1..=MAX_WORKER_THREADS => usize::try_from(n).ok(),
        _ => {
            errors.push(
                "runtime.worker_threads",
                format!("{n} is out of range; expected 1 to {MAX_WORKER_THREADS} threads"),
            );
            None
        }
    });
    RuntimeConfig { worker_threads }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(worker_threads: Option<i64>) -> (RuntimeConfig, String) {
        let mut errors = ConfigErrors::default();
        let config = runtime(RawRuntime { worker_threads }, &mut errors);
        (config, errors.to_string())
    }

    #[test]
    fn worker_threads_default_to_one_per_core_and_parse() {
        assert_eq!(check(None).0.worker_threads, None);
        assert_eq!(check(Some(1)).0.worker_threads, Some(1));
        assert_eq!(check(Some(16)).0.worker_threads, Some(16));
        assert_eq!(check(Some(16)).1, "");
    }

    #[test]
    fn worker_threads_out_of_range_are_named() {
        for n in [0, -1, 1025] {
            let (config, errors) = check(Some(n));
            assert_eq!(config.worker_threads, None);
            assert!(errors.contains("runtime.worker_threads"), "{errors}");
            assert!(errors.contains(&format!("{n} is out of range")), "{errors}");
        }
    }
}
