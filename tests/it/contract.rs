//! The port contract: one suite, run against every backend. A behaviour either backend
//! shows and the other does not is a bug in one of them.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use hookbridge::Backend;
use hookbridge::domain::*;
use hookbridge::error::{Conflict, StoreError};
use hookbridge::ports::{Claim, OutgoingMessage, PageRequest, QueueSpec, ReceivedMessage};
use hookbridge::secret::SecretString;
use hookbridge_tests::unique;

fn location(org: &str) -> Location {
    Location::new(
        LocationId::parse("orgId", org).unwrap(),
        LocationId::parse("workspaceId", "ws").unwrap(),
        LocationId::parse("appId", "app").unwrap(),
    )
}

fn webhook(name: &str, loc: &Location) -> Webhook {
    let now = Utc::now();
    Webhook {
        id: WebhookId::generate(),
        name: WebhookName::parse(name).unwrap(),
        description: "d".into(),
        provider: Provider::GENERIC,
        state: WebhookState::Inactive,
        location: loc.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
        helpers: Default::default(),
    }
}

fn binding(w: &WebhookId, queue: &str) -> Binding {
    Binding {
        id: BindingId::generate(),
        webhook_id: *w,
        kind: BindingKind::StartProcess {
            process_definition_id: ProcessDefinitionId::parse("p").unwrap(),
            queue: QueueRef::parse(queue).unwrap(),
        },
        created_at: Utc::now(),
    }
}

pub async fn webhooks_create_get_update_delete(b: &Backend) {
    let loc = location(&unique("org"));
    let mut w = webhook("first", &loc);
    b.registry.create_webhook(&w).await.unwrap();
    assert_eq!(b.registry.get_webhook(&w.id).await.unwrap().as_ref(), Some(&w));
    assert!(b.registry.get_webhook(&WebhookId::generate()).await.unwrap().is_none());

    // Same id again, and the same name in the same location, are conflicts.
    assert!(matches!(b.registry.create_webhook(&w).await, Err(StoreError::Conflict(Conflict::AlreadyExists))));
    let twin = webhook("first", &loc);
    assert!(matches!(b.registry.create_webhook(&twin).await, Err(StoreError::Conflict(Conflict::NameTaken))));
    // The same name elsewhere is fine.
    b.registry.create_webhook(&webhook("first", &location(&unique("org")))).await.unwrap();

    // Optimistic versions: the next version wins once, a stale one loses.
    w.version = 2;
    w.state = WebhookState::Active;
    b.registry.update_webhook(&w).await.unwrap();
    assert_eq!(b.registry.get_webhook(&w.id).await.unwrap().unwrap().state, WebhookState::Active);
    assert!(matches!(b.registry.update_webhook(&w).await, Err(StoreError::Conflict(Conflict::VersionMismatch))));
    let mut ghost = webhook("ghost", &loc);
    ghost.version = 2;
    assert!(matches!(b.registry.update_webhook(&ghost).await, Err(StoreError::NotFound)));

    // Renaming onto a taken name is refused; renaming frees the old name.
    let other = webhook("other", &loc);
    b.registry.create_webhook(&other).await.unwrap();
    let mut renamed = other.clone();
    renamed.version = 2;
    renamed.name = WebhookName::parse("first").unwrap();
    assert!(matches!(b.registry.update_webhook(&renamed).await, Err(StoreError::Conflict(Conflict::NameTaken))));
    renamed.name = WebhookName::parse("second").unwrap();
    b.registry.update_webhook(&renamed).await.unwrap();
    b.registry.create_webhook(&webhook("other", &loc)).await.unwrap();

    let bnd = binding(&w.id, "q1");
    b.registry.put_binding(&bnd).await.unwrap();
    b.registry.delete_webhook(&w.id).await.unwrap();
    assert!(b.registry.get_webhook(&w.id).await.unwrap().is_none());
    assert!(b.registry.list_bindings(&w.id).await.unwrap().is_empty());
    assert!(matches!(b.registry.delete_webhook(&w.id).await, Err(StoreError::NotFound)));
    // Its name is free again.
    b.registry.create_webhook(&webhook("first", &loc)).await.unwrap();
}

