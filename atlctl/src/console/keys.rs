//! The key map: a key press, in the console's current mode, as an [`Action`]. The help screen
//! is generated from the same tables, so it lists exactly the keys that work.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{Action, App, Mode, Screen};
use crate::kinds::Resource;

/// One binding as help shows it.
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    /// A change (hidden when read-only).
    pub change: bool,
}

const fn b(keys: &'static str, what: &'static str) -> Binding {
    Binding {
        keys,
        what,
        change: false,
    }
}

const fn c(keys: &'static str, what: &'static str) -> Binding {
    Binding {
        keys,
        what,
        change: true,
    }
}

/// Keys that work everywhere outside a prompt.
pub const GENERAL: &[Binding] = &[
    b(
        ":",
        "views: :po :no :dp :svc :ns :ing :cm :ev :cmd :ctx :q (Tab completes, ↑ ↓ history)",
    ),
    b(
        ":ctx X :ns X",
        "one cluster or namespace (X = all: every one)",
    ),
    b(
        "/",
        "filter: text or a regex (fred|blee), !text (not), -l key=value, -c column=value",
    ),
    b("?", "this help"),
    b("Enter", "open the selected row"),
    b("Esc", "back one level (at the top: clear the filter)"),
    b("j k ↑ ↓", "move"),
    b("PgUp PgDn ^b ^f", "page"),
    b("g G Home End", "first, last"),
    b("< >", "sort by the previous / next column"),
    b(
        "Shift+letter",
        "sort by the column with that letter (again: reverse)",
    ),
    b("q", "close logs, a describe, a detail; at the top, quit"),
    b(":q", "quit (the demo asks first)"),
    b("^c", "quit at once"),
];

const POD_KEYS: &[Binding] = &[
    b("l", "logs"),
    b("d", "describe"),
    b("y", "YAML"),
    c("r", "restart (delete; the controller recreates it)"),
    c("^d", "delete"),
];
const DEPLOYMENT_KEYS: &[Binding] = &[
    b("d", "describe"),
    b("y", "YAML"),
    c("r", "rollout restart"),
    c("s", "scale"),
    c("i", "set image"),
];
const NODE_KEYS: &[Binding] = &[
    b("p", "its pods"),
    b("d", "describe"),
    b("y", "YAML"),
    c("c", "cordon"),
    c("u", "uncordon"),
    c("r", "drain"),
];
const DESCRIBE_KEYS: &[Binding] = &[b("d", "describe"), b("y", "YAML")];
const EVENT_KEYS: &[Binding] = &[b("Enter d", "the event whole")];

/// Keys of one resource's rows.
pub fn for_resource(resource: Resource) -> &'static [Binding] {
    match resource {
        Resource::Pods => POD_KEYS,
        Resource::Deployments => DEPLOYMENT_KEYS,
        Resource::Nodes => NODE_KEYS,
        Resource::Services | Resource::Namespaces | Resource::Ingresses | Resource::ConfigMaps => {
            DESCRIBE_KEYS
        }
        Resource::Events => EVENT_KEYS,
        _ => &[],
    }
}

/// Keys of a text screen (logs, describe, a command's output) and of a pod's detail.
pub const TEXT: &[Binding] = &[
    b("w", "wrap long lines (again: cut them)"),
    b("/", "only the lines that match (!text: that do not)"),
];

/// Keys of a pod's log.
pub const LOGS: &[Binding] = &[
    b("f", "follow new lines / pause"),
    b("p", "the previous run (again: the current one)"),
];

/// Keys of the node detail screen.
pub const NODE: &[Binding] = &[b("1 2 3 4", "chart range: 15m, 1h, 6h, 24h")];

/// Columns that get their initial first, as in k9s (Shift-N name, Shift-A age, Shift-S status,
/// Shift-C CPU, Shift-M memory).
const FIRST_PICK: [&str; 5] = ["NAME", "AGE", "STATUS", "CPU", "MEM"];

