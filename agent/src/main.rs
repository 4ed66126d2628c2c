use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let config = atlhyper_agent::Config::parse();
    if config.print_config {
        print!("{}", config.render());
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let running = match atlhyper_agent::start(&config).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("atlhyper-agent: {e}");
            return ExitCode::from(2);
        }
    };
    println!("http://{}", running.addr);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    running.stop().await;
    ExitCode::SUCCESS
}