pub async fn webhooks_list_by_location_with_cursor(b: &Backend) {
    let loc = location(&unique("org"));
    let mut ids = Vec::new();
    for i in 0..5 {
        let w = webhook(&format!("hook-{i}"), &loc);
        b.registry.create_webhook(&w).await.unwrap();
        ids.push(w.id);
    }
    b.registry.create_webhook(&webhook("elsewhere", &location(&unique("org")))).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = b.registry.list_webhooks(Some(&loc), PageRequest { cursor, limit: 2 }).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|w| w.id));
        pages += 1;
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, ids, "every webhook of the location once, in creation order");
    let bad = b.registry.list_webhooks(Some(&loc), PageRequest { cursor: Some("%%%".into()), limit: 2 }).await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)));
}

pub async fn bindings_put_list_delete(b: &Backend) {
    let w = WebhookId::generate();
    let b1 = binding(&w, "q1");
    let b2 = binding(&w, "https://sqs.us-east-1.amazonaws.com/123456789012/q2.fifo");
    b.registry.put_binding(&b1).await.unwrap();
    b.registry.put_binding(&b2).await.unwrap();
    b.registry.put_binding(&binding(&WebhookId::generate(), "other")).await.unwrap();
    let listed = b.registry.list_bindings(&w).await.unwrap();
    assert_eq!(listed, vec![b1.clone(), b2.clone()]);
    b.registry.delete_binding(&w, &b1.id).await.unwrap();
    assert_eq!(b.registry.list_bindings(&w).await.unwrap(), vec![b2]);
    assert!(matches!(b.registry.delete_binding(&w, &b1.id).await, Err(StoreError::NotFound)));
}

pub async fn failed_triggers_newest_first(b: &Backend) {
    let w = WebhookId::generate();
    let mut made = Vec::new();
    for i in 0..3 {
        // Every field survives the store: the code, the binding, the details.
        let t = FailedTrigger::new(
            w,
            EventId::generate(),
            format!("events/{i}"),
            Utc::now(),
            TriggerFailure {
                code: "NO_WAITING_INSTANCE",
                message: format!("cause {i}"),
                source: if i == 1 { FailureSource::Fanout } else { FailureSource::Ingress },
                binding_id: Some(BindingId::generate()),
                process_definition_id: Some("catch-1".into()),
                details: [("correlationValue".to_owned(), format!("v{i}"))].into(),
            },
        );
        b.registry.put_failed_trigger(&t).await.unwrap();
        made.push(t);
    }
    let other = FailedTrigger { id: FailedTriggerId::generate(), webhook_id: WebhookId::generate(), ..made[0].clone() };
    b.registry.put_failed_trigger(&other).await.unwrap();
    assert_eq!(b.registry.get_failed_trigger(&made[1].id).await.unwrap().as_ref(), Some(&made[1]));
    let first = b.registry.list_failed_triggers(Some(&w), PageRequest { cursor: None, limit: 2 }).await.unwrap();
    assert_eq!(first.items, vec![made[2].clone(), made[1].clone()]);
    let rest = b.registry.list_failed_triggers(Some(&w), PageRequest { cursor: first.next, limit: 2 }).await.unwrap();
    assert_eq!(rest.items, vec![made[0].clone()]);
    assert!(rest.next.is_none());
}