/// Every key, as plain text for `atlctl --help` and the man page (the `?` screen shows the same
/// tables for the screen at hand).
pub fn help_text() -> String {
    let mut out = String::from("Console keys (atlctl on a terminal; ? shows them in place):\n");
    let line = |out: &mut String, b: &Binding| {
        out.push_str(&format!("  {:<16} {}\n", b.keys, b.what));
    };
    for b in GENERAL {
        line(&mut out, b);
    }
    for (title, resource) in [
        ("pods", Resource::Pods),
        ("deployments", Resource::Deployments),
        ("nodes", Resource::Nodes),
        (
            "services, namespaces, ingresses, config maps",
            Resource::Services,
        ),
    ] {
        out.push_str(&format!("On {title}:\n"));
        for b in for_resource(resource) {
            line(&mut out, b);
        }
    }
    out.push_str("On a node:\n");
    for b in NODE {
        line(&mut out, b);
    }
    out.push_str("On logs, a describe or a command's output:\n");
    for b in TEXT {
        line(&mut out, b);
    }
    out.push_str("On logs (they follow new lines as they open):\n");
    for b in LOGS {
        line(&mut out, b);
    }
    out.push_str(
        "Changes ask for the object's name to be typed (Tab completes it; cordon, uncordon \
         and restarting a pod a controller recreates ask for y, unless --restart-by-name); \
         --readonly or a viewer token hides them.",
    );
    out
}

/// The letter that sorts by each column: the first letter of its title no other column took
/// (NAME, AGE and STATUS choose first, then the columns in order), else another of its letters.
pub fn sort_letters(titles: &[&str]) -> Vec<Option<char>> {
    let mut order: Vec<usize> = FIRST_PICK
        .iter()
        .filter_map(|f| titles.iter().position(|t| t == f))
        .collect();
    order.extend((0..titles.len()).filter(|i| !FIRST_PICK.contains(&titles[*i])));
    let mut letters = vec![None; titles.len()];
    let mut taken = Vec::new();
    for i in order {
        let letter = titles[i]
            .chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_uppercase())
            .find(|c| !taken.contains(c));
        if let Some(l) = letter {
            taken.push(l);
        }
        letters[i] = letter;
    }
    letters
}

/// Whether a pod's log is on screen.
fn logs(app: &App) -> bool {
    matches!(app.screen(), Screen::Text(t) if t.follow.is_some())
}

fn resource_of(app: &App) -> Option<Resource> {
    match app.screen() {
        Screen::List(list) => Some(list.resource),
        Screen::Pod(_) => Some(Resource::Pods),
        Screen::Node(_) => Some(Resource::Nodes),
        Screen::Text(_) => None,
    }
}

/// The keys a key event stands for. A terminal reads Esc quickly followed by a key as that key
/// with Alt (there is no Alt binding here): it is given back as the two keys typed.
pub fn split_alt(key: KeyEvent) -> Vec<KeyEvent> {
    if key.modifiers.contains(KeyModifiers::ALT) && matches!(key.code, KeyCode::Char(_)) {
        let mut plain = key;
        plain.modifiers.remove(KeyModifiers::ALT);
        vec![KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), plain]
    } else {
        vec![key]
    }
}

