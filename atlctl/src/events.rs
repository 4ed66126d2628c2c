//! `atlctl events`: the events master holds, newest last, then (`-w`) new ones as they come.

use atlhyper_model::api::{InCluster, List};
use atlhyper_model::resources::{Event, EventType};

use crate::Session;
use crate::cli::{EventsArgs, Output};
use crate::error::Result;
use crate::get::{Print, query};
use crate::kinds::Resource;

pub async fn run(args: &EventsArgs, session: &Session) -> Result<()> {
    let mut query = query(Resource::Events, &args.scope, session)?;
    if args.warnings {
        query.push(("status", "Warning".to_owned()));
    }
    let mut listed = query.clone();
    listed.push(("sort", "last_seen".to_owned()));
    // Following: the stream opens before the list, so nothing falls between them.
    let stream = if args.watch {
        Some(crate::watch::open_events(&query, session).await?)
    } else {
        None
    };
    let list: List<InCluster<Event>> = session.client.list("events", &listed).await?;
    let printed = crate::watch::Printed::of(&list.items);
    let print = Print {
        output: args.json.then_some(Output::Json),
        headers: true,
        all_namespaces: args.scope.all_namespaces,
        single: false,
    };
    if args.watch && args.json {
        // NDJSON throughout: the held events first, as ADDED lines.
        for item in list.items {
            crate::watch::emit_one(atlhyper_model::api::WatchEventType::Added, item, print)?;
        }
    } else if !list.items.is_empty() || args.json {
        print.list(&list.items)?;
    }
    if let Some(stream) = stream {
        let warnings = args.warnings;
        crate::watch::follow_events(stream, &listed, printed, print, session, move |e| {
            !warnings || e.type_ == EventType::Warning
        })
        .await?;
    }
    Ok(())
}
