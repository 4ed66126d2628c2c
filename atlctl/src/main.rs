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
        Some(atlctl::cli::Command::Demo(args)) if args.headless => "info",
        Some(atlctl::cli::Command::Demo(_)) => "warn",
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ATLHYPER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let console = std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && match &cli.command {
            None => true,
            Some(atlctl::cli::Command::Demo(args)) => !args.headless,
            Some(atlctl::cli::Command::Top(args)) => !args.once && !args.json,
            Some(_) => false,
        };
    if console {
        // The console owns the terminal: log lines would tear through it.
        let path = std::env::temp_dir().join("atlctl.log");
        if let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .with_writer(std::io::stderr)
            .init();
    }
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
            eprintln!("atlctl: {}", atlctl::text::printable(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}
