//! The emulator enforces IAM with each function's policy from `template.yaml` (see
//! `infra/moto_iam.py`): calls outside a function's policy are refused. If this fails, the
//! other AWS suites prove nothing about permissions.

use std::time::Duration;

use hookbridge::ports::{OutgoingMessage, QueueSpec};
use hookbridge::secret::SecretString;
use hookbridge_tests::{aws_app, function_app, iam_credentials, unique};

fn denied<T: std::fmt::Debug>(r: Result<T, hookbridge::error::StoreError>, what: &str) {
    let e = r.expect_err(what);
    let text = format!("{e} {:?}", std::error::Error::source(&e));
    assert!(text.contains("AccessDenied") || text.contains("not authorized"), "{what}: {text}");
}

#[tokio::test]
async fn each_function_holds_exactly_its_policy() {
    assert!(iam_credentials().is_some(), "the emulator runs without IAM enforcement: use `make test`");
    let admin = aws_app().await;
    let spec = |name: String| QueueSpec {
        name,
        visibility_timeout: Duration::from_secs(30),
        max_receives: 0,
        dead_letter: None,
    };
    // Named like the template's resources and a process queue ("q-" is the tests' ProcessQueuePrefix).
    let events =
        admin.app.backend.queues.create_queue(&spec(format!("{}-hookbridge-events", unique("q")))).await.unwrap();
    let process = admin.app.backend.queues.create_queue(&spec(format!("{}-orders", unique("q")))).await.unwrap();
    let foreign = admin.app.backend.queues.create_queue(&spec(unique("payments"))).await.unwrap();
    let msg = [OutgoingMessage::new("{}")];

    let ingress = function_app(&admin, "IngressFunction").await.app.backend;
    ingress.queues.send_batch(&events, &msg).await.expect("ingress sends to the events queue");
    denied(ingress.queues.send_batch(&process, &msg).await, "ingress sends to a process queue");
    denied(ingress.queues.create_queue(&spec(unique("q"))).await, "ingress creates a queue");
    // Envelope storage (the default): the ingress may write webhooks' sealed items (a
    // secret a provider's handshake delivers is kept on first contact; its policy limits
    // that to `SECRET#hookbridge/webhooks/*`, a dynamodb:LeadingKeys condition the emulator
    // does not evaluate: infra/check_template.py requires it), but delete no secret.
    denied(ingress.secrets.delete_secret("hookbridge/webhooks/x").await, "ingress deletes a secret");
    ingress.blobs.put_blob("events/probe.json", bytes::Bytes::from_static(b"{}")).await.expect("ingress keeps events");
    denied(ingress.blobs.get_blob("events/probe.json").await, "ingress reads a blob");

    let fanout = function_app(&admin, "FanoutFunction").await.app.backend;
    fanout.queues.send_batch(&process, &msg).await.expect("fan-out sends to a process queue");
    denied(fanout.queues.send_batch(&foreign, &msg).await, "fan-out sends to a queue outside ProcessQueuePrefix");
    denied(
        fanout.blobs.put_blob("other/x.json", bytes::Bytes::from_static(b"{}")).await,
        "fan-out writes outside its prefixes",
    );

    let dispatch = function_app(&admin, "DispatchFunction").await.app.backend;
    denied(dispatch.queues.send_batch(&events, &msg).await, "dispatch sends to the events queue");
    denied(dispatch.secrets.delete_secret("hookbridge/connectors/x").await, "dispatch deletes a secret");

    let management = function_app(&admin, "ManagementFunction").await.app.backend;
    management
        .secrets
        .put_secret("hookbridge/webhooks/probe", &SecretString::new("v"))
        .await
        .expect("management writes secrets");
    denied(management.queues.send_batch(&process, &msg).await, "management sends to a process queue");
}
