//! Where atlctl finds master and its token: flags, then `ATLHYPER_SERVER` / `ATLHYPER_TOKEN`,
//! then the chosen context of `~/.config/atlhyper/config.toml` (XDG), then the local default.
//! Tokens are read, stored (mode 0600) and used — never printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

/// Master's address when nothing says otherwise (master's own default listen address).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// The config file.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// One named master and how to authenticate to it.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Context {
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A file holding the token (first line), for tokens kept out of the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Namespace used when neither `-n` nor `-A` is given (else `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The config file's path: `--config`/`ATLHYPER_CONFIG`, else `$XDG_CONFIG_HOME/atlhyper/
/// config.toml`, else `~/.config/atlhyper/config.toml`.
pub fn default_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("atlhyper/config.toml");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".config/atlhyper/config.toml"),
        None => PathBuf::from("atlhyper-config.toml"),
    }
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty config.
    ///
    /// # Errors
    /// [`CliError::Usage`] for an unreadable or malformed file, naming it.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
            Err(e) => return Err(CliError::Usage(format!("{}: {e}", path.display()))),
        };
        toml::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{}: {}", path.display(), e.message().trim_end())))
    }

    /// Writes the file (creating its directory), readable by its owner only.
    ///
    /// # Errors
    /// [`CliError::Failed`] naming the path.
    pub fn save(&self, path: &Path) -> Result<()> {
        let fail = |e: std::io::Error| CliError::Failed(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let text = toml::to_string_pretty(self)
            .map_err(|e| CliError::Failed(format!("cannot write the config: {e}")))?;
        let tmp = path.with_extension("toml.tmp");
        {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(fail)?;
            file.write_all(text.as_bytes()).map_err(fail)?;
        }
        std::fs::rename(&tmp, path).map_err(fail)
    }
}

/// Where to connect, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub server: String,
    pub token: Option<String>,
    pub namespace: Option<String>,
    /// The context used, if any.
    pub context: Option<String>,
}

/// What the command line and environment said (clap has folded the env vars in).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub server: Option<String>,
    pub token: Option<String>,
    pub context: Option<String>,
}

/// Resolves the target: explicit server/token win over the context's.
///
/// # Errors
/// [`CliError::Usage`] for a named context that does not exist or an unreadable token file.
pub fn resolve(file: &ConfigFile, overrides: &Overrides) -> Result<Target> {
    let name = overrides
        .context
        .clone()
        .or_else(|| file.current_context.clone());
    let context = match &name {
        Some(n) => Some(file.contexts.get(n).ok_or_else(|| {
            CliError::Usage(format!("no context `{n}` (known: {})", known(file)))
        })?),
        None => None,
    };
    let token = match (&overrides.token, context) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(c)) => context_token(c)?,
        (None, None) => None,
    };
    Ok(Target {
        server: overrides
            .server
            .clone()
            .or_else(|| context.map(|c| c.server.clone()))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
        token: token.filter(|t| !t.is_empty()),
        namespace: context.and_then(|c| c.namespace.clone()),
        context: name,
    })
}

fn known(file: &ConfigFile) -> String {
    if file.contexts.is_empty() {
        "none; add one with `atlctl config set-context NAME --server URL`".to_owned()
    } else {
        file.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn context_token(context: &Context) -> Result<Option<String>> {
    if let Some(token) = &context.token {
        return Ok(Some(token.clone()));
    }
    match &context.token_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|t| t.lines().next().map(|l| l.trim().to_owned()))
            .map_err(|e| CliError::Usage(format!("token file {}: {e}", path.display()))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ConfigFile {
        toml::from_str(
            r#"
current-context = "prod"
[contexts.prod]
server = "https://master.example:8080"
token = "prod-token"
namespace = "shop"
[contexts.lab]
server = "http://10.0.0.1:8080"
"#,
        )
        .unwrap()
    }

    #[test]
    fn the_current_context_applies_unless_flags_say_otherwise() {
        let t = resolve(&file(), &Overrides::default()).unwrap();
        assert_eq!(t.server, "https://master.example:8080");
        assert_eq!(t.token.as_deref(), Some("prod-token"));
        assert_eq!(t.namespace.as_deref(), Some("shop"));

        let t = resolve(
            &file(),
            &Overrides {
                token: Some("flag".into()),
                context: Some("lab".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(t.server, "http://10.0.0.1:8080");
        assert_eq!(t.token.as_deref(), Some("flag"));
    }

    #[test]
    fn no_config_means_the_local_default_and_an_unknown_context_is_an_error() {
        let t = resolve(&ConfigFile::default(), &Overrides::default()).unwrap();
        assert_eq!(t.server, DEFAULT_SERVER);
        assert_eq!(t.token, None);
        let e = resolve(
            &file(),
            &Overrides {
                context: Some("nope".into()),
                ..Overrides::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("lab, prod"), "{e}");
    }

    #[test]
    fn saved_configs_read_back_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        file().save(&path).unwrap();
        assert_eq!(ConfigFile::load(&path).unwrap(), file());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_malformed_file_is_a_usage_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "contexts = 3").unwrap();
        let e = ConfigFile::load(&path).unwrap_err();
        assert!(e.to_string().contains("config.toml"), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
}
