//! Lambda: outbound dispatch. Invoked directly (audit batches, immediate calls), by the
//! dispatch queue (attempts and retries), by EventBridge or by Kinesis.

use std::sync::Arc;

use hookbridge::backend::aws::WarmUp;
use hookbridge::dispatch::handle_invocation;
use hookbridge::lambda::{AwsApp, dispatch_queues_from_env};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookbridge::config::init_tracing(true);
    let queues = dispatch_queues_from_env()?;
    let app = AwsApp::from_env().await?;
    app.warm(&WarmUp { queue: queues.deliveries.clone(), secret_probe: "hookbridge/connectors/warm-up" }).await;
    let dispatcher = Arc::new(app.dispatcher(queues)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let dispatcher = dispatcher.clone();
        async move { handle_invocation(&dispatcher, event.payload).await.map_err(Error::from) }
    }))
    .await
}
