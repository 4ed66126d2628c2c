//! What atlctl prints of strings it did not write (event messages, names, error texts) shows
//! control characters instead of obeying them (kubectl's CVE-2021-25743 class): a cluster's
//! event cannot set the window title, erase a line or hide text. C0 controls and DEL print as
//! `^X` (as `cat -v`), C1 controls and invisible format characters (bidi overrides,
//! zero-width) as `\u{…}`. `--json` output is never touched.

use std::borrow::Cow;

/// Whether `c` would act on the terminal or hide itself rather than show.
fn acts(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// `text` as it may be printed.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(c as u8 + 0x40));
            }
            '\u{7f}' => out.push_str("^?"),
            c if acts(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`printable`] of an owned string, reusing it when it needs no change.
pub fn into_printable(text: String) -> String {
    match printable(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(shown) => shown,
    }
}

/// [`printable`], keeping line breaks (and tabs) for multi-line text such as a describe.
pub fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            line.split('\t')
                .map(printable)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_and_controls_are_spelled_out() {
        assert!(matches!(printable("web-1 Running"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Jb\u{7f}"), "a^[[2Jb^?");
        assert_eq!(printable("x\u{202e}y\u{200b}"), "x\\u{202e}y\\u{200b}");
        assert_eq!(printable_lines("a\tb\u{7}\nc\r"), "a\tb^G\nc^M");
    }
}