pub async fn secrets_round_trip(b: &Backend) {
    let name = format!("hookbridge/test/{}", unique("s"));
    assert!(b.secrets.get_secret(&name).await.unwrap().is_none());
    b.secrets.put_secret(&name, &SecretString::new("one")).await.unwrap();
    assert_eq!(b.secrets.get_secret(&name).await.unwrap().unwrap().expose(), "one");
    b.secrets.put_secret(&name, &SecretString::new("two")).await.unwrap();
    assert_eq!(b.secrets.get_secret(&name).await.unwrap().unwrap().expose(), "two");
    b.secrets.delete_secret(&name).await.unwrap();
    assert!(b.secrets.get_secret(&name).await.unwrap().is_none());
    b.secrets.delete_secret(&name).await.unwrap();
    // Re-creating a deleted name works (Secrets Manager must not keep it scheduled).
    b.secrets.put_secret(&name, &SecretString::new("three")).await.unwrap();
    assert_eq!(b.secrets.get_secret(&name).await.unwrap().unwrap().expose(), "three");
}

pub async fn blobs_are_byte_exact(b: &Backend) {
    let key = format!("events/{}.json", unique("blob"));
    let data: Vec<u8> = (0..(1024 * 1024 + 7)).map(|i| (i * 31 % 256) as u8).collect();
    b.blobs.put_blob(&key, Bytes::from(data.clone())).await.unwrap();
    assert_eq!(b.blobs.get_blob(&key).await.unwrap().unwrap(), Bytes::from(data));
    b.blobs.delete_blob(&key).await.unwrap();
    assert!(b.blobs.get_blob(&key).await.unwrap().is_none());
}

pub async fn dedup_claims(b: &Backend) {
    let key = unique("delivery");
    let day = Duration::from_secs(86_400);
    assert_eq!(b.dedup.claim(&key, "event-1", day).await.unwrap(), Claim::New);
    assert_eq!(b.dedup.claim(&key, "event-2", day).await.unwrap(), Claim::Existing("event-1".into()));
    b.dedup.put(&key, "result", day).await.unwrap();
    assert_eq!(b.dedup.claim(&key, "event-2", day).await.unwrap(), Claim::Existing("result".into()));
    b.dedup.release(&key).await.unwrap();
    assert_eq!(b.dedup.claim(&key, "event-3", day).await.unwrap(), Claim::New);
    // An expired claim no longer counts, whether or not the store has swept it yet.
    let short = unique("short");
    assert_eq!(b.dedup.claim(&short, "a", Duration::ZERO).await.unwrap(), Claim::New);
    assert_eq!(b.dedup.claim(&short, "b", day).await.unwrap(), Claim::New);
    assert_eq!(b.dedup.claim(&short, "c", day).await.unwrap(), Claim::Existing("b".into()));
}

async fn receive_all(b: &Backend, q: &QueueRef, n: usize, vis: Duration) -> Vec<ReceivedMessage> {
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() >= n {
            break;
        }
        got.extend(b.queues.receive(q, 10, vis, Duration::from_secs(2)).await.unwrap());
    }
    got
}

