//! A small tmpfs the test mounts for itself (root only), to make the blob store's disk fill up
//! and free it again. Unmounted on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use tempfile::TempDir;

use crate::MissingBinary;

/// A mounted tmpfs of a fixed size.
#[derive(Debug)]
pub struct SmallDisk {
    // Dropped after the unmount in `Drop`.
    dir: TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` on a fresh temp dir. Without root, reports a missing
    /// capability the way a missing server binary is reported (skip outside CI, fail in CI).
    pub fn mount(bytes: u64) -> anyhow::Result<Self> {
        if !nix::unistd::geteuid().is_root() {
            return Err(MissingBinary {
                name: "root (to mount a tmpfs)".into(),
                env_override: "running the tests as root".into(),
            }
            .into());
        }
        let dir = tempfile::Builder::new()
            .prefix("intake-small-disk-")
            .tempdir()
            .context("create mount point")?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .context("run mount")?;
        if !status.success() {
            bail!("mount -t tmpfs failed: {status}");
        }
        Ok(SmallDisk { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with a file `filler` until writes fail with ENOSPC.
    pub fn fill(&self) -> anyhow::Result<PathBuf> {
        use std::io::Write as _;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path)?;
        let chunk = vec![0u8; 4096];
        loop {
            match file.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOSPC) => break,
                Err(e) => return Err(e.into()),
            }
        }
        file.sync_all().ok();
        Ok(path)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a file still open elsewhere must not keep the mount (and the test) alive.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
