//! Open-loop HTTP load generator for the proxy's load test (see `run.sh` and
//! `crates/glassbox/BENCH.md`). Sends chat-completion requests at a fixed rate for a fixed
//! time to a loopback address only, and reports achieved requests/s and latency percentiles
//! measured from each request's *scheduled* start (so a stalled server cannot hide its queue:
//! no coordinated omission).
//!
//! ```text
//! cargo bench -p glassbox --bench load -- --url http://127.0.0.1:8080 --rate 1000 --secs 10 [--stream]
//! ```
//! Without `--url` it prints this help and exits 0 (so `cargo bench --workspace` stays short).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

struct Args {
    url: String,
    rate: u64,
    secs: u64,
    stream: bool,
    max_in_flight: usize,
    label: String,
}

fn parse() -> Option<Args> {
    let mut a = Args {
        url: String::new(),
        rate: 1000,
        secs: 10,
        stream: false,
        max_in_flight: 512,
        label: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--url" => a.url = it.next()?,
            "--rate" => a.rate = it.next()?.parse().ok()?,
            "--secs" => a.secs = it.next()?.parse().ok()?,
            "--stream" => a.stream = true,
            "--max-in-flight" => a.max_in_flight = it.next()?.parse().ok()?,
            "--label" => a.label = it.next()?,
            _ => {} // cargo bench passes `--bench`
        }
    }
    if a.url.is_empty() {
        return None;
    }
    let host = a.url.trim_start_matches("http://");
    if !(host.starts_with("127.0.0.1:") || host.starts_with("localhost:")) {
        eprintln!("loadgen only targets loopback addresses (got {})", a.url);
        std::process::exit(2);
    }
    a.secs = a.secs.clamp(1, 120);
    a.rate = a.rate.clamp(1, 50_000);
    Some(a)
}

fn main() {
    let Some(args) = parse() else {
        println!(
            "usage: load --url http://127.0.0.1:PORT [--rate N] [--secs S] [--stream] [--label L]"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(args));
}

async fn run(a: Args) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(a.max_in_flight)
        .build(connector);
    let body = Bytes::from(format!(
        r#"{{"model":"mock-llama","stream":{},"messages":[{{"role":"user","content":"What does glassbox do?"}}]}}"#,
        a.stream
    ));
    let uri: http::Uri = format!("{}/v1/chat/completions", a.url)
        .parse()
        .expect("url");
    // Warm the pool.
    for _ in 0..32 {
        let _ = send(&client, &uri, &body).await;
    }
    let total = a.rate * a.secs;
    let period = Duration::from_secs_f64(1.0 / a.rate as f64);
    let sem = Arc::new(tokio::sync::Semaphore::new(a.max_in_flight));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<(u32, u32), ()>>();
    let start = Instant::now();
    for i in 0..total {
        let due = start + period * i as u32;
        let now = Instant::now();
        if due > now {
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let (client, uri, body, tx) = (client.clone(), uri.clone(), body.clone(), tx.clone());
        tokio::spawn(async move {
            let r = send(&client, &uri, &body).await;
            let done = Instant::now();
            let _ = tx.send(r.map(|first| {
                (
                    done.duration_since(due).as_micros() as u32,
                    first.duration_since(due).as_micros() as u32,
                )
            }));
            drop(permit);
        });
    }
    drop(tx);
    let mut lat = Vec::with_capacity(total as usize);
    let mut ttfb = Vec::with_capacity(total as usize);
    let mut errors = 0u64;
    while let Some(r) = rx.recv().await {
        match r {
            Ok((l, f)) => {
                lat.push(l);
                ttfb.push(f);
            }
            Err(()) => errors += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    ttfb.sort_unstable();
    let p = |v: &[u32], q: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0
    };
    println!(
        "{{\"label\":\"{}\",\"stream\":{},\"target_rps\":{},\"achieved_rps\":{:.0},\"ok\":{},\"errors\":{},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"ttfb_p50_ms\":{:.3},\"ttfb_p99_ms\":{:.3}}}",
        a.label,
        a.stream,
        a.rate,
        lat.len() as f64 / elapsed,
        lat.len(),
        errors,
        p(&lat, 0.5),
        p(&lat, 0.9),
        p(&lat, 0.99),
        p(&lat, 1.0),
        p(&ttfb, 0.5),
        p(&ttfb, 0.99),
    );
}

/// Sends one request and reads the whole body; returns when the first body byte came.
async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    uri: &http::Uri,
    body: &Bytes,
) -> Result<Instant, ()> {
    let req = http::Request::post(uri.clone())
        .header("content-type", "application/json")
        .body(Full::new(body.clone()))
        .map_err(|_| ())?;
    let res = client.request(req).await.map_err(|_| ())?;
    if !res.status().is_success() {
        return Err(());
    }
    let mut b = res.into_body();
    let mut first = None;
    while let Some(f) = b.frame().await {
        f.map_err(|_| ())?;
        first.get_or_insert_with(Instant::now);
    }
    Ok(first.unwrap_or_else(Instant::now))
}
