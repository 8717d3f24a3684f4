//! Lambda: the management API (API Gateway HTTP API with IAM authorization).

use std::sync::Arc;

use hookbridge::lambda::{AwsApp, dispatch_queues_from_env, events_queue_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookbridge::config::init_tracing(true);
    let queues = dispatch_queues_from_env()?;
    let events = events_queue_from_env()?;
    let app = AwsApp::from_env().await?;
    let dispatcher = Arc::new(app.dispatcher(queues)?);
    lambda_http::run(app.management(dispatcher, events).await?).await
}
