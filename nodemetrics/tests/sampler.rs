//! The sampler over fixture hosts: parsing, rates between samples, and the odd cases (many
//! cores, a counter wrap, a removed disk, interfaces coming and going, sensors, mounts).
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atlhyper_nodemetrics::host::Host;
use atlhyper_nodemetrics::sampler::{SampleOptions, Sampler};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node-a")
}

/// A writable copy of the fixture host.
fn host_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(), dir.path());
    dir
}

fn write(root: &Path, rest: &str, text: &str) {
    let path = root.join(rest);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn net_dev(lines: &[(&str, u64, u64)]) -> String {
    let mut text = "Inter-|   Receive                                                |  Transmit\n \
                    face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        .to_owned();
    for (name, rx, tx) in lines {
        text.push_str(&format!(
            "{name:>6}: {rx} 1000 1 2 0 0 0 0 {tx} 500 3 4 0 0 0 0\n"
        ));
    }
    text
}

fn stat(cores: usize, busy: u64, idle: u64) -> String {
    let mut text = format!(
        "cpu  {} 0 0 {} 0 0 0 0 0 0\n",
        busy * cores as u64,
        idle * cores as u64
    );
    for i in 0..cores {
        text.push_str(&format!("cpu{i} {busy} 0 0 {idle} 0 0 0 0 0 0\n"));
    }
    text.push_str("intr 0\nctxt 100\nbtime 1764000000\nprocesses 10\nprocs_running 1\nprocs_blocked 0\nsoftirq 0\n");
    text
}

fn sampler(root: &Path) -> Sampler {
    Sampler::new(Host::new(root), "node-a", SampleOptions::default())
}

#[test]
fn the_captured_host_parses_into_a_plausible_first_sample() {
    let mut sampler = sampler(&fixture());
    let s = sampler.sample(1).unwrap();
    assert_eq!(s.node, "node-a");
    assert_eq!(s.cpu.cores, 2);
    assert_eq!(s.cpu.per_core_percent.len(), 2);
    assert_eq!(s.cpu.usage_percent, 0.0, "no rates on the first sample");
    let meminfo = std::fs::read_to_string(fixture().join("proc/meminfo")).unwrap();
    let total_kb: u64 = meminfo
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(s.memory.total_bytes, total_kb * 1024);
    assert!(s.memory.used_bytes > 0 && s.memory.used_bytes < s.memory.total_bytes);
    assert!(
        s.cpu.load1 > 0.0 && (s.cpu.load1 * 100.0).fract() == 0.0,
        "{}",
        s.cpu.load1
    );
    assert!(s.uptime_secs > 0);
    assert_eq!(s.filesystems.len(), 1, "{:?}", s.filesystems);
    assert_eq!(s.filesystems[0].mount, "/");
    assert_eq!(s.filesystems[0].device, "/dev/vda");
    assert!(
        s.network.is_empty() && s.disks.is_empty() && s.top_cpu.is_empty(),
        "no rates yet"
    );
    assert!(!s.top_memory.is_empty(), "memory needs no previous sample");
    // hwmon: two chips, the disconnected sensor left out, critical thresholds kept.
    let sensors: Vec<(&str, f64)> = s
        .temperatures
        .iter()
        .map(|t| (t.sensor.as_str(), t.celsius))
        .collect();
    assert_eq!(
        sensors,
        [
            ("coretemp Core 0", 46.0),
            ("coretemp Package id 0", 48.0),
            ("nvme Composite", 38.85)
        ]
    );
    assert_eq!(s.temperatures[1].critical_celsius, Some(100.0));
    assert_eq!(s.hottest_celsius(), Some(48.0));
}

#[test]
fn rates_follow_the_counters_across_wraps_resets_and_churn() {
    let host = host_copy();
    let root = host.path();
    write(root, "proc/stat", &stat(64, 1_000, 9_000));
    write(
        root,
        "proc/1/net/dev",
        &net_dev(&[
            ("lo", 5, 5),
            ("eth0", 4_294_967_000, 1_000),
            ("veth12ab", 1, 1),
            ("ens5", 10_000_000_000, 50),
        ]),
    );
    let mut sampler = sampler(root);
    let start = Instant::now();
    let first = sampler.sample_at(1, start).unwrap();
    assert_eq!(first.cpu.cores, 64);
    assert_eq!(first.cpu.per_core_percent.len(), 64);

    // Five seconds later: each core 25 % busy; eth0's 32-bit counter wrapped; ens5's 64-bit
    // counter went back to almost nothing (a driver reload); wlan0 appeared; vda is gone.
    write(root, "proc/stat", &stat(64, 1_125, 9_375));
    write(
        root,
        "proc/1/net/dev",
        &net_dev(&[
            ("lo", 9, 9),
            ("eth0", 704, 6_000),
            ("veth12ab", 9, 9),
            ("ens5", 100, 60),
            ("wlan0", 7, 7),
        ]),
    );
    let diskstats = std::fs::read_to_string(root.join("proc/diskstats")).unwrap();
    let without_vda: String = diskstats
        .lines()
        .filter(|l| !l.contains(" vda "))
        .map(|l| format!("{l}\n"))
        .collect();
    write(root, "proc/diskstats", &without_vda);
    let second = sampler
        .sample_at(2, start + Duration::from_secs(5))
        .unwrap();
    assert!(
        (second.cpu.usage_percent - 25.0).abs() < 1e-9,
        "{}",
        second.cpu.usage_percent
    );
    assert!(
        second
            .cpu
            .per_core_percent
            .iter()
            .all(|c| (c - 25.0).abs() < 1e-9)
    );
    let names: Vec<&str> = second
        .network
        .iter()
        .map(|n| n.interface.as_str())
        .collect();
    assert_eq!(
        names,
        ["ens5", "eth0"],
        "lo and veths excluded, wlan0 has no rate yet"
    );
    let eth0 = &second.network[1];
    assert_eq!(
        eth0.rx_bytes_per_sec, 200.0,
        "(2^32 - 4,294,967,000 + 704) / 5 s"
    );
    assert_eq!(eth0.tx_bytes_per_sec, 1_000.0);
    assert_eq!((eth0.rx_errors, eth0.tx_dropped), (1, 4));
    let ens5 = &second.network[0];
    assert_eq!(
        ens5.rx_bytes_per_sec, 0.0,
        "a reset is no traffic, never negative"
    );
    assert_eq!(ens5.tx_bytes_per_sec, 2.0);
    assert!(second.disks.is_empty(), "the removed disk is not reported");

    // Later still: wlan0 has a rate now; eth0 went away.
    write(
        root,
        "proc/1/net/dev",
        &net_dev(&[("ens5", 600, 60), ("wlan0", 507, 7)]),
    );
    let third = sampler
        .sample_at(3, start + Duration::from_secs(10))
        .unwrap();
    let rates: Vec<(&str, f64)> = third
        .network
        .iter()
        .map(|n| (n.interface.as_str(), n.rx_bytes_per_sec))
        .collect();
    assert_eq!(rates, [("ens5", 100.0), ("wlan0", 100.0)]);
    for s in [&first, &second, &third] {
        assert!(
            s.network
                .iter()
                .all(|n| n.rx_bytes_per_sec >= 0.0 && n.tx_bytes_per_sec >= 0.0)
        );
        assert!(s.cpu.usage_percent >= 0.0 && s.cpu.usage_percent <= 100.0);
    }
}

#[test]
fn disk_rates_come_from_sectors_and_operations() {
    let host = host_copy();
    let root = host.path();
    let line = |reads: u64, sectors_read: u64, writes: u64, sectors_written: u64| {
        format!(
            " 254       0 vda {reads} 0 {sectors_read} 0 {writes} 0 {sectors_written} 0 0 0 0 0 0 0 0 0 0\n   7       0 loop0 9 0 9 0 9 0 9 0 0 0 0 0 0 0 0 0 0\n"
        )
    };
    write(root, "proc/diskstats", &line(100, 1_000, 50, 2_000));
    let mut sampler = sampler(root);
    let start = Instant::now();
    sampler.sample_at(1, start).unwrap();
    write(root, "proc/diskstats", &line(110, 3_000, 70, 6_000));
    let s = sampler
        .sample_at(2, start + Duration::from_secs(2))
        .unwrap();
    assert_eq!(
        s.disks.len(),
        1,
        "loop devices are not disks: {:?}",
        s.disks
    );
    let vda = &s.disks[0];
    assert_eq!(vda.device, "vda");
    assert_eq!(vda.read_bytes_per_sec, 2_000.0 * 512.0 / 2.0);
    assert_eq!(vda.write_bytes_per_sec, 4_000.0 * 512.0 / 2.0);
    assert_eq!((vda.reads_per_sec, vda.writes_per_sec), (5.0, 10.0));
}

#[test]
fn mounts_keep_real_filesystems_once() {
    use atlhyper_nodemetrics::fs::real_mounts;
    use procfs_core::FromRead as _;
    let text = "\
/dev/nvme0n1p2 / ext4 rw,relatime 0 0
/dev/nvme0n1p2 /var/lib/kubelet ext4 rw,relatime 0 0
/dev/nvme0n1p1 /boot/efi vfat rw 0 0
/dev/sdb1 /data xfs rw 0 0
overlay /var/lib/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs overlay rw 0 0
tmpfs /var/lib/kubelet/pods/uid/volumes/kubernetes.io~projected/kube-api-access tmpfs rw 0 0
/dev/sdb1 /var/lib/kubelet/pods/uid/volumes/kubernetes.io~local-volume/pv1 xfs rw 0 0
proc /proc proc rw 0 0
shm /run/containerd/io.containerd.grpc.v1.cri/sandboxes/x/shm tmpfs rw 0 0
nfs.example:/export /mnt/share nfs4 rw 0 0
";
    let mounts = Vec::<procfs_core::MountEntry>::from_read(text.as_bytes()).unwrap();
    let real: Vec<(String, String)> = real_mounts(&mounts)
        .into_iter()
        .map(|(device, mount, _)| (device, mount))
        .collect();
    assert_eq!(
        real,
        [
            ("/dev/nvme0n1p1".to_owned(), "/boot/efi".to_owned()),
            ("/dev/nvme0n1p2".to_owned(), "/".to_owned()),
            ("/dev/sdb1".to_owned(), "/data".to_owned()),
            ("nfs.example:/export".to_owned(), "/mnt/share".to_owned()),
        ]
    );
}

#[test]
fn a_host_without_proc_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = sampler(dir.path()).sample(1).unwrap_err();
    assert!(err.to_string().contains("proc/stat"), "{err}");
}
