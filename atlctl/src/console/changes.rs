//! Changes from the console: what each change key asks for, the dialogs that take a value
//! (replicas, an image) and the confirmation every change passes before it is sent.

use atlhyper_model::CommandKind;

use super::app::{Action, App, Ask, Confirm, Effect, Mode};
use super::input::selected;
use super::rows::{RowId, Tone};
use crate::kinds::Resource;

pub(super) fn change(app: &mut App, action: Action) -> Vec<Effect> {
    let Some((resource, id)) = selected(app) else {
        return Vec::new();
    };
    if app.settings.readonly {
        app.set_status(
            "read-only: changes are off (--readonly or a viewer token)",
            Tone::Warn,
        );
        return Vec::new();
    }
    let namespace = id.namespace.clone().unwrap_or_default();
    let name = id.name.clone();
    let kind = match (resource, &action) {
        (Resource::Pods, Action::Restart)
            if !app.settings.restart_by_name && recreated(app, &id) =>
        {
            // The controller makes a new one: as routine as k9s makes it, on y.
            app.prompt.prompt_error = None;
            app.mode = Mode::Confirm(Confirm {
                cluster: id.cluster,
                kind: CommandKind::RestartPod {
                    namespace,
                    name,
                    force: false,
                },
                name: None,
                typed: String::new(),
            });
            return Vec::new();
        }
        (Resource::Pods, Action::Restart) => CommandKind::RestartPod {
            namespace,
            name: name.clone(),
            force: false,
        },
        (Resource::Pods, Action::Delete) => CommandKind::DeletePod {
            namespace,
            name: name.clone(),
            grace_seconds: None,
        },
        (Resource::Deployments, Action::Restart) => CommandKind::RolloutRestart {
            namespace,
            name: name.clone(),
        },
        (Resource::Deployments, Action::Scale) => {
            let replicas = deployment(app, &id).map(|d| d.desired.to_string());
            app.prompt.prompt_error = None;
            app.mode = Mode::Input(Ask::Replicas(id), replicas.unwrap_or_default());
            return Vec::new();
        }
        (Resource::Deployments, Action::SetImage) => {
            app.prompt.prompt_error = None;
            app.mode = Mode::Input(Ask::Image(id), String::new());
            return Vec::new();
        }
        (Resource::Nodes, Action::Cordon) => CommandKind::Cordon { node: name },
        (Resource::Nodes, Action::Uncordon) => CommandKind::Uncordon { node: name },
        (Resource::Nodes, Action::Drain) => CommandKind::Drain {
            node: name.clone(),
            grace_seconds: None,
            ignore_daemonsets: true,
            timeout_seconds: 300,
        },
        _ => return Vec::new(),
    };
    ask_confirmation(app, id.cluster, kind);
    Vec::new()
}

/// Whether a controller makes a new pod in place of this one.
fn recreated(app: &App, id: &RowId) -> bool {
    app.data.pods.iter().any(|p| {
        p.cluster_id == id.cluster
            && Some(&p.object.namespace) == id.namespace.as_ref()
            && p.object.name == id.name
            && p.object.owner.is_some()
    })
}

/// The deployment a row stands for.
pub fn deployment<'a>(
    app: &'a App,
    id: &RowId,
) -> Option<&'a atlhyper_model::resources::Deployment> {
    app.data
        .deployments
        .iter()
        .find(|d| {
            d.cluster_id == id.cluster
                && Some(&d.object.namespace) == id.namespace.as_ref()
                && d.object.name == id.name
        })
        .map(|d| &d.object)
}

/// Changes that lose work or capacity are confirmed by typing the object's name; the
/// reversible ones (cordon, uncordon) by `y`.
fn ask_confirmation(app: &mut App, cluster: String, kind: CommandKind) {
    let name = match &kind {
        CommandKind::Cordon { .. } | CommandKind::Uncordon { .. } => None,
        CommandKind::Drain { node, .. } => Some(node.clone()),
        CommandKind::RestartPod { name, .. }
        | CommandKind::DeletePod { name, .. }
        | CommandKind::RolloutRestart { name, .. }
        | CommandKind::Scale { name, .. }
        | CommandKind::UpdateImage { name, .. } => Some(name.clone()),
        _ => None,
    };
    app.prompt.prompt_error = None;
    app.mode = Mode::Confirm(Confirm {
        cluster,
        kind,
        name,
        typed: String::new(),
    });
}

