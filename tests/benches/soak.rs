//! Sustained load through the local runner (`make soak`): the release runner as its own
//! process, 16 connections posting 1 KiB ingress events and audit events as fast as it
//! answers for `SOAK_SECS` (default 60), with a process engine draining the process queue
//! and a receiver taking every delivery. Reports requests per second, errors, lost events
//! and the runner's resident memory (VmRSS from /proc) after warm-up and at the end.
//!
//! Fails (exit non-zero) on any error answer, any lost event, or RSS growth of 20% or more
//! after warm-up (the first 10 s).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookbridge_tests::TestReceiver;
use hookbridge_tests::bench::{ReleaseRunner, admin, env_num, started_webhook};
use serde_json::{Value, json};

const TOKEN: &str = "soak-test-token";
const CONNECTIONS: usize = 16;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Counts {
    ingress: Mutex<HashSet<String>>,
    audit: Mutex<HashSet<String>>,
    errors: AtomicU64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs = env_num("SOAK_SECS", 60) as u64;
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(CONNECTIONS * 2).build().unwrap();
    let runner = ReleaseRunner::start(&http, TOKEN).await;
    let pid = runner.child.id();
    let base = runner.base.clone();
    let rx = TestReceiver::start().await;
    let url = started_webhook(&http, &base, TOKEN, "soak", "soak-starts").await;
    admin(
        &http,
        &base,
        TOKEN,
        reqwest::Method::POST,
        "/v1/connectors",
        Some(json!({"name": "soak-sink", "baseUrl": rx.url("/in")})),
    )
    .await;

    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let pad = "x".repeat(1000);
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (http, base, url, counts, stop, pad) =
            (http.clone(), base.clone(), url.clone(), counts.clone(), stop.clone(), pad.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let event_id = format!("{c}-{n}");
                if n.is_multiple_of(2) {
                    let r = http.post(&url).json(&json!({"id": event_id, "pad": pad})).send().await;
                    match r {
                        Ok(r) if r.status() == 200 => {
                            counts.ingress.lock().unwrap().insert(event_id);
                        }
                        _ => {
                            counts.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                } else {
                    let body = json!({"events": [{"id": event_id, "type": "soak", "occurredAt": "2026-12-01T00:00:00Z", "data": {"pad": pad}}]});
                    let r = http.post(format!("{base}/local/events")).bearer_auth(TOKEN).json(&body).send().await;
                    match r {
                        Ok(r) if r.status() == 202 => {
                            counts.audit.lock().unwrap().insert(event_id);
                        }
                        _ => {
                            counts.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }));
    }
    // The process engine: drains the process queue as it fills.
    let seen_ingress = Arc::new(Mutex::new(HashSet::new()));
    let drain_stop = Arc::new(AtomicBool::new(false));
    let drainer = {
        let (http, base, seen, drain_stop) = (http.clone(), base.clone(), seen_ingress.clone(), drain_stop.clone());
        tokio::spawn(async move {
            while !drain_stop.load(Ordering::Relaxed) {
                let got = admin(
                    &http,
                    &base,
                    TOKEN,
                    reqwest::Method::POST,
                    "/local/queues/soak-starts/receive?max=10&wait=1",
                    None,
                )
                .await;
                let mut seen = seen.lock().unwrap();
                for m in got["messages"].as_array().unwrap() {
                    seen.insert(m["body"]["webhookMessage"]["payload"]["id"].as_str().unwrap().to_owned());
                }
            }
        })
    };
    let seen_audit = Arc::new(Mutex::new(HashSet::new()));
    let receiver = {
        let seen = seen_audit.clone();
        let drain_stop = drain_stop.clone();
        tokio::spawn(async move {
            while !drain_stop.load(Ordering::Relaxed) {
                let mut requests = rx.requests.lock().await;
                while let Ok(r) = requests.try_recv() {
                    if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
                        seen.lock().unwrap().insert(v["id"].as_str().unwrap_or_default().to_owned());
                    }
                }
                drop(requests);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push((start.elapsed().as_secs(), rss_kib(pid)));
    }
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let load_secs = start.elapsed().as_secs_f64();
    let (ingress, audit) = (counts.ingress.lock().unwrap().clone(), counts.audit.lock().unwrap().clone());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let missing_i = ingress.iter().filter(|i| !seen_ingress.lock().unwrap().contains(*i)).count();
        let missing_a = audit.iter().filter(|i| !seen_audit.lock().unwrap().contains(*i)).count();
        if (missing_i == 0 && missing_a == 0) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drain_stop.store(true, Ordering::SeqCst);
    drainer.await.unwrap();
    receiver.await.unwrap();
    let lost_i = ingress.iter().filter(|i| !seen_ingress.lock().unwrap().contains(*i)).count();
    let lost_a = audit.iter().filter(|i| !seen_audit.lock().unwrap().contains(*i)).count();
    let warm = samples.iter().find(|(s, _)| *s >= 10).map_or(0, |s| s.1);
    let end = samples.last().map_or(0, |s| s.1);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let growth = if warm > 0 { (end as f64 - warm as f64) / warm as f64 * 100.0 } else { 0.0 };
    let errors = counts.errors.load(Ordering::Relaxed);
    println!(
        "SOAK secs={load_secs:.0} connections={CONNECTIONS} ingress={} audit={} requests_per_s={:.0} errors={errors} lost_ingress={lost_i} lost_audit={lost_a} rss_kib_after_warmup={warm} rss_kib_end={end} rss_kib_peak={peak} rss_growth_pct={growth:.1}",
        ingress.len(),
        audit.len(),
        (ingress.len() + audit.len()) as f64 / load_secs,
    );
    println!("SOAK rss_kib_per_second={:?}", samples.iter().map(|s| s.1).collect::<Vec<_>>());
    assert_eq!(errors, 0, "error answers under load");
    assert_eq!((lost_i, lost_a), (0, 0), "lost events");
    assert!(growth < 20.0, "RSS grew {growth:.1}% after warm-up");
}
