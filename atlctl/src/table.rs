//! Plain-text tables as kubectl prints them: upper-case headers, columns left-aligned and
//! separated by three spaces, no trailing blanks.

use std::fmt::Write as _;

pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells show control characters rather than obey them.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows
            .push(row.into_iter().map(crate::text::into_printable).collect());
    }

    /// Puts `header` and one cell per row (from `cells`) in front of every row.
    pub fn prepend(&mut self, header: &str, cells: impl IntoIterator<Item = String>) {
        self.headers.insert(0, header.to_owned());
        for (row, cell) in self.rows.iter_mut().zip(cells) {
            row.insert(0, cell);
        }
    }

    pub fn render(&self, headers: bool) -> String {
        let columns = self.headers.len();
        let mut widths = vec![0usize; columns];
        let all = headers
            .then_some(&self.headers)
            .into_iter()
            .chain(self.rows.iter());
        for row in all.clone() {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in all {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    let pad = widths[i] - cell.chars().count();
                    let _ = write!(line, "{cell}{}   ", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_cells_are_shown_not_obeyed() {
        let mut t = Table::new(["REASON", "MESSAGE"]);
        t.push(vec![
            "Pulled".into(),
            "ok\u{1b}]0;pwned\u{7}\u{1b}[2K\rfake line\u{202e}txt.exe".into(),
        ]);
        let out = t.render(true);
        assert!(
            !out.chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "{out:?}"
        );
        assert!(out.contains("^[]0;pwned^G^[[2K^Mfake line"), "{out}");
    }

    #[test]
    fn columns_align_like_kubectl() {
        let mut t = Table::new(["NAME", "READY", "STATUS"]);
        t.push(vec!["web-1".into(), "1/1".into(), "Running".into()]);
        t.push(vec!["checkout-2".into(), "0/1".into(), "".into()]);
        assert_eq!(
            t.render(true),
            "NAME         READY   STATUS\nweb-1        1/1     Running\ncheckout-2   0/1\n"
        );
        t.prepend("CLUSTER", ["a".to_owned(), "bb".to_owned()]);
        assert_eq!(
            t.render(false),
            "a    web-1        1/1   Running\nbb   checkout-2   0/1\n"
        );
    }
}