/// A command as the status line names it: `restart-pod shop/cart-7d9f`.
pub fn kind_label(kind: &CommandKind) -> String {
    format!("{} {}", kind.name().replace('_', "-"), kind.target())
}

/// What a change does, in words: `scale shop/cart to 3 replicas`.
pub fn change_label(kind: &CommandKind) -> String {
    let base = kind_label(kind);
    match kind {
        CommandKind::Scale { replicas, .. } => format!("{base} to {replicas} replicas"),
        CommandKind::UpdateImage {
            container, image, ..
        } => format!("{base}: {container}={image}"),
        _ => base,
    }
}

pub fn confirm(app: &mut App, mut confirm: Confirm, action: Action) -> Vec<Effect> {
    let label = change_label(&confirm.kind);
    let go = match (&confirm.name, action) {
        (_, Action::Cancel | Action::Back) => false,
        (None, Action::Type('y' | 'Y')) | (None, Action::Submit) => true,
        (None, Action::Type(_)) => false,
        (Some(_), Action::Type(c)) => {
            confirm.typed.push(c);
            app.prompt.prompt_error = None;
            app.mode = Mode::Confirm(confirm);
            return Vec::new();
        }
        (Some(_), Action::Erase) => {
            confirm.typed.pop();
            app.prompt.prompt_error = None;
            app.mode = Mode::Confirm(confirm);
            return Vec::new();
        }
        (Some(name), Action::Complete) => {
            confirm.typed.clone_from(name);
            app.prompt.prompt_error = None;
            app.mode = Mode::Confirm(confirm);
            return Vec::new();
        }
        (Some(name), Action::Submit) => {
            if confirm.typed != *name {
                // Stays open: the user fixes the name (Tab completes it) or leaves with Esc.
                app.prompt.prompt_error =
                    Some(format!("`{}` does not match the name", confirm.typed));
                app.mode = Mode::Confirm(confirm);
                return Vec::new();
            }
            true
        }
        _ => return Vec::new(),
    };
    app.mode = Mode::Normal;
    if !go {
        app.set_status(format!("{label}: cancelled"), Tone::Normal);
        return Vec::new();
    }
    app.set_status(format!("{label}: sending"), Tone::Normal);
    vec![Effect::Command {
        cluster: confirm.cluster,
        kind: confirm.kind,
    }]
}

pub fn ask(app: &mut App, ask: Ask, mut text: String, action: Action) -> Vec<Effect> {
    match action {
        Action::Type(c) => {
            text.push(c);
            app.prompt.prompt_error = None;
            app.mode = Mode::Input(ask, text);
        }
        Action::Erase => {
            text.pop();
            app.prompt.prompt_error = None;
            app.mode = Mode::Input(ask, text);
        }
        Action::Cancel | Action::Back => app.mode = Mode::Normal,
        Action::Submit => match asked_change(&ask, &text) {
            Ok((id, kind)) => {
                app.mode = Mode::Normal;
                ask_confirmation(app, id.cluster.clone(), kind);
            }
            // Stays open with what was typed, and says what is wrong with it.
            Err(error) => {
                app.prompt.prompt_error = Some(error);
                app.mode = Mode::Input(ask, text);
            }
        },
        _ => {}
    }
    Vec::new()
}

/// The change a dialog's answer asks for, or what is wrong with the answer.
fn asked_change<'a>(ask: &'a Ask, text: &str) -> Result<(&'a RowId, CommandKind), String> {
    match ask {
        Ask::Replicas(id) => {
            let replicas = text
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("replicas `{text}` is not a whole number"))?;
            Ok((
                id,
                CommandKind::Scale {
                    namespace: id.namespace.clone().unwrap_or_default(),
                    name: id.name.clone(),
                    replicas,
                },
            ))
        }
        Ask::Image(id) => match text.trim().split_once('=') {
            Some((container, image)) if !container.is_empty() && !image.is_empty() => {
                atlhyper_model::validate::image_reference(image)?;
                Ok((
                    id,
                    CommandKind::UpdateImage {
                        namespace: id.namespace.clone().unwrap_or_default(),
                        name: id.name.clone(),
                        container: container.to_owned(),
                        image: image.to_owned(),
                    },
                ))
            }
            _ => Err(format!("`{text}` is not CONTAINER=IMAGE")),
        },
    }
}
