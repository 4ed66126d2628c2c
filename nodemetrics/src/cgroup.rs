//! Each pod's CPU and memory from its cgroup (v2): `kubepods.slice/…/kubepods-<qos>-pod<uid>.slice`
//! under the systemd cgroup driver, `kubepods/<qos>/pod<uid>` under cgroupfs. The kubelet
//! names pods by uid only; master puts names to them.

use std::collections::HashMap;
use std::path::Path;

use atlhyper_model::PodUsage;

use crate::host::Host;

/// One pod's counters: CPU time (µs) and memory now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodCounters {
    pub cpu_usec: u64,
    pub memory_bytes: u64,
}

/// The pod uid a cgroup directory is named for, if it is a pod's.
fn pod_uid(dir_name: &str) -> Option<String> {
    let name = dir_name.strip_suffix(".slice").unwrap_or(dir_name);
    let at = name.rfind("pod")?;
    let uid = &name[at + 3..];
    // A uid is 36 characters; the systemd driver writes its dashes as underscores.
    (uid.len() == 36
        && uid
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '-' || c == '_'))
    .then(|| uid.replace('_', "-"))
}

fn read_counters(dir: &Path) -> Option<PodCounters> {
    let stat = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    let cpu_usec = stat
        .lines()
        .find_map(|l| l.strip_prefix("usage_usec "))?
        .trim()
        .parse()
        .ok()?;
    let memory_bytes = std::fs::read_to_string(dir.join("memory.current"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(PodCounters {
        cpu_usec,
        memory_bytes,
    })
}

fn walk(dir: &Path, depth: usize, out: &mut HashMap<String, PodCounters>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        match pod_uid(&name) {
            Some(uid) => {
                if let Some(counters) = read_counters(&path) {
                    out.insert(uid, counters);
                }
            }
            None if depth > 0 => walk(&path, depth - 1, out),
            None => {}
        }
    }
}

/// Every pod cgroup on the host, by uid (none on a host that runs no kubelet).
pub fn pod_counters(host: &Host) -> HashMap<String, PodCounters> {
    let mut out = HashMap::new();
    for top in ["fs/cgroup/kubepods.slice", "fs/cgroup/kubepods"] {
        walk(&host.sys(top), 2, &mut out);
    }
    out
}

/// Usage over `millis` between two readings; a pod without a previous reading has no CPU rate
/// yet (0), as the first sample of a process has none.
pub fn usage(
    now: &HashMap<String, PodCounters>,
    before: Option<&HashMap<String, PodCounters>>,
    millis: f64,
) -> Vec<PodUsage> {
    let mut out: Vec<PodUsage> = now
        .iter()
        .map(|(uid, c)| {
            let cpu_millicores = match before.and_then(|b| b.get(uid)) {
                Some(p) if millis > 0.0 && c.cpu_usec >= p.cpu_usec => {
                    (c.cpu_usec - p.cpu_usec) as f64 / millis
                }
                _ => 0.0,
            };
            PodUsage {
                uid: uid.clone(),
                cpu_millicores,
                memory_bytes: c.memory_bytes,
            }
        })
        .collect();
    out.sort_by(|a, b| a.uid.cmp(&b.uid));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "3c4d9a10-1f2e-4b7a-8c3d-5e6f7a8b9c0d";

    fn write_pod(dir: &Path, usec: u64, memory: u64) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("cpu.stat"),
            format!("usage_usec {usec}\nuser_usec 1\n"),
        )
        .unwrap();
        std::fs::write(dir.join("memory.current"), format!("{memory}\n")).unwrap();
    }

    #[test]
    fn pods_are_found_under_both_cgroup_drivers_with_rates_between_samples() {
        let root = tempfile::tempdir().unwrap();
        let systemd = root.path().join(format!(
            "sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
            UID.replace('-', "_")
        ));
        let guaranteed = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
        let cgroupfs = root
            .path()
            .join(format!("sys/fs/cgroup/kubepods/pod{guaranteed}"));
        write_pod(&systemd, 1_000_000, 64 << 20);
        write_pod(&cgroupfs, 5_000, 8 << 20);
        // Not a pod: a container scope inside one, and an unrelated slice.
        std::fs::create_dir_all(systemd.join("cri-containerd-abc.scope")).unwrap();
        std::fs::create_dir_all(root.path().join("sys/fs/cgroup/system.slice")).unwrap();

        let host = Host::new(root.path());
        let first = pod_counters(&host);
        assert_eq!(first.len(), 2, "{first:?}");
        assert_eq!(first[UID].memory_bytes, 64 << 20);
        assert!(
            usage(&first, None, 0.0)
                .iter()
                .all(|u| u.cpu_millicores == 0.0)
        );

        // Half a core over two seconds.
        write_pod(&systemd, 2_000_000, 65 << 20);
        let second = pod_counters(&host);
        let usage = usage(&second, Some(&first), 2_000.0);
        let pod = usage.iter().find(|u| u.uid == UID).unwrap();
        assert!((pod.cpu_millicores - 500.0).abs() < 1e-9, "{pod:?}");
        assert_eq!(pod.memory_bytes, 65 << 20);
    }

    #[test]
    fn a_host_without_a_kubelet_has_no_pods() {
        let root = tempfile::tempdir().unwrap();
        assert!(pod_counters(&Host::new(root.path())).is_empty());
    }
}
