//! Outbound dispatch under load (`make bench-dispatch`).
//!
//! Starts the release runner as its own process, points one connector at a receiver in
//! this process (answers 200, notes when each event arrives), and has 32 producers send N
//! audit events of 1 KiB through `POST /local/events` (one event per request, so each has a
//! send time). Every delivery is durable (recorded, queued, attempted, logged) before it
//! counts. Reports deliveries/s, event-to-delivery latency (send to arrival, same clock),
//! the runner's peak RSS (VmHWM) and its CPU time per delivery.
//!
//! Settings: `LOAD_EVENTS` (20000), `LOAD_PRODUCERS` (32), `LOAD_RUNS` (3), `LOAD_RATE`
//! (offered events/s across all producers, paced open-loop; 0 = as fast as they can).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookbridge_tests::bench::{ReleaseRunner, env_num, median};
use serde_json::{Value, json};

const TOKEN: &str = "dispatch-load-token";

fn proc_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

/// The process's user + system CPU time.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn start_receiver() -> (std::net::SocketAddr, Arrivals) {
    let arrivals: Arrivals = Arc::new(Mutex::new(HashMap::new()));
    let a = arrivals.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let a = a.clone();
        async move {
            let now = Instant::now();
            if let Ok(v) = serde_json::from_slice::<Value>(&body)
                && let Some(id) = v["id"].as_str()
            {
                a.lock().unwrap().entry(id.to_owned()).or_insert(now);
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, arrivals)
}

struct RunResult {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_mib: f64,
    cpu_us_per_delivery: f64,
    delivered: usize,
}

async fn run_once(n: usize, producers: usize, rate: usize) -> RunResult {
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(producers).build().unwrap();
    let runner = ReleaseRunner::start(&http, TOKEN).await;
    let (addr, arrivals) = start_receiver().await;
    let resp = http
        .post(format!("{}/v1/connectors", runner.base))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "bench sink", "baseUrl": format!("http://{addr}/hook"), "eventTypes": ["audit.*"],
            "signing": {"scheme": "STANDARD_WEBHOOKS"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let pid = runner.child.id();
    let cpu_before = cpu_time(pid);
    let filler = "x".repeat(1024 - 120);
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::with_capacity(n)));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..producers)
        .map(|_| {
            let (http, base, sent, next, filler) = (http.clone(), runner.base.clone(), sent.clone(), next.clone(), filler.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    if rate > 0 {
                        // Open-loop pacing: event i is due at i / rate seconds.
                        tokio::time::sleep_until((started + Duration::from_secs_f64(i as f64 / rate as f64)).into()).await;
                    }
                    let id = format!("evt-{i}");
                    let body = json!({"events": [{"id": id, "type": "audit.user.updated", "occurredAt": "2026-11-23T10:00:00Z",
                        "source": "audit", "data": {"note": filler}}]});
                    sent.lock().unwrap().insert(id, Instant::now());
                    let r = http.post(format!("{base}/local/events")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
                    assert_eq!(r.status(), 202);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Every event delivered (the receiver saw it).
    while arrivals.lock().unwrap().len() < n {
        assert!(started.elapsed() < Duration::from_secs(600), "deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let rss_kib = proc_field(pid, "status", "VmHWM:").unwrap_or(0);
    let sent = sent.lock().unwrap();
    let arrivals = arrivals.lock().unwrap();
    let mut latencies: Vec<f64> =
        arrivals.iter().filter_map(|(id, at)| Some(at.duration_since(*sent.get(id)?).as_secs_f64() * 1000.0)).collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    RunResult {
        rate: n as f64 / elapsed,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        rss_mib: rss_kib as f64 / 1024.0,
        cpu_us_per_delivery: cpu.as_secs_f64() * 1e6 / n as f64,
        delivered: arrivals.len(),
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && a != "dispatch_load") {
        return;
    }
    let n = env_num("LOAD_EVENTS", 20_000);
    let producers = env_num("LOAD_PRODUCERS", 32);
    let runs = env_num("LOAD_RUNS", 3);
    let rate = env_num("LOAD_RATE", 0);
    let mut results = Vec::new();
    for i in 0..runs {
        let r = run_once(n, producers, rate).await;
        println!(
            "run {}: delivered {}/{n}, {:.0} deliveries/s, event-to-delivery p50 {:.2} ms p99 {:.2} ms, peak RSS {:.1} MiB, runner CPU {:.0} us/delivery",
            i + 1,
            r.delivered,
            r.rate,
            r.p50_ms,
            r.p99_ms,
            r.rss_mib,
            r.cpu_us_per_delivery
        );
        results.push(r);
    }
    println!(
        "median of {runs}: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms, peak RSS {:.1} MiB, runner CPU {:.0} us/delivery",
        median(results.iter().map(|r| r.rate).collect()),
        median(results.iter().map(|r| r.p50_ms).collect()),
        median(results.iter().map(|r| r.p99_ms).collect()),
        median(results.iter().map(|r| r.rss_mib).collect()),
        median(results.iter().map(|r| r.cpu_us_per_delivery).collect()),
    );
}
