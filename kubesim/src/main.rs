use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// glibc gives each thread that meets a locked arena an arena of its own, and keeps what each
/// one held at its peak. The controllers' objects then spread over the arenas of every runtime
/// thread that served a request meanwhile (the `large` scenario settled anywhere between 125
/// and 210 MiB); one arena keeps it where the live objects are (about 125 MiB). A fixed mmap
/// threshold hands large transient buffers (a 5,000-row table) back when they are freed.
// The workspace denies unsafe code; glibc's allocator knobs have no safe binding.
#[allow(unsafe_code)]
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

fn main() -> anyhow::Result<ExitCode> {
    tune_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> anyhow::Result<ExitCode> {
    let config = kubesim::Config::parse();
    if config.print_config {
        print!("{}", config.render());
        return Ok(ExitCode::SUCCESS);
    }
    atlhyper_runtime::log::init(&config.log, config.log_format);
    let running = match kubesim::start(&config, kubesim::sim::SimOptions::default()).await {
        Ok(running) => running,
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("kubesim: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    // The first line on stdout is the URL, for scripts that start kubesim on port 0.
    println!("{}", running.url);
    std::io::stdout().flush()?;
    atlhyper_runtime::signals::terminated().await;
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}
