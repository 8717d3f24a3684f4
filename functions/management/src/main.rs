//! Lambda: the management API (API Gateway HTTP API with IAM authorization).

use hookbridge::lambda::{AwsApp, management_config_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookbridge::config::init_tracing(true);
    let app = AwsApp::from_env().await?;
    let config = management_config_from_env(&app).await?;
    lambda_http::run(app.management(config)).await
}
