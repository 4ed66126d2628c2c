//! `--print-config`: a service's settings as one TOML document — valid TOML (the config files
//! that come later read back what this prints), keys as the flags name them with `_` for `-`,
//! durations as `humantime` writes them, secrets as `"<redacted>"`, and what is unset as a
//! comment. One renderer for every binary.

use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

/// What `--print-config` prints, key by key in the order they are added.
#[derive(Debug, Default)]
pub struct PrintConfig {
    lines: Vec<String>,
}

/// A TOML string, quoted and escaped.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

impl PrintConfig {
    pub fn new() -> PrintConfig {
        PrintConfig::default()
    }

    fn line(mut self, key: &str, value: String) -> PrintConfig {
        self.lines.push(format!("{key} = {value}"));
        self
    }

    /// A text setting (an address, a URL, a mode).
    pub fn text(self, key: &str, value: impl Display) -> PrintConfig {
        self.line(key, quoted(&value.to_string()))
    }

    /// A count or a size.
    pub fn number(self, key: &str, value: impl Into<u64>) -> PrintConfig {
        let value: u64 = value.into();
        // TOML integers are signed 64-bit; a larger one is written as text.
        match i64::try_from(value) {
            Ok(v) => self.line(key, v.to_string()),
            Err(_) => self.line(key, quoted(&value.to_string())),
        }
    }

    /// A rate or a factor.
    pub fn float(self, key: &str, value: f64) -> PrintConfig {
        self.line(key, toml::Value::Float(value).to_string())
    }

    pub fn flag(self, key: &str, value: bool) -> PrintConfig {
        self.line(key, value.to_string())
    }

    pub fn duration(self, key: &str, value: Duration) -> PrintConfig {
        self.text(key, humantime::format_duration(value))
    }

    pub fn path(self, key: &str, value: &Path) -> PrintConfig {
        self.text(key, value.display())
    }

    /// A list of texts.
    pub fn list<I, T>(self, key: &str, values: I) -> PrintConfig
    where
        I: IntoIterator<Item = T>,
        T: Display,
    {
        let items: Vec<String> = values.into_iter().map(|v| quoted(&v.to_string())).collect();
        self.line(key, format!("[{}]", items.join(", ")))
    }

    /// A setting that may be unset: a comment saying so (and what stands in), or its value.
    pub fn maybe(self, key: &str, value: Option<impl Display>, otherwise: &str) -> PrintConfig {
        match value {
            Some(v) => self.text(key, v),
            None => self.unset(key, otherwise),
        }
    }

    /// A secret: `"<redacted>"` when set, never its value.
    pub fn secret(self, key: &str, value: Option<&str>) -> PrintConfig {
        match value {
            Some(_) => self.text(key, "<redacted>"),
            None => self.unset(key, "unset"),
        }
    }

    fn unset(mut self, key: &str, otherwise: &str) -> PrintConfig {
        self.lines.push(format!("# {key}: {otherwise}"));
        self
    }

    /// The document.
    pub fn render(&self) -> String {
        let mut out = self.lines.join("\n");
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_it_prints_is_valid_toml_without_secrets() {
        let text = PrintConfig::new()
            .text("listen", "127.0.0.1:8080")
            .text("odd", "a \"quoted\" \\ value\nwith a newline")
            .number("max_body_bytes", 8u64 << 20)
            .number("huge", u64::MAX)
            .float("speed", 1.5)
            .flag("readonly", true)
            .duration("ttl", Duration::from_secs(90))
            .path("db", Path::new("/var/lib/atlhyper/master.db"))
            .list("clusters", ["prod=<redacted>", "edge=<redacted>"])
            .maybe("kubeconfig", None::<String>, "inferred")
            .secret("admin_token", Some("very-secret-token"))
            .secret("intake_token", None)
            .render();
        assert!(!text.contains("very-secret"), "{text}");
        let doc: toml::Table = text.parse().expect("valid TOML");
        assert_eq!(doc["listen"].as_str(), Some("127.0.0.1:8080"));
        assert_eq!(
            doc["odd"].as_str(),
            Some("a \"quoted\" \\ value\nwith a newline")
        );
        assert_eq!(doc["max_body_bytes"].as_integer(), Some(8 << 20));
        assert_eq!(doc["huge"].as_str(), Some("18446744073709551615"));
        assert_eq!(doc["speed"].as_float(), Some(1.5));
        assert_eq!(doc["ttl"].as_str(), Some("1m 30s"));
        assert_eq!(doc["admin_token"].as_str(), Some("<redacted>"));
        assert_eq!(doc["clusters"].as_array().map(Vec::len), Some(2));
        assert!(!doc.contains_key("kubeconfig") && !doc.contains_key("intake_token"));
        assert!(text.contains("# kubeconfig: inferred"), "{text}");
    }
}
