//! Load through the local runner with a real HTTP client (`make bench-load`).
//!
//! Starts the release runner (`target/release/hookbridge-local`) as its own process on a
//! free port with a fresh data dir, creates a webhook bound to one process queue, sends
//! N events of 1 KiB from C concurrent connections, then waits until every accepted event
//! is on the process queue and drains it, counting distinct event ids (lost = accepted -
//! distinct). Prints ingress latency percentiles and end-to-end throughput.
//!
//! Settings: `LOAD_EVENTS` (default 20000), `LOAD_CONCURRENCY` (16), `LOAD_RUNS` (3).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookbridge_tests::bench::{ReleaseRunner, admin, env_num, median, started_webhook};

const TOKEN: &str = "load-test-token";

struct RunResult {
    accepted: usize,
    lost: usize,
    ingress_secs: f64,
    end_to_end_secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn run_once(n: usize, concurrency: usize) -> RunResult {
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(concurrency).build().unwrap();
    let runner = ReleaseRunner::start(&http, TOKEN).await;
    let base = runner.base.clone();
    let url = started_webhook(&http, &base, TOKEN, "load", "load-starts").await;

    // A 1 KiB JSON body.
    let filler = "x".repeat(1024 - 40);
    let body = Arc::new(format!("{{\"order\":{{\"id\":12345,\"note\":\"{filler}\"}}}}"));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, body, next) = (http.clone(), url.clone(), body.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut ok = 0usize;
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    let t = Instant::now();
                    let r = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.as_str().to_owned())
                        .send()
                        .await;
                    if let Ok(r) = r {
                        if r.status() == 200 {
                            ok += 1;
                        }
                        let _ = r.bytes().await;
                    }
                    latencies.push(t.elapsed());
                }
                (ok, latencies)
            })
        })
        .collect();
    let mut accepted = 0;
    let mut latencies = Vec::with_capacity(n);
    for w in workers {
        let (ok, l) = w.await.unwrap();
        accepted += ok;
        latencies.extend(l);
    }
    let ingress_secs = started.elapsed().as_secs_f64();

    // End to end: until every accepted event is on the process queue.
    loop {
        let d = admin(&http, &base, TOKEN, reqwest::Method::GET, "/local/queues/load-starts", None).await;
        if d["depth"].as_u64().unwrap() as usize >= accepted {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "fan-out did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let end_to_end_secs = started.elapsed().as_secs_f64();

    // Count what arrived.
    let mut seen = HashSet::new();
    loop {
        let got =
            admin(&http, &base, TOKEN, reqwest::Method::POST, "/local/queues/load-starts/receive?max=10", None).await;
        let msgs = got["messages"].as_array().unwrap().clone();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            seen.insert(m["body"]["eventId"].as_str().unwrap().to_owned());
        }
    }
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1000.0;
    RunResult {
        accepted,
        lost: accepted - seen.len().min(accepted),
        ingress_secs,
        end_to_end_secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().unwrap().as_secs_f64() * 1000.0,
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; a filter that is not ours means: not this bench.
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && a != "load") {
        return;
    }
    let n = env_num("LOAD_EVENTS", 20_000);
    let c = env_num("LOAD_CONCURRENCY", 16);
    let runs = env_num("LOAD_RUNS", 3);
    let mut results = Vec::new();
    for i in 0..runs {
        let r = run_once(n, c).await;
        println!(
            "run {}: accepted {}/{n}, lost {}, ingress {:.0}/s, end-to-end {:.0}/s, latency p50 {:.2} ms p99 {:.2} ms max {:.1} ms",
            i + 1,
            r.accepted,
            r.lost,
            r.accepted as f64 / r.ingress_secs,
            r.accepted as f64 / r.end_to_end_secs,
            r.p50_ms,
            r.p99_ms,
            r.max_ms
        );
        results.push(r);
    }
    println!(
        "median of {runs}: ingress {:.0}/s, end-to-end {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, lost {}",
        median(results.iter().map(|r| r.accepted as f64 / r.ingress_secs).collect()),
        median(results.iter().map(|r| r.accepted as f64 / r.end_to_end_secs).collect()),
        median(results.iter().map(|r| r.p50_ms).collect()),
        median(results.iter().map(|r| r.p99_ms).collect()),
        results.iter().map(|r| r.lost).sum::<usize>()
    );
}
