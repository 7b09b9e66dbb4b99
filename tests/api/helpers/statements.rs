//! Every statement the test process sends to a watched database, seen
//! through diesel's instrumentation: installed once per process on every
//! new connection (so before the app opens its pool), each connection
//! remembering the database it went to. Tests in one process (`cargo
//! test`) each watch their own database and see only its statements.

use std::{
    collections::HashSet,
    sync::{Mutex, Once},
};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

/// The watched databases' statements, in the order they started.
static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
/// The databases whose statements are kept.
static WATCHED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// Installs the recorder (once; before the app under test connects).
pub fn record_statements() {
    INSTALL.call_once(|| {
        set_default_instrumentation(recorder).expect("instrumentation set");
    });
}

/// Keeps the statements sent to `database` from now on.
pub fn watch(database: &str) {
    if let Ok(mut w) = WATCHED.lock() {
        w.get_or_insert_with(HashSet::new)
            .insert(database.to_owned());
    }
}

/// How many statements have been kept so far (a position for [`since`]).
pub fn mark() -> usize {
    LOG.lock().map_or(0, |l| l.len())
}

/// The statements sent to `database` after `mark`.
pub fn since(mark: usize, database: &str) -> Vec<String> {
    LOG.lock().map_or_else(
        |_| Vec::new(),
        |l| {
            l.iter()
                .skip(mark)
                .filter(|(db, _)| db == database)
                .map(|(_, sql)| sql.clone())
                .collect()
        },
    )
}

/// How many statements were sent to `database` so far.
pub fn count(database: &str) -> usize {
    since(0, database).len()
}

/// The database a connection URL names (its path, before any query).
pub fn database_of(url: &str) -> String {
    let path = url.rsplit('/').next().unwrap_or_default();
    path.split('?').next().unwrap_or_default().to_owned()
}

fn recorder() -> Option<Box<dyn Instrumentation>> {
    let mut database = String::new();
    Some(Box::new(
        move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                database = database_of(url);
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                let watched = WATCHED
                    .lock()
                    .ok()
                    .is_some_and(|w| w.as_ref().is_some_and(|w| w.contains(&database)));
                if watched && let Ok(mut log) = LOG.lock() {
                    log.push((database.clone(), query.to_string()));
                }
            }
            _ => {}
        },
    ))
}