/// The action a key means now, if any.
pub fn action(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    let prompt = matches!(
        app.mode,
        Mode::Command(_) | Mode::Filter(_) | Mode::Input(..) | Mode::Confirm(_) | Mode::Quit
    );
    if prompt {
        return match key.code {
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Backspace => Some(Action::Erase),
            KeyCode::Tab => Some(Action::Complete),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            KeyCode::Char(ch) if !ctrl => Some(Action::Type(ch)),
            _ => None,
        };
    }
    if app.mode == Mode::Help {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter => Some(Action::Back),
            KeyCode::Char('j') | KeyCode::Down => Some(Action::Down),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::Up),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Action::PageDown),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::Char('g') | KeyCode::Home => Some(Action::Top),
            KeyCode::Char('G') | KeyCode::End => Some(Action::Bottom),
            _ => None,
        };
    }
    let resource = resource_of(app);
    Some(match (key.code, ctrl) {
        (KeyCode::Char('f'), true) | (KeyCode::PageDown, _) => Action::PageDown,
        (KeyCode::Char('b'), true) | (KeyCode::PageUp, _) => Action::PageUp,
        (KeyCode::Char('d'), true) if resource == Some(Resource::Pods) => Action::Delete,
        (_, true) => return None,
        (KeyCode::Char('q'), _) => Action::Close,
        (KeyCode::Char(':'), _) => Action::CommandLine,
        (KeyCode::Char('/'), _) => Action::FilterLine,
        (KeyCode::Char('?'), _) => Action::Help,
        (KeyCode::Enter, _) => Action::Enter,
        (KeyCode::Esc, _) => Action::Back,
        (KeyCode::Char('j') | KeyCode::Down, _) => Action::Down,
        (KeyCode::Char('k') | KeyCode::Up, _) => Action::Up,
        (KeyCode::Char('g') | KeyCode::Home, _) => Action::Top,
        (KeyCode::End, _) => Action::Bottom,
        (KeyCode::Char('<'), _) => Action::SortPrev,
        (KeyCode::Char('>'), _) => Action::SortNext,
        (KeyCode::Char(ch @ '1'..='4'), _) if matches!(app.screen(), Screen::Node(_)) => {
            Action::Range([15, 60, 360, 1440][usize::from(ch as u8 - b'1')])
        }
        (KeyCode::Char(ch), _) if ch.is_ascii_uppercase() => {
            let Screen::List(list) = app.screen() else {
                // `G` outside a list: the end.
                return (ch == 'G').then_some(Action::Bottom);
            };
            let titles: Vec<&str> = list.rows.columns.iter().map(|c| c.title).collect();
            match sort_letters(&titles).iter().position(|l| *l == Some(ch)) {
                Some(column) => Action::SortBy(column),
                None if ch == 'G' => Action::Bottom,
                None => return None,
            }
        }
        (KeyCode::Char('w'), _) if matches!(app.screen(), Screen::Text(_) | Screen::Pod(_)) => {
            Action::Wrap
        }
        (KeyCode::Char('p'), _) if resource == Some(Resource::Nodes) => Action::NodePods,
        (KeyCode::Char('f'), _) if logs(app) => Action::Follow,
        (KeyCode::Char('p'), _) if logs(app) => Action::Previous,
        (KeyCode::Char('l'), _) => Action::Logs,
        (KeyCode::Char('d'), _) => Action::Describe,
        (KeyCode::Char('y'), _) if resource.is_some_and(|r| r != Resource::Events) => Action::Yaml,
        (KeyCode::Char('r'), _) if resource == Some(Resource::Nodes) => Action::Drain,
        (KeyCode::Char('r'), _) => Action::Restart,
        (KeyCode::Char('s'), _) if resource == Some(Resource::Pods) => Action::Hint(
            "no shell: atlctl acts through the agent, which runs no exec (logs: l, describe: d)",
        ),
        (KeyCode::Char('e'), _) if resource.is_some() => Action::Hint(
            "no edit: changes go through the agent's commands (scale s, set image i, restart r)",
        ),
        (KeyCode::Char('a'), _) if resource == Some(Resource::Pods) => {
            Action::Hint("no attach: atlctl acts through the agent, which runs no exec (logs: l)")
        }
        (KeyCode::Char('s'), _) => Action::Scale,
        (KeyCode::Char('i'), _) => Action::SetImage,
        (KeyCode::Char('c'), _) => Action::Cordon,
        (KeyCode::Char('u'), _) => Action::Uncordon,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_read_together_with_the_next_key_is_both_keys() {
        let alt_slash = KeyEvent::new(KeyCode::Char('/'), KeyModifiers::ALT);
        let keys = split_alt(alt_slash);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].code, KeyCode::Esc);
        assert_eq!(
            keys[1],
            KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE)
        );
        let plain = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(split_alt(plain), [plain]);
    }

    #[test]
    fn every_column_gets_its_own_sort_letter() {
        let titles = [
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "NODE",
        ];
        let letters: String = sort_letters(&titles).into_iter().flatten().collect();
        assert_eq!(letters, "MNRSEAO");
    }
}
