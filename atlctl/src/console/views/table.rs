//! A list screen: only the rows on screen are turned into widgets, and columns that do not fit
//! are dropped by priority instead of wrapping.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::Theme;
use crate::console::app::{App, Feed, ListScreen};
use crate::console::rows::{Filter, Rows};

/// No column is drawn wider than this; the last shown column takes what is left.
const MAX_COLUMN: u16 = 48;
/// The least room the last column is given before others are dropped for it.
const LAST_COLUMN_MIN: u16 = 16;

/// Which columns fit in `width`, and how wide each is drawn; the sorted-by column stays.
pub fn fit(rows: &Rows, width: u16, keep: Option<usize>) -> Vec<(usize, u16)> {
    let mut shown: Vec<usize> = (0..rows.columns.len()).collect();
    // The last column may be cut short (a message reads fine truncated), so it counts less.
    let need = |shown: &[usize]| -> u32 {
        let last = shown.len().saturating_sub(1);
        shown
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                let w = rows.widths[i].min(MAX_COLUMN);
                u32::from(if n == last { w.min(LAST_COLUMN_MIN) } else { w })
            })
            .sum::<u32>()
            + last as u32
    };
    while need(&shown) > u32::from(width) {
        let drop = shown
            .iter()
            .enumerate()
            .filter(|(_, i)| rows.columns[**i].drop_order > 0 && Some(**i) != keep)
            .max_by_key(|(_, i)| rows.columns[**i].drop_order)
            .map(|(at, _)| at);
        match drop {
            Some(at) => {
                shown.remove(at);
            }
            None => break,
        }
    }
    let mut widths: Vec<(usize, u16)> = shown
        .iter()
        .map(|&i| (i, rows.widths[i].min(MAX_COLUMN)))
        .collect();
    // The last column gets the rest of the line (messages, hosts), however long it is.
    let others: u16 = widths.iter().rev().skip(1).map(|(_, w)| w + 1).sum();
    if let Some(last) = widths.last_mut() {
        last.1 = width.saturating_sub(others).max(1);
    }
    widths
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
        let text = if !app.loaded.contains(&feed) {
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
            let cells = columns
                .iter()
                .map(|&(c, _)| Cell::from(row.cells.get(c).map_or("", String::as_str)));
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
