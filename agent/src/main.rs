use std::process::ExitCode;

use clap::Parser;

// One thread: the agent waits on the network nearly all the time, and a second worker only
// adds wake-ups between threads (measured: docs/performance.md "Deltas"). Big bodies are
// compressed on the blocking pool.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = atlhyper_agent::Config::parse();
    if config.print_config {
        print!("{}", config.render());
        return ExitCode::SUCCESS;
    }
    atlhyper_runtime::log::init(&config.log, config.log_format);
    let running = match atlhyper_agent::start(&config).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("atlhyper-agent: {e}");
            return ExitCode::from(2);
        }
    };
    println!("http://{}", running.addr);
    atlhyper_runtime::signals::terminated().await;
    running.stop().await;
    ExitCode::SUCCESS
}
