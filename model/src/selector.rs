//! Kubernetes label selectors (`app=web,tier!=db,env in (a,b),!canary`), parsed as the API
//! server parses them: kubesim serves them, master filters its lists with them, atlctl passes
//! `-l` through.

use std::collections::BTreeMap;

/// A requirement that does not parse; holds the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: invalid label selector: \"{0}\"")]
pub struct SelectorError(pub String);

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// `app=web,tier!=db,env in (a,b),!canary` — every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 316
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

impl LabelSelector {
    /// Parses a selector; empty matches everything.
    ///
    /// # Errors
    /// [`SelectorError`] naming the part that does not parse.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let bad = |part: &str| SelectorError(part.to_owned());
        let mut requirements = Vec::new();
        if input.trim().is_empty() {
            return Ok(LabelSelector(requirements));
        }
        for part in split_top_level(input) {
            let part = part.trim();
            let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_owned())
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = part.split_once("==") {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = part.split_once('=') {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if words.len() == 2 {
                let (key, rest) = (words[0], words[1].trim());
                let (op, set) = if let Some(set) = rest.strip_prefix("notin") {
                    ("notin", set)
                } else if let Some(set) = rest.strip_prefix("in") {
                    ("in", set)
                } else {
                    return Err(bad(part));
                };
                let set = set
                    .trim()
                    .strip_prefix('(')
                    .and_then(|s| s.strip_suffix(')'))
                    .ok_or_else(|| bad(part))?;
                let values: Vec<String> = set
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect();
                if values.iter().any(|v| !valid_value(v)) {
                    return Err(bad(part));
                }
                if op == "in" {
                    Requirement::In(key.to_owned(), values)
                } else {
                    Requirement::NotIn(key.to_owned(), values)
                }
            } else {
                Requirement::Exists(part.to_owned())
            };
            let (key, value) = match &requirement {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, Some(v)),
                Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => (k, None),
            };
            if !valid_key(key) || value.is_some_and(|v| !valid_value(v)) {
                return Err(bad(part));
            }
            requirements.push(requirement);
        }
        Ok(LabelSelector(requirements))
    }

    /// A selector that requires each of `labels` (a `matchLabels`).
    pub fn from_match_labels(labels: &BTreeMap<String, String>) -> Self {
        LabelSelector(
            labels
                .iter()
                .map(|(k, v)| Requirement::Equals(k.clone(), v.clone()))
                .collect(),
        )
    }

    /// It selects everything (no term).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the labels satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selector_operators() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("env", "prod")]);
        for (selector, expected) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("env in (prod,staging)", true),
            ("env in (dev)", false),
            ("env notin (dev, test)", true),
            ("env notin (prod)", false),
            ("tier", true),
            ("canary", false),
            ("!canary", true),
            ("!app", false),
            ("app=web,env in (prod),!canary", true),
            ("app=web,tier=back", false),
            ("missing!=x", true),
        ] {
            let s = LabelSelector::parse(selector).unwrap();
            assert_eq!(s.matches(&l), expected, "{selector}");
        }
    }

    #[test]
    fn bad_label_selectors_name_the_bad_part() {
        for bad in ["app=(web", "env in prod", "a b c", "app=we b", "=x"] {
            let err = LabelSelector::parse(bad).unwrap_err();
            assert!(err.to_string().contains(bad.trim()), "{bad}: {err}");
        }
    }
}
