use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match atlctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, as for every other failure; `--help` has the rest.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!(
                "atlctl: {} (see atlctl --help)",
                first.strip_prefix("error: ").unwrap_or(first)
            );
            return ExitCode::from(2);
        }
    };
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
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
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
