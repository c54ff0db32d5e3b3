//! Caps glibc malloc's per-thread arenas at one per core.
//!
//! glibc gives each thread that allocates concurrently its own arena (up to 8 per core) and
//! keeps freed memory in it, so a process whose prepare threads and runtime threads all parse
//! and serialize messages holds several arenas of freed pages at once. Measured with the bench
//! (`scripts/bench`, small mix): peak RSS 33 MiB with glibc's default, 26 MiB with one arena
//! per core, at the same CPU time. An operator's own `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`
//! wins.

/// Limits the arenas unless the environment already tunes malloc. Call before any thread starts.
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    set_arena_max(i32::try_from(cores).unwrap_or(i32::MAX));
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_arena_max(arenas: i32) {
    // SAFETY: mallopt only changes an allocator tunable; it is called from main before the
    // runtime or any other thread exists, and a rejected value leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_arenas: i32) {}

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
