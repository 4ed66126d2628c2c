//! Label and field selectors as the API server parses them (labels: `model`'s parser).

pub use atlhyper_model::selector::LabelSelector;

use crate::status::ApiError;

/// `spec.nodeName=n1,status.phase!=Succeeded` — each term `=`, `==` or `!=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses a selector, accepting only the fields the kind supports.
    ///
    /// # Errors
    /// 400 BadRequest: `field label not supported: X`, or a term that does not parse.
    pub fn parse(input: &str, supported: &[&str]) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        if input.trim().is_empty() {
            return Ok(FieldSelector(terms));
        }
        for part in input.split(',') {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{input}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !supported.contains(&field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            terms.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(FieldSelector(terms))
    }

    /// Whether the object's fields satisfy every term; a missing field reads as "".
    pub fn matches(&self, field: impl Fn(&str) -> String) -> bool {
        self.0
            .iter()
            .all(|(name, equal, value)| (field(name) == *value) == *equal)
    }

    /// The value an `=` term requires of a field, if any (for fast paths).
    pub fn required(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, equal, _)| n == name && *equal)
            .map(|(_, _, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selectors_accept_only_supported_fields() {
        let supported = ["metadata.name", "spec.nodeName", "status.phase"];
        let s =
            FieldSelector::parse("spec.nodeName=n1,status.phase!=Succeeded", &supported).unwrap();
        let fields = |f: &str| match f {
            "spec.nodeName" => "n1".to_owned(),
            "status.phase" => "Running".to_owned(),
            _ => String::new(),
        };
        assert!(s.matches(fields));
        assert_eq!(s.required("spec.nodeName"), Some("n1"));
        let err = FieldSelector::parse("spec.foo=bar", &supported).unwrap_err();
        assert_eq!(err.message, "field label not supported: spec.foo");
        assert_eq!(err.code, 400);
    }
}
