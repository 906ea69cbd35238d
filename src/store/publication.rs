//! PostgreSQL logical replication for provinces that run PostgreSQL: per province, publications
//! with row filters (PostgreSQL 15) over its numbered log and its provincial tables.
use crate::domain::division::ProvinceCode;
use crate::error::AppResult;
use sqlx::PgPool;

/// Provincial tables whose primary key starts with `province_code`, so the row filter may apply to
/// updates and deletes too (the filter's columns must be in the replica identity).
pub const TABLES: [&str; 18] = [
    "province_heads",
    "enrolments",
    "enrolment_history",
    "declarations",
    "declaration_lines",
    "contribution_payments",
    "pension_enrolments",
    "pension_months",
    "claims",
    "claim_timeline",
    "claim_duplicates",
    "benefit_items",
    "benefit_payments",
    "periodic_changes",
    "benefit_adjustments",
    "average_wages",
    "private_sector_wages",
    "rate_multipliers",
];
/// Published as inserts only. Orders: never updated; partitioned by month and published through
/// the parent table (`publish_via_partition_root`: a row filter needs it), so the subscriber's own
/// monthly partitions take them (it keeps them ahead by its own maintenance pass); a month archived
/// nationally is detached and dropped, which is not replicated: the province keeps its copy. The
/// log and its payloads: the purge of acknowledged events (`crate::event_purge`) deletes them
/// here, and a province's copy is its own to keep (the sequencer's rebase after a logical restore
/// only moves `events.writer_xid`, which only this side's sequencer reads).
pub const INSERT_ONLY_TABLES: [&str; 3] = ["province_log", "events", "orders"];

/// The publications of a province: all changes, and inserts only.
pub fn names(province: &ProvinceCode) -> (String, String) {
    (
        format!("flexcover_province_{province}"),
        format!("flexcover_province_{province}_inserts"),
    )
}

/// (Re)creates the province's publications. The publisher needs `wal_level = logical` (the
/// embedded cluster runs with it).
pub async fn publish_province(
    pool: &PgPool,
    province: &ProvinceCode,
) -> AppResult<(String, String)> {
    let (all, inserts) = names(province);
    // The province code is two digits (parsed), so it is safe in the statement text.
    let filter = |tables: &[&str]| {
        tables
            .iter()
            .map(|t| format!("{t} WHERE (province_code = '{province}')"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut tx = pool.begin().await?;
    for statement in [
        format!("DROP PUBLICATION IF EXISTS {all}"),
        format!("DROP PUBLICATION IF EXISTS {inserts}"),
        format!("CREATE PUBLICATION {all} FOR TABLE {}", filter(&TABLES)),
        format!(
            "CREATE PUBLICATION {inserts} FOR TABLE {}
             WITH (publish = 'insert', publish_via_partition_root = true)",
            filter(&INSERT_ONLY_TABLES)
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((all, inserts))
}
