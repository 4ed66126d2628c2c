//! A list screen: only the rows on screen are turned into widgets, and columns that do not fit
//! are dropped by priority instead of wrapping.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use unicode_width::UnicodeWidthStr as _;

use super::Theme;
use crate::console::app::{App, Feed, ListScreen};
use crate::console::filter::Filter;
use crate::console::rows::Rows;

/// No column is drawn wider than this; the last shown column takes what is left.
const MAX_COLUMN: u16 = 48;
/// The least room the last column is given before others are dropped for it (an event's
/// message, what one reads events for, more).
fn last_column_min(title: &str) -> u16 {
    if title == "MESSAGE" { 24 } else { 16 }
}

/// Columns at or below this drop order tell what a row is about (a status, an event's object
/// and reason): before one is dropped, wide columns are cut down instead.
const TELLING: u8 = 3;
/// Drop orders from here are kubectl's `-o wide` columns.
const WIDE: u8 = 20;
/// What a message is given before kubectl's wide columns are shown beside it.
const MESSAGE_WANTS: u16 = 64;

/// How far a wide column is cut down to keep a telling one on screen: a name, cut in the
/// middle, reads at 16; other text at 24.
fn shrunk_floor(title: &str) -> u16 {
    if names_an_object(title) { 16 } else { 24 }
}

/// Columns that name an object: cut in the middle, so that both what it belongs to and its
/// own suffix show (`payments-reco…c5d-x2kqp`); other cells are cut at the end.
fn names_an_object(title: &str) -> bool {
    matches!(title, "NAME" | "OBJECT")
}

/// `text` in at most `width` columns, with `…` where it was cut.
pub fn cut(text: &str, width: u16, middle: bool) -> std::borrow::Cow<'_, str> {
    use unicode_width::UnicodeWidthChar as _;
    let width = usize::from(width);
    if unicode_width::UnicodeWidthStr::width(text) <= width {
        return text.into();
    }
    if width == 0 {
        return "".into();
    }
    let take = |chars: &mut dyn Iterator<Item = char>, room: usize| {
        let mut used = 0;
        let mut out = Vec::new();
        for c in chars {
            let w = c.width().unwrap_or(0);
            if used + w > room {
                break;
            }
            used += w;
            out.push(c);
        }
        out
    };
    let room = width - 1;
    if middle {
        // The suffix gets the odd column: it tells replicas apart.
        let head: String = take(&mut text.chars(), room / 2).into_iter().collect();
        let mut tail = take(&mut text.chars().rev(), room - room / 2);
        tail.reverse();
        format!("{head}…{}", tail.into_iter().collect::<String>()).into()
    } else {
        let head: String = take(&mut text.chars(), room).into_iter().collect();
        format!("{head}…").into()
    }
}

/// Which columns fit in `width`, and how wide each is drawn; the sorted-by column stays.
pub fn fit(rows: &Rows, width: u16, keep: Option<usize>) -> Vec<(usize, u16)> {
    let mut shown: Vec<(usize, u16)> = (0..rows.columns.len())
        .map(|i| {
            // The sorted-by column has room for its arrow.
            let arrow = u16::from(Some(i) == keep);
            let title = rows.columns[i].title.width() as u16 + arrow;
            (i, rows.widths[i].max(title).min(MAX_COLUMN))
        })
        .collect();
    // The last column may be cut short (a message reads fine truncated), so it counts less.
    let need = |shown: &[(usize, u16)]| -> u32 {
        let last = shown.len().saturating_sub(1);
        shown
            .iter()
            .enumerate()
            .map(|(n, &(i, w))| {
                u32::from(if n == last {
                    w.min(last_column_min(rows.columns[i].title))
                } else {
                    w
                })
            })
            .sum::<u32>()
            + last as u32
    };
    while need(&shown) > u32::from(width) {
        let drop = shown
            .iter()
            .enumerate()
            .filter(|(_, (i, _))| rows.columns[*i].drop_order > 0 && Some(*i) != keep)
            .max_by_key(|(_, (i, _))| rows.columns[*i].drop_order)
            .map(|(at, _)| at);
        let Some(at) = drop else { break };
        if rows.columns[shown[at].0].drop_order <= TELLING {
            let excess = need(&shown) - u32::from(width);
            let last = shown.len() - 1;
            let floor = |i: usize| shrunk_floor(rows.columns[i].title);
            let widest = shown[..last]
                .iter_mut()
                .filter(|(i, w)| *w > floor(*i))
                .max_by_key(|(_, w)| *w);
            if let Some((i, w)) = widest {
                let cut = u16::try_from(excess)
                    .unwrap_or(u16::MAX)
                    .min(*w - floor(*i));
                *w -= cut;
                continue;
            }
        }
        shown.remove(at);
    }
    // A message is what one reads events for: kubectl's wide columns show only while it still
    // gets its whole width (or a long line's worth).
    let message_short = |shown: &[(usize, u16)]| match shown.last() {
        Some(&(i, _)) if rows.columns[i].title == "MESSAGE" => {
            let others: u16 = shown.iter().rev().skip(1).map(|(_, w)| w + 1).sum();
            width.saturating_sub(others) < rows.widths[i].min(MESSAGE_WANTS)
        }
        _ => false,
    };
    while message_short(&shown) {
        let wide = shown
            .iter()
            .enumerate()
            .filter(|(_, (i, _))| rows.columns[*i].drop_order >= WIDE && Some(*i) != keep)
            .max_by_key(|(_, (i, _))| rows.columns[*i].drop_order)
            .map(|(at, _)| at);
        let Some(at) = wide else { break };
        shown.remove(at);
    }
    // The last column gets the rest of the line (messages, hosts), however long it is.
    let others: u16 = shown.iter().rev().skip(1).map(|(_, w)| w + 1).sum();
    if let Some(last) = shown.last_mut() {
        last.1 = width.saturating_sub(others).max(1);
    }
    shown
}

