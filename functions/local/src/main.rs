use hookbridge_local::{LocalConfig, start};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    hookbridge::config::init_tracing(false);
    let config = LocalConfig::from_env()?;
    let data_dir = config.data_dir.clone();
    let running = start(config).await?;
    let url = &running.public_url;
    println!(
        "hookbridge is running on {url} (data in {})\n\
         outbound calls may reach: {} (HOOKBRIDGE_ALLOW_TARGETS; everything private is refused otherwise)\n\
         admin token: {token}\n\
         console: {url}/console (sign in with the admin token)\n\n\
         try:\n  curl -s -H 'Authorization: Bearer {token}' {url}/v1/webhooks\n\
         (the README walks through creating, binding and calling a webhook;\n\
          the whole API is described at {url}/v1/openapi.json)\n",
        data_dir.display(),
        running.allow_targets,
        token = running.admin_token.expose(),
    );
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests and batches in progress");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
