//! Caps glibc malloc's per-thread arenas at one per core, and fixes its trim threshold.
//!
//! glibc gives each thread that allocates concurrently its own arena (up to 8 per core) and
//! keeps freed memory in it, so a process whose prepare threads and runtime threads all parse
//! and serialize messages holds several arenas of freed pages at once. Measured with the bench
//! (`scripts/bench`, small mix): peak RSS 33 MiB with glibc's default, 26 MiB with one arena
//! per core, at the same CPU time.
//!
//! glibc also raises its mmap and trim thresholds as the process frees large blocks (a batch's
//! Redis pipeline, a large message), so those blocks then stay in the heap. A fixed 128 KiB
//! trim threshold (which also fixes the mmap threshold) gives them back: peak RSS 30.2-31.4
//! against 32.0-32.9 MiB on the small mix, 45-47 against 49-53 MiB on the full mix, with no
//! CPU difference beyond the noise there or in the push scenario (`bench --no-peer --runs 3`,
//! alternated, session 4). An operator's own `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` wins.

/// The trim threshold set (glibc's initial value, kept from then on).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 128 * 1024;

/// Limits the arenas and fixes the trim threshold unless the environment already tunes malloc.
/// Call before any thread starts.
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    tune(i32::try_from(cores).unwrap_or(i32::MAX));
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune(arenas: i32) {
    // SAFETY: mallopt only changes allocator tunables; it is called from main before the
    // runtime or any other thread exists, and a rejected value leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune(_arenas: i32) {}

#[cfg(test)]
mod tests {
    /// Only this tuning is glibc-specific: the HTTP server, metrics, ids and time once sat in
    /// the glibc-only dependency table, so a musl or macOS build lost them.
    #[test]
    fn only_libc_is_a_glibc_only_dependency() {
        let manifest = include_str!("../Cargo.toml");
        let header =
            "[target.'cfg(all(target_os = \"linux\", target_env = \"gnu\"))'.dependencies]";
        let names = |table: &str| -> Vec<String> {
            table
                .lines()
                .skip(1)
                .take_while(|line| !line.starts_with('['))
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .filter_map(|line| line.split(['=', '.', ' ']).next())
                .map(str::to_string)
                .collect()
        };
        let glibc = manifest.find(header).map(|at| names(&manifest[at..]));
        assert_eq!(glibc, Some(vec!["libc".to_string()]));
        let everywhere = manifest
            .find("\n[dependencies]")
            .map(|at| names(&manifest[at + 1..]))
            .unwrap_or_default();
        for name in [
            "axum",
            "metrics",
            "metrics-exporter-prometheus",
            "uuid",
            "time",
        ] {
            assert!(
                everywhere.iter().any(|n| n == name),
                "{name}: {everywhere:?}"
            );
        }
    }
}
