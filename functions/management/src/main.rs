//! Lambda: the management API (API Gateway HTTP API with IAM authorization).

use std::sync::Arc;

use hookbridge::lambda::{AwsApp, dispatch_settings_from_env, events_queue_from_env, management_config_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookbridge::config::init_tracing(true);
    let settings = dispatch_settings_from_env()?;
    let events = events_queue_from_env()?;
    let app = AwsApp::from_env().await?;
    let config = management_config_from_env(&app).await?;
    let dispatcher = Arc::new(app.dispatcher(settings)?);
    lambda_http::run(app.management(config, dispatcher, events)).await
}