pub async fn queues_visibility_receive_count_and_dead_letter(b: &Backend) {
    let dlq_name = unique("dlq");
    let dlq = b
        .queues
        .create_queue(&QueueSpec {
            name: dlq_name,
            visibility_timeout: Duration::from_secs(30),
            max_receives: 0,
            dead_letter: None,
        })
        .await
        .unwrap();
    let q = b
        .queues
        .create_queue(&QueueSpec {
            name: unique("work"),
            visibility_timeout: Duration::from_secs(30),
            max_receives: 2,
            dead_letter: Some(dlq.clone()),
        })
        .await
        .unwrap();
    let sent: Vec<OutgoingMessage> = (0..3).map(|i| OutgoingMessage::new(format!("{{\"n\":{i}}}"))).collect();
    let results = b.queues.send_batch(&q, &sent).await.unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(Result::is_ok));
    let too_many: Vec<OutgoingMessage> = (0..11).map(|i| OutgoingMessage::new(i.to_string())).collect();
    assert!(b.queues.send_batch(&q, &too_many).await.is_err());

    let first = receive_all(b, &q, 3, Duration::from_secs(30)).await;
    let mut bodies: Vec<&str> = first.iter().map(|m| m.body.as_str()).collect();
    bodies.sort();
    assert_eq!(bodies, vec!["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"]);
    assert!(first.iter().all(|m| m.receive_count == 1));
    // Hidden while in flight.
    assert!(b.queues.receive(&q, 10, Duration::from_secs(30), Duration::ZERO).await.unwrap().is_empty());

    // Acknowledge one; hand the others back.
    b.queues.delete_batch(&q, std::slice::from_ref(&first[0].receipt_handle)).await.unwrap();
    for m in &first[1..] {
        b.queues.change_visibility(&q, &m.receipt_handle, Duration::ZERO).await.unwrap();
    }
    let second = receive_all(b, &q, 2, Duration::from_secs(30)).await;
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|m| m.receive_count == 2));
    for m in &second {
        b.queues.change_visibility(&q, &m.receipt_handle, Duration::ZERO).await.unwrap();
    }
    // Past max receives they move to the dead-letter queue instead of being delivered.
    let third = b.queues.receive(&q, 10, Duration::from_secs(30), Duration::from_secs(1)).await.unwrap();
    assert!(third.is_empty(), "dead-lettered messages are not delivered again: {third:?}");
    let dead = receive_all(b, &dlq, 2, Duration::from_secs(30)).await;
    let mut dead_bodies: Vec<&str> = dead.iter().map(|m| m.body.as_str()).collect();
    dead_bodies.sort();
    let mut expected: Vec<&str> = second.iter().map(|m| m.body.as_str()).collect();
    expected.sort();
    assert_eq!(dead_bodies, expected);
}

pub async fn queues_delay(b: &Backend) {
    let q = b
        .queues
        .create_queue(&QueueSpec {
            name: unique("delay"),
            visibility_timeout: Duration::from_secs(30),
            max_receives: 0,
            dead_letter: None,
        })
        .await
        .unwrap();
    let mut m = OutgoingMessage::new("later");
    m.delay = Duration::from_secs(1);
    b.queues.send_batch(&q, &[m, OutgoingMessage::new("now")]).await.unwrap();
    assert_eq!(b.queues.depth(&q).await.unwrap(), 2, "delayed messages count");
    let now = b.queues.receive(&q, 10, Duration::from_secs(30), Duration::ZERO).await.unwrap();
    assert_eq!(now.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), vec!["now"]);
    // The long poll returns as soon as the delayed message becomes visible.
    let later = receive_all(b, &q, 1, Duration::from_secs(30)).await;
    assert_eq!(later.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), vec!["later"]);
}

