use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = atlctl::cli::Cli::parse();
    // Logs matter only when atlctl runs the stack itself (`demo`); commands print results.
    let level = match &cli.command {
        atlctl::cli::Command::Demo(args) if args.headless => "info",
        atlctl::cli::Command::Demo(_) => "warn",
        _ => "error",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ATLHYPER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("atlctl: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(atlctl::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("atlctl: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
