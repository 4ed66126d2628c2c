use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = atlhyper_nodemetrics::Config::parse();
    if config.print_config {
        print!("{}", config.render());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = config.validate() {
        eprintln!("atlhyper-nodemetrics: {e}");
        return ExitCode::from(2);
    }
    atlhyper_runtime::log::init(&config.log, config.log_format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    if config.once {
        let sample = match atlhyper_nodemetrics::sample_once(&config, Duration::from_secs(1)).await
        {
            Ok(sample) => sample,
            Err(e) => {
                eprintln!("atlhyper-nodemetrics: {e}");
                return ExitCode::from(1);
            }
        };
        if config.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&sample).expect("samples serialize")
            );
        } else {
            print!("{}", atlhyper_nodemetrics::summary(&sample));
        }
        return ExitCode::SUCCESS;
    }
    let shutdown = tokio_util::sync::CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        atlhyper_runtime::signals::terminated().await;
        signal.cancel();
    });
    tracing::info!(node = %config.node(), agent = %config.agent, interval = ?config.interval, "sampling");
    atlhyper_nodemetrics::run(config, shutdown).await;
    ExitCode::SUCCESS
}
