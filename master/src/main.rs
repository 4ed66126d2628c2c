use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let config = atlhyper_master::Config::parse();
    if config.print_config {
        print!("{}", config.render());
        return Ok(ExitCode::SUCCESS);
    }
    atlhyper_runtime::log::init(&config.log, config.log_format);
    if let Some(atlhyper_master::MasterCommand::ResetAdminToken { name }) = &config.command {
        let name = name.clone().unwrap_or_else(|| {
            format!(
                "admin-reset-{}",
                atlhyper_master::datasource::now_ms() / 1000
            )
        });
        return match atlhyper_master::reset_admin_token(&config, &name).await {
            Ok(token) => {
                // The token alone on stdout, for scripts; the note on stderr.
                println!("{token}");
                eprintln!(
                    "atlhyper-master: a new admin token `{name}` is stored in {}; a running \
                     master accepts it after its next start",
                    config.db_path().display()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("atlhyper-master: {}", chain(&e));
                Ok(ExitCode::from(2))
            }
        };
    }
    let running = match atlhyper_master::start(&config).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("atlhyper-master: {}", chain(&e));
            return Ok(ExitCode::from(2));
        }
    };
    // The first line on stdout is the URL, for scripts that start master on port 0.
    println!("{}", running.url);
    std::io::stdout().flush()?;
    if let Some(token) = &running.new_admin_token {
        // Printed once, straight to the terminal, never through the log.
        eprintln!(
            "atlhyper-master: first start: admin token (shown once, store it now):\n  {token}"
        );
    }
    atlhyper_runtime::signals::terminated().await;
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}
