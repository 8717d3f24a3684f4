//! Lambda: SQS events queue -> process-starter queues, reporting partial batch failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookbridge::backend::aws::WarmUp;
use hookbridge::lambda::{AwsApp, events_queue_from_env};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookbridge::config::init_tracing(true);
    let app = AwsApp::from_env().await?;
    let events = events_queue_from_env()?;
    app.warm(&WarmUp { queue: events, secret_probe: "hookbridge/webhooks/warm-up" }).await;
    let fanout = Arc::new(app.fanout());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let fanout = fanout.clone();
        async move { Ok::<SqsBatchResponse, Error>(fanout.handle(event.payload).await) }
    }))
    .await
}
