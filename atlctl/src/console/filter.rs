//! The `/` filter of a list: text, its inverse, label selectors and whole-cell column terms.

use atlhyper_model::resources::Labels;

use super::rows::{Column, Row};

/// The `/` filter: a substring or a regex (any cell; `fred|blee`, `^cart`), its inverse
/// (`!text`), a label selector (`-l app=web,tier!=db,env`), or whole cells of named columns
/// (`-c node=worker-1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Filter {
    #[default]
    All,
    Contains(Needle),
    Excludes(Needle),
    Labels(Vec<LabelTerm>),
    Columns(Vec<ColumnTerm>),
}

/// What `/text` looks for: text with a regex's characters is a regex (case ignored, `^` and
/// `$` at each cell's ends) when it compiles, else plain text (lowercased; case ignored).
#[derive(Debug, Clone)]
pub enum Needle {
    Text(String, regex::Regex),
    Regex(regex::Regex),
}

impl PartialEq for Needle {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Needle::Text(a, _), Needle::Text(b, _)) => a == b,
            (Needle::Regex(a), Needle::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for Needle {}

impl Needle {
    pub fn new(text: &str) -> Needle {
        let lower = text.to_lowercase();
        if text.contains(['|', '^', '$', '(', ')', '[', ']', '*', '+', '?', '\\', '{'])
            && let Ok(re) = regex::Regex::new(&format!("(?im){text}"))
        {
            return Needle::Regex(re);
        }
        let literal = regex::RegexBuilder::new(&regex::escape(&lower))
            .case_insensitive(true)
            .build()
            .expect("an escaped literal is a regex");
        Needle::Text(lower, literal)
    }

    /// Whether lowercased text has it.
    pub fn found(&self, lowercased: &str) -> bool {
        match self {
            Needle::Text(t, _) => lowercased.contains(t.as_str()),
            Needle::Regex(re) => re.is_match(lowercased),
        }
    }

    /// Whether a row's cells (as they are, one per line) have it, case ignored.
    pub fn found_in_cells(&self, text: &str) -> bool {
        match self {
            Needle::Text(_, re) | Needle::Regex(re) => re.is_match(text),
        }
    }
}

/// One `-c` term: a column's whole cell is (or is not) `value`, as kubectl's field selectors
/// compare a field; titles and values ignore case, `last-seen` names `LAST SEEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnTerm {
    pub column: String,
    pub value: String,
    pub equals: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelTerm {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    Missing(String),
}

impl Filter {
    /// Reads what was typed after `/`.
    pub fn parse(text: &str) -> Filter {
        let text = text.trim();
        if text.is_empty() {
            return Filter::All;
        }
        if let Some(selector) = text.strip_prefix("-l") {
            let terms = selector
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    if let Some((k, v)) = t.split_once("!=") {
                        LabelTerm::NotEquals(k.trim().to_owned(), v.trim().to_owned())
                    } else if let Some((k, v)) = t.split_once('=') {
                        let v = v.strip_prefix('=').unwrap_or(v);
                        LabelTerm::Equals(k.trim().to_owned(), v.trim().to_owned())
                    } else if let Some(k) = t.strip_prefix('!') {
                        LabelTerm::Missing(k.trim().to_owned())
                    } else {
                        LabelTerm::Exists(t.to_owned())
                    }
                })
                .collect();
            return Filter::Labels(terms);
        }
        if let Some(terms) = text.strip_prefix("-c") {
            let terms = terms
                .split(',')
                .filter_map(|t| {
                    let (column, value, equals) = match t.split_once("!=") {
                        Some((c, v)) => (c, v, false),
                        None => {
                            let (c, v) = t.split_once('=')?;
                            (c, v.strip_prefix('=').unwrap_or(v), true)
                        }
                    };
                    Some(ColumnTerm {
                        column: column.trim().to_uppercase().replace(['-', '_'], " "),
                        value: value.trim().to_lowercase(),
                        equals,
                    })
                })
                .collect();
            return Filter::Columns(terms);
        }
        match text.strip_prefix('!') {
            Some(rest) => Filter::Excludes(Needle::new(rest)),
            None => Filter::Contains(Needle::new(text)),
        }
    }

    /// The first `-c` column that `columns` do not have.
    pub fn unknown_column(&self, columns: &[Column]) -> Option<&str> {
        let Filter::Columns(terms) = self else {
            return None;
        };
        terms
            .iter()
            .find(|t| !columns.iter().any(|c| c.title == t.column))
            .map(|t| t.column.as_str())
    }

    /// Whether a line of text (logs) passes: the text terms; the others are for lists.
    pub fn matches_line(&self, line: &str) -> bool {
        match self {
            Filter::Contains(needle) => needle.found(&line.to_lowercase()),
            Filter::Excludes(needle) => !needle.found(&line.to_lowercase()),
            _ => true,
        }
    }

    pub fn matches<'a>(
        &self,
        row: &Row,
        columns: &[Column],
        labels: impl FnOnce() -> Option<&'a Labels>,
    ) -> bool {
        match self {
            Filter::Columns(terms) => terms.iter().all(|t| {
                // A column the list does not have matches nothing (`unknown_column` says so).
                columns
                    .iter()
                    .position(|c| c.title == t.column)
                    .and_then(|i| row.cell(i))
                    .is_some_and(|cell| (cell.to_lowercase() == t.value) == t.equals)
            }),
            Filter::All => true,
            Filter::Contains(needle) => needle.found_in_cells(row.text()),
            Filter::Excludes(needle) => !needle.found_in_cells(row.text()),
            Filter::Labels(terms) => {
                let none = Labels::new();
                let labels = labels().unwrap_or(&none);
                terms.iter().all(|t| match t {
                    LabelTerm::Equals(k, v) => labels.get(k) == Some(v),
                    LabelTerm::NotEquals(k, v) => labels.get(k) != Some(v),
                    LabelTerm::Exists(k) => labels.contains_key(k),
                    LabelTerm::Missing(k) => !labels.contains_key(k),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_terms_name_columns_as_titles_do_and_say_which_are_unknown() {
        assert_eq!(
            Filter::parse("-c last-seen=2m, Node!=Worker-1 ,junk"),
            Filter::Columns(vec![
                ColumnTerm {
                    column: "LAST SEEN".into(),
                    value: "2m".into(),
                    equals: true
                },
                ColumnTerm {
                    column: "NODE".into(),
                    value: "worker-1".into(),
                    equals: false
                },
            ])
        );
        let columns = ["NAME", "STATUS"].map(|title| Column {
            title,
            drop_order: 0,
        });
        assert_eq!(
            Filter::parse("-c status=x,node=y").unknown_column(&columns),
            Some("NODE")
        );
        assert_eq!(Filter::parse("-c status=x").unknown_column(&columns), None);
        assert_eq!(Filter::parse("node=y").unknown_column(&columns), None);
    }
}
