//! Where a node's figures are read from: `/proc` and `/sys` under a root (`/` on the node
//! itself, `/host` in the DaemonSet, a fixture directory in tests), parsed with `procfs-core`.
//! Per-namespace files (`net/dev`, `mounts`) are read through PID 1, so a container that mounts
//! the host's `/proc` sees the host's interfaces and filesystems, not its own.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use procfs_core::{ExplicitSystemInfo, FromRead, FromReadSI};

/// The host's directories.
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
}

/// Why a file could not be read or understood.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> ReadError {
    ReadError {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl Host {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Host { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn proc(&self, rest: &str) -> PathBuf {
        self.root.join("proc").join(rest)
    }

    pub fn sys(&self, rest: &str) -> PathBuf {
        self.root.join("sys").join(rest)
    }

    /// A path of the host's filesystem tree (a mount point) as seen from here.
    pub fn rootfs(&self, mount: &str) -> PathBuf {
        self.root.join(mount.trim_start_matches('/'))
    }

    /// Reads and parses `proc/<rest>` with a `procfs-core` type.
    pub fn parse<T: FromRead>(&self, rest: &str) -> Result<T, ReadError> {
        let path = self.proc(rest);
        let bytes = fs::read(&path).map_err(|e| read_error(&path, e))?;
        T::from_read(bytes.as_slice()).map_err(|e| read_error(&path, e))
    }

    /// Like [`Host::parse`] for types that need the clock tick rate and page size.
    pub fn parse_si<T: FromReadSI>(
        &self,
        rest: &str,
        si: &ExplicitSystemInfo,
    ) -> Result<T, ReadError> {
        let path = self.proc(rest);
        let bytes = fs::read(&path).map_err(|e| read_error(&path, e))?;
        T::from_read(bytes.as_slice(), si).map_err(|e| read_error(&path, e))
    }

    /// A per-namespace file, through PID 1 (the host's namespaces), else through this process.
    pub fn parse_ns<T: FromRead>(&self, rest: &str) -> Result<T, ReadError> {
        self.parse(&format!("1/{rest}"))
            .or_else(|_| self.parse(&format!("self/{rest}")))
    }

    /// The numeric entries of `proc/`: every process.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        Ok(fs::read_dir(self.proc(""))?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect())
    }

    /// The names of whole block devices (`sys/block`), without loop, RAM and optical devices.
    pub fn block_devices(&self) -> Vec<String> {
        const VIRTUAL: [&str; 5] = ["loop", "ram", "zram", "fd", "sr"];
        let Ok(entries) = fs::read_dir(self.sys("block")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| !VIRTUAL.iter().any(|v| n.starts_with(v)))
            .collect();
        names.sort();
        names
    }
}

/// The clock tick rate and page size of this kernel (the host's, since it is shared).
pub fn system_info() -> ExplicitSystemInfo {
    ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: rustix::param::clock_ticks_per_second(),
        page_size: rustix::param::page_size() as u64,
        is_little_endian: cfg!(target_endian = "little"),
    }
}