pub fn draw(app: &App, list: &ListScreen, theme: Theme, frame: &mut Frame, area: Rect) {
    let total = list.rows.rows.len();
    let scope = if list.resource.namespaced() {
        format!("({})", app.scope.namespace.as_deref().unwrap_or("all"))
    } else {
        String::new()
    };
    let mut title = vec![Span::styled(
        format!(" {}{scope}[{}", list.resource.plural(), list.visible.len()),
        theme.title(),
    )];
    if list.filter != Filter::All {
        title.push(Span::styled(format!("/{total}"), theme.title()));
    }
    title.push(Span::styled("] ", theme.title()));
    if list.filter != Filter::All {
        title.push(Span::styled(
            format!("</{}> ", list.filter_text),
            theme.accent(),
        ));
    }
    let block = Block::bordered().title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let feed = Feed::of_resource(list.resource);
    if list.visible.is_empty() {
        let text = if !app.feeds.loaded.contains(&feed) {
            "loading…"
        } else if total == 0 {
            "nothing here"
        } else {
            "nothing matches the filter (Esc clears it)"
        };
        frame.render_widget(
            Paragraph::new(text).style(theme.tone(crate::console::rows::Tone::Dim)),
            inner,
        );
        return;
    }

    let columns = fit(&list.rows, inner.width, list.sort.map(|(c, _)| c));
    let header = Row::new(columns.iter().map(|&(i, _)| {
        let mut title = list.rows.columns[i].title.to_owned();
        if let Some((column, descending)) = list.sort
            && column == i
        {
            title.push(if descending { '↓' } else { '↑' });
        }
        Cell::from(title)
    }))
    .style(theme.accent().add_modifier(Modifier::BOLD));
    let page = usize::from(inner.height.saturating_sub(1));
    let end = (list.offset + page).min(list.visible.len());
    let body = list.visible[list.offset.min(end)..end]
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let row = &list.rows.rows[i];
            let cells = columns.iter().map(|&(c, w)| {
                let text = row.cell(c).unwrap_or("");
                let middle = names_an_object(list.rows.columns[c].title);
                Cell::from(cut(text, w, middle).into_owned())
            });
            let mut style = theme.tone(row.tone);
            if list.offset + n == list.selected {
                style = style.patch(theme.selected());
            }
            Row::new(cells).style(style)
        });
    let widths = columns.iter().map(|&(_, w)| Constraint::Length(w));
    frame.render_widget(
        Table::new(body, widths).header(header).column_spacing(1),
        inner,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::rows::{Column, Row, RowId, Tone};

    /// One row whose cells are as wide as `widths`, under columns of these drop orders.
    fn rows(columns: &[(&'static str, u8, usize)]) -> Rows {
        let row = Row::new(
            RowId {
                cluster: "c".into(),
                namespace: None,
                name: "n".into(),
            },
            columns.iter().map(|(_, _, w)| "x".repeat(*w)).collect(),
            Tone::Normal,
        );
        Rows::new(
            columns
                .iter()
                .map(|&(title, drop_order, _)| Column { title, drop_order })
                .collect(),
            vec![row],
        )
    }

    #[test]
    fn wide_columns_are_cut_down_before_a_telling_one_is_dropped() {
        let events = rows(&[
            ("AGE", 8, 5),
            ("REASON", 3, 25),
            ("OBJECT", 2, 46),
            ("MESSAGE", 1, 60),
        ]);
        // AGE goes (it tells less); OBJECT is cut just enough to keep REASON and give the
        // message its 24 columns.
        assert_eq!(fit(&events, 78, None), [(1, 25), (2, 27), (3, 24)]);
        // Wide enough: nothing dropped, nothing cut.
        assert_eq!(fit(&events, 140, None), [(0, 5), (1, 25), (2, 46), (3, 61)]);
        // Too narrow even cut down (a name to 16, other text to 24): the telling columns go
        // by their order.
        assert_eq!(fit(&events, 50, None), [(2, 16), (3, 33)]);
        // The sorted-by column stays.
        assert_eq!(fit(&events, 50, Some(0)), [(0, 5), (2, 16), (3, 27)]);
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis_names_in_the_middle() {
        assert_eq!(
            cut("checkout-5d8f7c9b6d-x2kqp", 16, true),
            "checkou…6d-x2kqp"
        );
        assert_eq!(cut("Back-off restarting", 10, false), "Back-off …");
        assert_eq!(cut("short", 10, true), "short");
        assert_eq!(cut("日本語の名前", 5, false), "日本…");
        assert_eq!(cut("x", 0, false), "");
    }
}
