//! Repository chores. `cargo xtask man` regenerates `man/` from the binaries' clap definitions,
//! `cargo xtask schema` the JSON Schemas in `docs/schema/` (see `schema.rs`);
//! the test below fails when `man/` is stale or was edited by hand.

mod schema;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

/// Every binary with a man page: its clap definition.
fn binaries() -> Vec<clap::Command> {
    vec![
        kubesim::Config::command(),
        atlhyper_master::Config::command(),
        atlhyper_nodemetrics::Config::command(),
        atlhyper_agent::Config::command(),
        atlctl::cli::Cli::command(),
    ]
}

/// Renders the page of a command and of each subcommand (`atlctl-get.1`), as (file name, text).
fn pages(command: clap::Command) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    fn walk(
        command: clap::Command,
        prefix: Option<&str>,
        out: &mut Vec<(String, Vec<u8>)>,
    ) -> anyhow::Result<()> {
        let name = match prefix {
            Some(parent) => format!("{parent}-{}", command.get_name()),
            None => command.get_name().to_owned(),
        };
        let command = command.display_name(name.clone());
        let mut text = Vec::new();
        clap_mangen::Man::new(command.clone())
            .render(&mut text)
            .with_context(|| format!("rendering {name}"))?;
        out.push((format!("{name}.1"), text));
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub.clone(), Some(&name), out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(command, None, &mut out)?;
    Ok(out)
}

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .join("man")
}

fn all_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut all = Vec::new();
    for command in binaries() {
        all.extend(pages(command)?);
    }
    Ok(all)
}

fn write_man() -> anyhow::Result<()> {
    let dir = man_dir();
    std::fs::create_dir_all(&dir)?;
    let pages = all_pages()?;
    // Pages of commands that no longer exist go too.
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".1") && !pages.iter().any(|(p, _)| p == name) {
            std::fs::remove_file(&path)?;
        }
    }
    for (name, text) in &pages {
        std::fs::write(dir.join(name), text)?;
        println!("man/{name}");
    }
    Ok(())
}

fn main() -> anyhow::Result<ExitCode> {
    match std::env::args().nth(1).as_deref() {
        Some("man") => {
            write_man()?;
            Ok(ExitCode::SUCCESS)
        }
        Some("schema") => {
            schema::write()?;
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask man       regenerate man/ from the clap definitions\n       \
                 cargo xtask schema    regenerate docs/schema/ from the model types"
            );
            Ok(ExitCode::from(2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_pages_match_the_clap_definitions() {
        let pages = all_pages().unwrap();
        assert!(!pages.is_empty());
        let dir = man_dir();
        let mut stale = Vec::new();
        for (name, text) in &pages {
            match std::fs::read(dir.join(name)) {
                Ok(on_disk) if &on_disk == text => {}
                Ok(_) => stale.push(format!("{name} differs")),
                Err(_) => stale.push(format!("{name} is missing")),
            }
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".1") && !pages.iter().any(|(p, _)| *p == name) {
                stale.push(format!("{name} has no command"));
            }
        }
        assert!(
            stale.is_empty(),
            "man/ is stale ({}); run `cargo xtask man`",
            stale.join(", ")
        );
    }
}
