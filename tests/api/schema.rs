//! The schema stays shardable by province (docs/SCALING.md, Citus kept on paper): every table
//! with a `province_code` has a primary key that starts with it (a distributed table's unique
//! constraints must contain the distribution column), and every table without one is classified
//! here as national, so a new table is placed deliberately.
use crate::helpers::*;
use sqlx::Connection;
use std::collections::BTreeMap;

/// Tables without a province: how each would be placed in a sharded deployment.
const NATIONAL: [(&str, &str); 14] = [
    ("api_tokens", "reference table: every node authenticates"),
    ("base_rates", "reference table: national rates"),
    ("idempotency_keys", "distributed by caller"),
    ("maintenance_log", "coordinator only"),
    ("national_incomes", "reference table"),
    (
        "order_keys",
        "claim table distributed by platform_id; written with the order in one 2PC transaction",
    ),
    (
        "order_partitions",
        "reference table: the months' partition catalogue",
    ),
    (
        "person_access_log",
        "distributed by person_key, with persons",
    ),
    ("persons", "distributed by person_key (blind index)"),
    ("pii_blind_index", "reference table"),
    ("platform_rate_classes", "reference table"),
    ("platforms", "reference table"),
    ("public_holidays", "reference table"),
    (
        "sequencer_frontier",
        "one per node (each node has its own transaction ids)",
    ),
];

#[tokio::test]
async fn every_provincial_table_is_keyed_by_province_first() {
    let url = fresh_database_url().await;
    let mut db = sqlx::PgConnection::connect(&url).await.expect("connect");
    let tables: Vec<(String, Option<String>, bool)> = sqlx::query_as(
        "SELECT c.relname::text,
                (SELECT a.attname::text FROM pg_constraint p
                 JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = p.conkey[1]
                 WHERE p.conrelid = c.oid AND p.contype = 'p'),
                EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname = 'province_code' AND NOT a.attisdropped)
         FROM pg_class c
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND c.relnamespace = current_schema()::regnamespace
           AND c.relname NOT LIKE '\\_sqlx%'
         ORDER BY 1",
    )
    .fetch_all(&mut db)
    .await
    .expect("catalog");
    let national: BTreeMap<&str, &str> = NATIONAL.into_iter().collect();
    let mut wrong = Vec::new();
    for (table, first_key_column, provincial) in &tables {
        if *provincial {
            if first_key_column.as_deref() != Some("province_code") {
                wrong.push(format!(
                    "{table}: primary key starts with {first_key_column:?}"
                ));
            }
        } else if !national.contains_key(table.as_str()) {
            wrong.push(format!(
                "{table}: no province_code and not classified as national"
            ));
        }
    }
    for table in national.keys() {
        if !tables.iter().any(|(name, _, _)| name == table) {
            wrong.push(format!("{table}: classified but does not exist"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        tables
            .iter()
            .any(|(name, key, _)| name == "orders" && key.as_deref() == Some("province_code")),
        "orders is checked"
    );
}
