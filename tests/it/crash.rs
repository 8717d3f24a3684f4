//! Crash safety, measured: the local runner as its own process, `kill -9`ed repeatedly
//! while 16 connections post ingress events and audit events. After each restart on the same
//! data dir, every event answered 200/202 reaches its process queue or its receiver (at least
//! once): 0 lost. Duplicates are counted and printed (`CRASH-TEST` lines; RELIABILITY.md
//! keeps the figures). Work in flight at a kill resumes within 5 s of the restart.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookbridge_tests::bench::{admin, started_webhook};
use hookbridge_tests::{ProcessRunner, TestReceiver};
use serde_json::{Value, json};

const TOKEN: &str = "crash-test-admin-token";
const KILLS: usize = 5;
const CONNECTIONS: usize = 16;

#[derive(Default)]
struct Accepted {
    ingress: Mutex<HashSet<String>>,
    audit: Mutex<HashSet<String>>,
    refused: AtomicU64,
}

/// One connection's loop: an ingress event, then an audit event, until told to stop. What
/// was answered 200/202 is recorded as accepted; anything else (refused connections while
/// the runner is down, cut responses at the kill) promises nothing.
async fn load(http: reqwest::Client, base: String, url: String, accepted: Arc<Accepted>, stop: Arc<AtomicBool>) {
    let path_and_query = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    while !stop.load(Ordering::SeqCst) {
        let id = uuid::Uuid::new_v4().to_string();
        // With a delivery id, so the two-phase claim runs under the kills too.
        let r = http
            .post(format!("{base}{path_and_query}"))
            .header("idempotency-key", &id)
            .json(&json!({"crash": id}))
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 200 => {
                accepted.ingress.lock().unwrap().insert(id);
            }
            _ => {
                accepted.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let event =
            json!({"events": [{"id": id, "type": "crash.audit", "occurredAt": "2026-12-01T00:00:00Z", "data": {}}]});
        let r = http.post(format!("{base}/local/events")).bearer_auth(TOKEN).json(&event).send().await;
        match r {
            Ok(r) if r.status() == 202 => {
                accepted.audit.lock().unwrap().insert(id);
            }
            _ => {
                accepted.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Audit event ids the receiver got, with how often.
async fn drain_receiver(rx: &TestReceiver, seen: &mut HashMap<String, u32>) {
    let mut requests = rx.requests.lock().await;
    while let Ok(r) = requests.try_recv() {
        if let Ok(v) = serde_json::from_slice::<Value>(&r.body)
            && let Some(id) = v["id"].as_str()
        {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_accepted_event_is_lost_across_kill_9() {
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut runner = ProcessRunner::start(&http, dir.path(), TOKEN).await;
    let base = runner.base.clone();
    let rx = TestReceiver::start().await;

    let url = started_webhook(&http, &base, TOKEN, "crash-hook", "crash-starts").await;
    admin(
        &http,
        &base,
        TOKEN,
        reqwest::Method::POST,
        "/v1/connectors",
        Some(json!({"name": "crash-sink", "baseUrl": rx.url("/audit"), "retry": {"scheduleSecs": [1, 1, 1, 1, 1]}})),
    )
    .await;

    let accepted = Arc::new(Accepted::default());
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(load(http.clone(), base.clone(), url.clone(), accepted.clone(), stop.clone())))
        .collect();
    let mut restart_ms = Vec::new();
    for kill in 0..KILLS {
        // Let load build up, with work in every stage, then pull the plug.
        let before = accepted.ingress.lock().unwrap().len() + accepted.audit.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(10);
        while accepted.ingress.lock().unwrap().len() + accepted.audit.lock().unwrap().len() < before + 150 {
            assert!(Instant::now() < deadline, "no progress before kill {kill}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        runner.kill9();
        let t = Instant::now();
        runner.restart(&http).await;
        restart_ms.push(t.elapsed().as_millis());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for l in loaders {
        l.await.unwrap();
    }

    // Every accepted event arrives (bounded wait: the backlog drains).
    let ingress: HashSet<String> = accepted.ingress.lock().unwrap().clone();
    let audit: HashSet<String> = accepted.audit.lock().unwrap().clone();
    let mut seen_ingress: HashMap<String, u32> = HashMap::new();
    let mut seen_audit: HashMap<String, u32> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got =
            admin(&http, &base, TOKEN, reqwest::Method::POST, "/local/queues/crash-starts/receive?max=10&wait=1", None)
                .await;
        for m in got["messages"].as_array().unwrap() {
            let id = m["body"]["webhookMessage"]["payload"]["crash"].as_str().unwrap().to_owned();
            *seen_ingress.entry(id).or_default() += 1;
        }
        drain_receiver(&rx, &mut seen_audit).await;
        let missing_ingress = ingress.iter().filter(|i| !seen_ingress.contains_key(*i)).count();
        let missing_audit = audit.iter().filter(|i| !seen_audit.contains_key(*i)).count();
        if missing_ingress == 0 && missing_audit == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lost: {missing_ingress} of {} ingress events, {missing_audit} of {} audit events",
            ingress.len(),
            audit.len()
        );
    }
    // Work in flight at a kill resumes within 5 s: a delivery held by a slow receiver (once
    // the backlog has drained, so it is the only one in flight).
    rx.hold_ms.store(30_000, Ordering::SeqCst);
    let held = uuid::Uuid::new_v4().to_string();
    let event =
        json!({"events": [{"id": held, "type": "crash.audit", "occurredAt": "2026-12-01T00:00:00Z", "data": {}}]});
    let r = http.post(format!("{base}/local/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen_audit.contains_key(&held) {
        assert!(Instant::now() < deadline, "the held delivery never reached the receiver");
        drain_receiver(&rx, &mut seen_audit).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    runner.kill9();
    rx.hold_ms.store(0, Ordering::SeqCst);
    runner.restart(&http).await;
    let restarted = Instant::now();
    while seen_audit[&held] < 2 {
        assert!(restarted.elapsed() < Duration::from_secs(5), "work in flight did not resume within 5 s");
        drain_receiver(&rx, &mut seen_audit).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let resumed_ms = restarted.elapsed().as_millis();

    let dup = |seen: &HashMap<String, u32>, accepted: &HashSet<String>| {
        accepted.iter().map(|i| seen.get(i).copied().unwrap_or(0).saturating_sub(1)).sum::<u32>()
    };
    println!(
        "CRASH-TEST kills={} connections={CONNECTIONS} accepted_ingress={} accepted_audit={} lost=0 \
         duplicate_ingress={} duplicate_audit={} refused_while_down={} restart_ms={restart_ms:?} resumed_in_flight_ms={resumed_ms}",
        KILLS + 1,
        ingress.len(),
        audit.len(),
        dup(&seen_ingress, &ingress),
        dup(&seen_audit, &audit),
        accepted.refused.load(Ordering::Relaxed),
    );
    assert!(ingress.len() >= 100 && audit.len() >= 100, "too little load to show anything");
}
