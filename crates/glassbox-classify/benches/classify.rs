//! Classifier benches on CPU (needs `scripts/setup.sh 40-models` and `source scripts/env.sh`):
//!
//! - `single/prompt_injection_400B` and `single/toxicity_400B`: latency of one ~400-byte text;
//!   also printed as p50/p99 over 300 sequential calls;
//! - `throughput/{batched,unbatched}/c{1,8,32}`: texts per second with 1, 8 and 32 concurrent
//!   callers, with cross-request batching on and off;
//! - streaming lag: a 4 KB answer streamed in 16-byte chunks every 2 ms through
//!   `StreamWindows` (512-byte windows, 128 overlap), p50/max lag printed.
//!
//!     cargo bench -p glassbox-classify --bench classify -- --warm-up-time 1 --measurement-time 3
//!
//! `GLASSBOX_BENCH_DEVICE=cuda` runs the same benches on the CUDA execution provider (build with
//! `--features glassbox-classify/cuda`, onnxruntime-gpu's library in `ORT_DYLIB_PATH`, the bundle
//! built with `GLASSBOX_ENCODER_PRECISION=float`); the CPU-only session-layout comparison is
//! skipped there and the throughput runs add 128 callers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use glassbox_classify::{
    block_on, ClassifierSet, Device, ModelClassifier, RuntimeConfig, StreamWindowConfig,
    StreamWindows,
};
use glassbox_core::policy::ClassifierMode;
use glassbox_core::{Classifier, Policy};

const TEXT_400: &str = "Hi! I'm setting up a small home server with Debian and I'd like some advice. I want to \
run a Nextcloud instance, a Git server and a couple of containers for my kids' school projects. \
What is a sensible way to organise users and permissions, how should I handle backups to an external \
disk, and is it worth putting everything behind a reverse proxy with automatic TLS certificates? \
Please keep it practical.";