pub async fn fifo_queues_order_and_deduplicate(b: &Backend) {
    let q = b
        .queues
        .create_queue(&QueueSpec {
            name: format!("{}.fifo", unique("fifo")),
            visibility_timeout: Duration::from_secs(30),
            max_receives: 0,
            dead_letter: None,
        })
        .await
        .unwrap();
    let msg = |body: &str, dedup: &str| OutgoingMessage {
        body: body.into(),
        group_id: Some("g1".into()),
        dedup_id: Some(dedup.into()),
        delay: Duration::ZERO,
    };
    let r = b.queues.send_batch(&q, &[msg("a", "d1"), msg("b", "d2"), msg("a-again", "d1")]).await.unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let got = receive_all(b, &q, 2, Duration::from_secs(30)).await;
    assert_eq!(got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
    // A later duplicate within the window is dropped too.
    b.queues.send_batch(&q, &[msg("a-third", "d1")]).await.unwrap();
    for m in &got {
        b.queues.delete(&q, &m.receipt_handle).await.unwrap();
    }
    assert!(b.queues.receive(&q, 10, Duration::from_secs(30), Duration::from_millis(500)).await.unwrap().is_empty());
}

fn connector(name: &str) -> Connector {
    let now = Utc::now();
    Connector {
        filters: Vec::new(),
        id: ConnectorId::generate(),
        name: ConnectorName::parse(name).unwrap(),
        description: String::new(),
        base_url: EndpointUrl::parse("https://example.com").unwrap(),
        method: HttpMethod::Post,
        path: "/hook".into(),
        auth: ConnectorAuth::ApiKey { key: "X-Key".into(), placement: KeyPlacement::Query },
        headers: [("X-A".to_owned(), "1".to_owned())].into(),
        signing: Some(SigningScheme::StandardWebhooks),
        signing_algorithm: Default::default(),
        signing_key_id: None,
        trust_any_certificate: false,
        tls: None,
        event_types: vec!["audit.*".into()],
        body_template: Some(r#"{"who":"${data.user}","empty":""}"#.into()),
        batch_max_events: Some(50),
        timeout_ms: 5000,
        retry: RetryPolicy::default(),
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

pub async fn connectors_unique_names_and_versions(b: &Backend) {
    let mut c = connector(&unique("sink"));
    b.connectors.create_connector(&c).await.unwrap();
    assert_eq!(b.connectors.get_connector(&c.id).await.unwrap().as_ref(), Some(&c));
    assert!(matches!(b.connectors.create_connector(&c).await, Err(StoreError::Conflict(Conflict::AlreadyExists))));
    let twin = connector(c.name.as_str());
    assert!(matches!(b.connectors.create_connector(&twin).await, Err(StoreError::Conflict(Conflict::NameTaken))));
    c.version = 2;
    c.enabled = false;
    c.name = ConnectorName::parse(&unique("renamed")).unwrap();
    b.connectors.update_connector(&c).await.unwrap();
    assert!(matches!(b.connectors.update_connector(&c).await, Err(StoreError::Conflict(Conflict::VersionMismatch))));
    // The old name is free after the rename.
    b.connectors.create_connector(&twin).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = b.connectors.list_connectors(PageRequest { cursor, limit: 1 }).await.unwrap();
        seen.extend(page.items.into_iter().map(|c| c.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert!(seen.contains(&c.id) && seen.contains(&twin.id));
    // Health: failing since the first failure, until a success.
    let t1 = Utc::now() - chrono::Duration::hours(2);
    let t2 = t1 + chrono::Duration::hours(1);
    let ms = |t: chrono::DateTime<Utc>| t.timestamp_millis();
    assert_eq!(b.connectors.record_outcome(&c.id, false, t1).await.unwrap().map(ms), Some(ms(t1)));
    assert_eq!(b.connectors.record_outcome(&c.id, false, t2).await.unwrap().map(ms), Some(ms(t1)));
    assert_eq!(b.connectors.record_outcome(&c.id, true, t2).await.unwrap(), None);
    assert_eq!(b.connectors.record_outcome(&c.id, false, t2).await.unwrap().map(ms), Some(ms(t2)));
    b.connectors.delete_connector(&c.id).await.unwrap();
    assert!(b.connectors.get_connector(&c.id).await.unwrap().is_none());
    assert!(matches!(b.connectors.delete_connector(&c.id).await, Err(StoreError::NotFound)));
}

pub async fn deliveries_log_and_filters(b: &Backend) {
    let connector_id = ConnectorId::generate();
    let mut made = Vec::new();
    for i in 0..3 {
        let event = OutboundEvent {
            tenants: None,
            id: format!("evt-{i}"),
            kind: "audit.x".into(),
            occurred_at: Utc::now(),
            source: "s".into(),
            data: serde_json::json!({"deep": {"list": [1, "two", null, {"k": ""}]}, "empty": ""}),
        };
        let d = DeliveryRecord {
            id: delivery_id(&event.id, &connector_id),
            connector_id,
            batch: (i == 2).then(|| format!("[{}]", serde_json::to_string(&event).unwrap())),
            event,
            status: DeliveryStatus::Pending,
            attempts: vec![],
            next_attempt_at: None,
            created_at: Utc::now() + chrono::Duration::milliseconds(i),
            updated_at: Utc::now(),
        };
        b.deliveries.create_delivery(&d).await.unwrap();
        made.push(d);
    }
    assert!(matches!(b.deliveries.create_delivery(&made[0]).await, Err(StoreError::Conflict(Conflict::AlreadyExists))));
    let mut done = made[1].clone();
    done.status = DeliveryStatus::Succeeded;
    done.attempts.push(DeliveryAttempt {
        at: Utc::now(),
        status: Some(200),
        latency_ms: 3,
        error: None,
        response: Some("ok".into()),
    });
    // Review L7: replaced only over the attempt count read.
    assert!(matches!(b.deliveries.update_delivery(&done, 5).await, Err(StoreError::Conflict(_))));
    b.deliveries.update_delivery(&done, done.attempts.len() - 1).await.unwrap();
    assert!(matches!(b.deliveries.update_delivery(&done, done.attempts.len() - 1).await, Err(StoreError::Conflict(_))));
    assert_eq!(b.deliveries.get_delivery(&done.id).await.unwrap().as_ref(), Some(&done));

    let filter = hookbridge::ports::DeliveryFilter { connector: Some(connector_id), status: None };
    let first = b.deliveries.list_deliveries(&filter, PageRequest { cursor: None, limit: 2 }).await.unwrap();
    assert_eq!(first.items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![made[2].id, made[1].id], "newest first");
    let rest = b.deliveries.list_deliveries(&filter, PageRequest { cursor: first.next, limit: 2 }).await.unwrap();
    assert_eq!(rest.items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![made[0].id]);
    let ok =
        hookbridge::ports::DeliveryFilter { connector: Some(connector_id), status: Some(DeliveryStatus::Succeeded) };
    let page = b.deliveries.list_deliveries(&ok, PageRequest { cursor: None, limit: 10 }).await.unwrap();
    assert_eq!(page.items, vec![done]);
}

pub async fn waiters_are_taken_once(b: &Backend) {
    let w = WebhookId::generate();
    let (b1, b2) = (BindingId::generate(), BindingId::generate());
    let waiter = |binding: BindingId, inst: &str, value: &str| Waiter {
        webhook_id: w,
        binding_id: binding,
        process_instance_id: inst.into(),
        correlation_value: value.into(),
        created_at: Utc::now(),
    };
    b.registry.put_waiter(&waiter(b1, "i1", "A")).await.unwrap();
    // Another instance cannot wait for the same value at the same binding...
    assert!(matches!(b.registry.put_waiter(&waiter(b1, "i2", "A")).await, Err(StoreError::Conflict(_))));
    // ...but may at another binding, or for another value.
    b.registry.put_waiter(&waiter(b2, "i2", "A")).await.unwrap();
    b.registry.put_waiter(&waiter(b1, "i3", "B")).await.unwrap();
    // Re-registering moves the instance's value at that binding.
    b.registry.put_waiter(&waiter(b1, "i3", "C")).await.unwrap();
    assert!(b.registry.take_waiter(&w, &b1, "B").await.unwrap().is_none());
    let taken = b.registry.take_waiter(&w, &b1, "C").await.unwrap().unwrap();
    assert_eq!(taken.process_instance_id, "i3");
    assert!(b.registry.take_waiter(&w, &b1, "C").await.unwrap().is_none(), "taken once");
    assert_eq!(b.registry.take_waiter(&w, &b1, "A").await.unwrap().unwrap().process_instance_id, "i1");
    // The value is free again once taken.
    b.registry.put_waiter(&waiter(b1, "i4", "A")).await.unwrap();
    b.registry.delete_waiters(&w, "i4").await.unwrap();
    assert!(matches!(b.registry.delete_waiters(&w, "i4").await, Err(StoreError::NotFound)));
    assert!(b.registry.take_waiter(&w, &b1, "A").await.unwrap().is_none());
    assert_eq!(b.registry.take_waiter(&w, &b2, "A").await.unwrap().unwrap().process_instance_id, "i2");
    // Review L2: deleting instance `a` leaves instance `a#b` waiting (no prefix match).
    b.registry.put_waiter(&waiter(b1, "a", "X")).await.unwrap();
    b.registry.put_waiter(&waiter(b1, "a#b", "Y")).await.unwrap();
    b.registry.delete_waiters(&w, "a").await.unwrap();
    assert!(b.registry.take_waiter(&w, &b1, "X").await.unwrap().is_none());
    assert_eq!(b.registry.take_waiter(&w, &b1, "Y").await.unwrap().unwrap().process_instance_id, "a#b");
}

/// Review L1: a secret replaced only over the version read; a stale token is refused.
pub async fn secrets_compare_and_swap(b: &Backend) {
    let name = format!("cas-{}", uuid::Uuid::new_v4());
    b.secrets.put_secret(&name, &SecretString::new("v0")).await.unwrap();
    let (v0, t0) = b.secrets.get_secret_versioned(&name).await.unwrap().unwrap();
    assert_eq!(v0.expose(), "v0");
    let t1 = b.secrets.replace_secret(&name, &SecretString::new("v1"), &t0).await.unwrap();
    assert!(matches!(
        b.secrets.replace_secret(&name, &SecretString::new("stale"), &t0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(b.secrets.get_secret(&name).await.unwrap().unwrap().expose(), "v1");
    let (_, current) = b.secrets.get_secret_versioned(&name).await.unwrap().unwrap();
    assert_eq!(current, t1);
    b.secrets.replace_secret(&name, &SecretString::new("v2"), &t1).await.unwrap();
    assert_eq!(b.secrets.get_secret(&name).await.unwrap().unwrap().expose(), "v2");
    assert!(matches!(
        b.secrets.replace_secret("missing-secret", &SecretString::new("x"), &t1).await,
        Err(StoreError::NotFound) | Err(StoreError::Conflict(_))
    ));
}

/// Counters add up per bucket and name, and a read returns the buckets from its start on.
pub async fn stats_add_up(b: &Backend) {
    use hookbridge::stats::bucket_of;
    let r = b.stats.with_interval(Duration::ZERO);
    let now = Utc::now();
    let earlier = now - chrono::Duration::hours(3);
    r.add("events.accepted", 2, now);
    r.add("events.refused.SIGNATURE_INVALID", 1, now);
    r.add("events.accepted", 5, earlier);
    r.flush().await;
    assert!(r.pending().is_empty());
    r.add("events.accepted", 3, now);
    r.flush_if_due().await;
    let all = r.read(bucket_of(earlier)).await.unwrap();
    assert_eq!(all[&bucket_of(now)]["events.accepted"], 5);
    assert_eq!(all[&bucket_of(now)]["events.refused.SIGNATURE_INVALID"], 1);
    assert_eq!(all[&bucket_of(earlier)]["events.accepted"], 5);
    let recent = r.read(bucket_of(now)).await.unwrap();
    assert_eq!(recent.keys().copied().collect::<Vec<_>>(), vec![bucket_of(now)]);
}

/// Runs every contract test against one backend constructor.
macro_rules! contract_suite {
    ($make:expr) => {
        contract_suite!(@tests $make;
            webhooks_create_get_update_delete,
            webhooks_list_by_location_with_cursor,
            bindings_put_list_delete,
            failed_triggers_newest_first,
            secrets_round_trip,
            blobs_are_byte_exact,
            dedup_claims,
            queues_visibility_receive_count_and_dead_letter,
            queues_delay,
            fifo_queues_order_and_deduplicate,
            connectors_unique_names_and_versions,
            deliveries_log_and_filters,
            waiters_are_taken_once,
            secrets_compare_and_swap,
            stats_add_up
        );
    };
    (@tests $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (backend, _guard) = $make.await;
                crate::contract::$name(&backend).await;
            }
        )*
    };
}

mod local {
    contract_suite!(async { hookbridge_tests::local_backend() });
}

/// `SecretStorage=ENVELOPE`, the template's default.
mod aws {
    contract_suite!(hookbridge_tests::aws_backend());
}

/// `SecretStorage=PER_ITEM`.
mod aws_per_item {
    contract_suite!(hookbridge_tests::aws_backend_per_item());
}
