//! The committed `.sqlx/` data (what `sqlx::query!` and friends check against when building
//! offline) must describe the queries as the migrations make them: each stored query is prepared on
//! a fresh migrated database and its parameter types, column names and types and nullability are
//! compared with the stored `describe`. A stale cache fails here, naming the query's hash.
use crate::helpers::fresh_database_url;
use serde_json::Value;
use sqlx::{Connection, Executor, SqlSafeStr};
use std::path::Path;

/// The parts of a `describe` the macros rely on, in a comparable form.
fn essentials(describe: &Value) -> Value {
    let columns = describe["columns"]
        .as_array()
        .map(|columns| {
            columns
                .iter()
                .map(|column| {
                    serde_json::json!({
                        "name": column["name"],
                        "type_info": column["type_info"],
                    })
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    serde_json::json!({
        "columns": columns,
        "parameters": describe["parameters"],
        "nullable": describe["nullable"],
    })
}

#[tokio::test]
async fn the_committed_query_data_matches_the_migrations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".sqlx");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("a .sqlx entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("query-") && name.ends_with(".json"))
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{} holds no query-*.json: regenerate the offline data (README)",
        dir.display()
    );

    let mut db = sqlx::PgConnection::connect(&fresh_database_url().await)
        .await
        .expect("connect to a fresh database");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a .sqlx file");
        let stored: Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: not JSON: {error}", file.display()));
        let hash = stored["hash"].as_str().unwrap_or("?").to_owned();
        let query = stored["query"]
            .as_str()
            .unwrap_or_else(|| panic!("{hash}: no query text"))
            .to_owned();
        let described = match (&mut db)
            .describe(sqlx::AssertSqlSafe(query.clone()).into_sql_str())
            .await
        {
            Ok(described) => described,
            Err(error) => {
                failures.push(format!("{hash}: no longer prepares ({error}):\n{query}"));
                continue;
            }
        };
        let live = essentials(&serde_json::to_value(&described).expect("serialize a describe"));
        let committed = essentials(&stored["describe"]);
        if live != committed {
            failures.push(format!(
                "{hash}: stale describe for\n{query}\n  committed: {committed}\n  database:  {live}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} stored queries differ from the migrated schema (regenerate .sqlx/, see README):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
