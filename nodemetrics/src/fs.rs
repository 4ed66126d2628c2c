//! Mounted real filesystems: pseudo and container filesystems are skipped, bind mounts of one
//! device are reported once (at their shortest mount point).

use std::collections::BTreeMap;

use atlhyper_model::FilesystemMetrics;
use procfs_core::MountEntry;

use crate::host::Host;

/// Filesystem types that hold no disk space of the node's own.
const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "cgroup",
    "cgroup2",
    "overlay",
    "squashfs",
    "nsfs",
    "tracefs",
    "debugfs",
    "securityfs",
    "pstore",
    "bpf",
    "autofs",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "rpc_pipefs",
    "ramfs",
    "efivarfs",
    "fuse.lxcfs",
    "selinuxfs",
    "nfsd",
    "aufs",
    "shm",
    "devfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
];

/// Mount points under which only kernel views or containers' own filesystems live.
const IGNORED_UNDER: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/var/lib/kubelet/pods",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/containers",
    "/snap",
];

/// Whether a mount is a real filesystem worth reporting.
pub fn is_real(fs_type: &str, mount: &str) -> bool {
    if PSEUDO.contains(&fs_type) {
        return false;
    }
    !IGNORED_UNDER.iter().any(|dir| {
        mount == *dir
            || mount
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The real filesystems among `mounts`, one per device, as (device, mount, type).
pub fn real_mounts(mounts: &[MountEntry]) -> Vec<(String, String, String)> {
    let mut by_device: BTreeMap<&str, &MountEntry> = BTreeMap::new();
    for m in mounts.iter().filter(|m| is_real(&m.fs_vfstype, &m.fs_file)) {
        let keep = by_device
            .get(m.fs_spec.as_str())
            .is_none_or(|held| m.fs_file.len() < held.fs_file.len());
        if keep {
            by_device.insert(&m.fs_spec, m);
        }
    }
    by_device
        .values()
        .map(|m| (m.fs_spec.clone(), m.fs_file.clone(), m.fs_vfstype.clone()))
        .collect()
}

/// Size, use and inodes of each real filesystem (those that cannot be stat'ed are skipped).
pub fn filesystems(host: &Host) -> Vec<FilesystemMetrics> {
    let Ok(mounts) = host.parse_ns::<Vec<MountEntry>>("mounts") else {
        return Vec::new();
    };
    real_mounts(&mounts)
        .into_iter()
        .filter_map(|(device, mount, fs_type)| {
            let st = rustix::fs::statvfs(host.rootfs(&mount)).ok()?;
            let unit = if st.f_frsize > 0 {
                st.f_frsize
            } else {
                st.f_bsize
            };
            let size = st.f_blocks.saturating_mul(unit);
            if size == 0 {
                return None;
            }
            let free = st.f_bfree.saturating_mul(unit);
            Some(FilesystemMetrics {
                mount,
                device,
                fs_type,
                size_bytes: size,
                used_bytes: size.saturating_sub(free),
                available_bytes: st.f_bavail.saturating_mul(unit),
                inodes_total: st.f_files,
                inodes_used: st.f_files.saturating_sub(st.f_ffree),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_and_container_mounts_are_skipped() {
        assert!(is_real("ext4", "/"));
        assert!(is_real("xfs", "/var/lib/data"));
        assert!(is_real("nfs4", "/mnt/share"));
        assert!(!is_real("tmpfs", "/mnt/sandboxing"));
        assert!(!is_real("overlay", "/"));
        assert!(!is_real("ext4", "/var/lib/kubelet/pods/abc/volumes/x"));
        assert!(!is_real("ext4", "/run/containerd/io"));
        assert!(
            is_real("ext4", "/running"),
            "only whole path components count"
        );
    }
}
