//! One sample of this machine, and its encoding: what each interval costs.
//!
//! `cargo bench -p atlhyper-nodemetrics --bench sample`
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use atlhyper_model::codec;
use atlhyper_nodemetrics::host::Host;
use atlhyper_nodemetrics::sampler::{SampleOptions, Sampler};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mut sampler = Sampler::new(Host::new("/"), "bench", SampleOptions::default());
    sampler.sample(0).unwrap();
    c.bench_function("sample (all sources, every process)", |b| {
        b.iter(|| black_box(sampler.sample(1).unwrap()))
    });
    let sample = sampler.sample(2).unwrap();
    c.bench_function("encode + gzip one sample", |b| {
        b.iter(|| {
            black_box(codec::encode_gzip(
                black_box(&sample),
                codec::DEFAULT_GZIP_LEVEL,
            ))
        })
    });
    c.bench_function("sample + encode + gzip", |b| {
        b.iter(|| {
            let s = sampler.sample(3).unwrap();
            black_box(codec::encode_gzip(&s, codec::DEFAULT_GZIP_LEVEL))
        })
    });
    let json = codec::encode_json(&sample);
    let gz = codec::encode_gzip(&sample, codec::DEFAULT_GZIP_LEVEL);
    println!(
        "one sample: {} B JSON, {} B gzip ({} processes on this machine)",
        json.len(),
        gz.len(),
        std::fs::read_dir("/proc")
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .parse::<u32>()
                .is_ok())
            .count()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
