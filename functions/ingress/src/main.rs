//! Lambda: API Gateway (HTTP API, payload 2.0) -> verify -> enqueue the event.

use hookbridge::backend::aws::WarmUp;
use hookbridge::lambda::{AwsApp, events_queue_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookbridge::config::init_tracing(true);
    let events = events_queue_from_env()?;
    let app = AwsApp::from_env().await?;
    app.warm(&WarmUp { queue: events.clone(), secret_probe: "hookbridge/webhooks/warm-up" }).await;
    lambda_http::run(app.ingress(events)).await
}