fn models_dir() -> Option<PathBuf> {
    let m = std::env::var_os("GLASSBOX_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    let lib_ok = std::env::var_os("ORT_DYLIB_PATH").is_some_and(|p| Path::new(&p).is_file());
    (lib_ok && m.join("prompt-injection/model.onnx").is_file()).then_some(m)
}

fn load(models: &Path, config: &RuntimeConfig) -> ClassifierSet {
    let p = Policy::from_yaml(
        "id: b\nclassifiers:\n  prompt_injection:\n    model: prompt-injection\n  toxicity:\n    model: toxicity\n",
        "bench.yaml",
    )
    .expect("policy");
    ClassifierSet::load(models, &p, config).expect("classifiers load")
}

fn percentiles(mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort_unstable();
    let at = |q: f64| d[((d.len() as f64 * q) as usize).min(d.len() - 1)];
    (at(0.50), at(0.99))
}

fn print_latency(label: &str, lat: Vec<Duration>) {
    let (p50, p99) = percentiles(lat);
    println!(
        "latency {label}: p50 {:.2} ms, p99 {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

fn run_concurrent(c: &Arc<ModelClassifier>, callers: usize, rounds: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..callers)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    block_on(c.classify(TEXT_400.to_string())).expect("classified");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("caller");
    }
    start.elapsed()
}

/// Classifies a window on its own thread and returns when the verdict arrived.
fn verdict_at(
    c: &Arc<ModelClassifier>,
    id: u64,
    text: String,
) -> std::thread::JoinHandle<(u64, Instant)> {
    let f = c.classify(text);
    std::thread::spawn(move || {
        block_on(f).expect("classified");
        (id, Instant::now())
    })
}

fn main() {
    let Some(models) = models_dir() else {
        eprintln!(
            "classify bench skipped: run `scripts/setup.sh 40-models` and `source scripts/env.sh`"
        );
        return;
    };
    let device = match std::env::var("GLASSBOX_BENCH_DEVICE").as_deref() {
        Ok("cuda") => Device::Cuda,
        Ok("cpu") | Err(_) => Device::Cpu,
        Ok(other) => panic!("GLASSBOX_BENCH_DEVICE={other}: expected cpu or cuda"),
    };
    println!("device: {device:?}");
    let base = RuntimeConfig {
        device,
        ..RuntimeConfig::default()
    };
    let mut crit = Criterion::default().configure_from_args();
    let batched = load(&models, &base);
    let unbatched = load(
        &models,
        &RuntimeConfig {
            batching: false,
            ..base.clone()
        },
    );

    // Single text latency.
    for name in ["prompt_injection", "toxicity"] {
        let c = batched.get(name).expect("loaded");
        let lat: Vec<Duration> = (0..300)
            .map(|_| {
                let t = Instant::now();
                block_on(c.classify(TEXT_400.to_string())).expect("classified");
                t.elapsed()
            })
            .collect();
        print_latency(&format!("{name} {}B", TEXT_400.len()), lat);
    }
    // Session layout, alternating calls so both see the same machine: one session whose
    // operators use both cores, against two single-threaded sessions that take one window each.
    if device == Device::Cpu {
        let layouts = [(1, 2), (2, 1)].map(|(workers, intra_threads)| {
            let cfg = RuntimeConfig {
                workers,
                intra_threads,
                ..RuntimeConfig::default()
            };
            let set = load(&models, &cfg);
            let c = set.get("prompt_injection").expect("loaded");
            (
                format!("{workers} session(s) x {intra_threads} thread(s)"),
                set,
                c,
            )
        });
        let mut lat = [Vec::new(), Vec::new()];
        for _ in 0..300 {
            for (i, (_, _, c)) in layouts.iter().enumerate() {
                let t = Instant::now();
                block_on(c.classify(TEXT_400.to_string())).expect("classified");
                lat[i].push(t.elapsed());
            }
        }
        for ((name, _, _), l) in layouts.iter().zip(lat) {
            print_latency(&format!("prompt_injection {}B, {name}", TEXT_400.len()), l);
        }
    }
    {
        let mut g = crit.benchmark_group("single");
        g.throughput(Throughput::Bytes(TEXT_400.len() as u64));
        for name in ["prompt_injection", "toxicity"] {
            let c = batched.get(name).expect("loaded");
            g.bench_function(format!("{name}_400B"), |b| {
                b.iter(|| block_on(c.classify(TEXT_400.to_string())).expect("classified"))
            });
        }
        g.finish();
    }

    // Throughput at concurrency 1, 8, 32, batching on and off.
    {
        let mut g = crit.benchmark_group("throughput");
        g.sample_size(10);
        for (mode, set) in [("batched", &batched), ("unbatched", &unbatched)] {
            let c = set.get("prompt_injection").expect("loaded");
            let callers: &[usize] = match device {
                Device::Cpu => &[1, 8, 32],
                Device::Cuda => &[1, 8, 32, 128],
            };
            for &callers in callers {
                g.throughput(Throughput::Elements(callers as u64));
                g.bench_with_input(
                    BenchmarkId::new(mode, format!("c{callers}")),
                    &callers,
                    |b, &n| b.iter_custom(|iters| run_concurrent(&c, n, iters)),
                );
            }
        }
        g.finish();
    }

    // Streaming lag: windows classified as the stream arrives.
    let c = batched.get("prompt_injection").expect("loaded");
    let answer = TEXT_400.repeat(10);
    let cfg = StreamWindowConfig {
        window_bytes: 512,
        overlap_bytes: 128,
        max_wait: Duration::from_millis(200),
        mode: ClassifierMode::Hold,
    };
    let mut lags = Vec::new();
    for _ in 0..5 {
        let mut s = StreamWindows::new(cfg);
        let mut inflight = Vec::new();
        for chunk in answer.as_bytes().chunks(16) {
            let chunk = std::str::from_utf8(chunk).expect("ascii text");
            for w in s.push(chunk, Instant::now()) {
                inflight.push(verdict_at(&c, w.id, w.text));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(w) = s.flush() {
            inflight.push(verdict_at(&c, w.id, w.text));
        }
        for h in inflight {
            let (id, at) = h.join().expect("waiter");
            lags.push(s.complete(id, at).expect("pending window"));
        }
    }
    let max = lags.iter().max().copied().unwrap_or_default();
    let (p50, _) = percentiles(lags);
    println!(
        "stream lag (4 KB in 16 B chunks every 2 ms, 512 B windows): p50 {:.1} ms, max {:.1} ms",
        p50.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    crit.final_summary();
}
