//! `flexcover import enrolments`: a CSV through BatchEnrolWorkers, rejects beside it, and a rerun
//! after `kill -9` that creates no duplicates.
use crate::helpers::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("flexcover-import-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        Self { dir }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `rows` workers; every 50th has a bad phone, every 77th an unknown industry. Returns the
/// number of good rows.
fn write_csv(path: &Path, rows: u32) -> u32 {
    let mut text =
        String::from("name,id_number,phone,place_of_employment,industry,cover_start_date,notes\n");
    let mut good = 0;
    for n in 0..rows {
        let birth = format!("{}{:02}01", 1970 + n / 12_000, 1 + (n / 1000) % 12);
        let id = id_number("110105", &birth, n % 1000);
        let phone = if n % 50 == 7 {
            "2381234567"
        } else {
            "13812345678"
        };
        let industry = if n % 77 == 5 {
            "taxi"
        } else {
            "instant_delivery"
        };
        if n % 50 != 7 && n % 77 != 5 {
            good += 1;
        }
        text.push_str(&format!(
            "\"王小明\",{id},{phone},440305,{industry},2026-01-05,row {n}\n"
        ));
    }
    std::fs::write(path, text).expect("csv");
    good
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn import(app: &TestApp, csv: &Path, token_file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .args(["import", "enrolments"])
        .arg(csv)
        .args(["--server", &format!("http://{}", app.addr)])
        .arg("--token-file")
        .arg(token_file)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[tokio::test]
async fn a_csv_is_imported_with_rejects_reported_beside_it() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let files = Files::new("small");
    let token_file = files.dir.join("token");
    std::fs::write(&token_file, app.token("platform:meituan").await).expect("token file");
    let csv = files.dir.join("riders.csv");
    let good = write_csv(&csv, 2_000);
    // A rejects file left readable by an earlier run is made private.
    let rejects_file = files.dir.join("riders.rejects.csv");
    std::fs::write(&rejects_file, "old").expect("old rejects");
    std::fs::set_permissions(&rejects_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let output = tokio::task::spawn_blocking({
        let mut command = import(&app, &csv, &token_file);
        move || command.output()
    })
    .await
    .expect("join")
    .expect("run import");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "some rows rejected: {log}");
    assert!(log.contains(&format!("{} enrolled", good)), "{log}");
    assert!(
        log.contains("progress: "),
        "plain progress lines when not on a terminal: {log}"
    );
    assert_eq!(app.count("enrolments").await, i64::from(good));

    assert_eq!(
        mode(&rejects_file),
        0o600,
        "the rejects file holds personal data"
    );
    let rejects = std::fs::read_to_string(&rejects_file).expect("rejects file");
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(
        lines[0],
        "line,id_number,name,phone,place_of_employment,industry,cover_start_date,code,field,reason"
    );
    assert_eq!(lines.len() - 1, 2_000 - good as usize);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("INVALID_ARGUMENT,worker.phone,\"must be exactly 11 digits")),
        "{rejects}"
    );
    assert!(lines.iter().any(|l| l.contains("taxi,2026-01-05,INVALID_ARGUMENT,industry,\"must be ride_hailing")), "{rejects}");
    // Row 7 is on line 9 of the file (header is line 1, row 0 is line 2).
    assert!(lines.iter().any(|l| l.starts_with("9,")), "{rejects}");
    app.stop().await;
}

#[tokio::test]
async fn an_interrupted_import_is_finished_by_running_it_again() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let files = Files::new("interrupted");
    let token_file = files.dir.join("token");
    std::fs::write(&token_file, app.token("platform:meituan").await).expect("token file");
    let csv = files.dir.join("riders.csv");
    let good = write_csv(&csv, 30_000);

    let mut first = import(&app, &csv, &token_file)
        .spawn()
        .expect("start import");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let done = app.count("enrolments").await;
        if done > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the import made no progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().expect("kill -9");
    let _ = first.wait();
    let after_kill = app.count("enrolments").await;
    assert!(
        after_kill < i64::from(good),
        "interrupted part-way ({after_kill} of {good})"
    );

    let output = tokio::task::spawn_blocking({
        let mut command = import(&app, &csv, &token_file);
        move || command.output()
    })
    .await
    .expect("join")
    .expect("rerun");
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        app.count("enrolments").await,
        i64::from(good),
        "every good row once, no duplicates"
    );
    let people: i64 = sqlx::query_scalar("SELECT count(DISTINCT person_key) FROM enrolments")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(people, i64::from(good));
    app.stop().await;
}

/// Fields are sent as written: a padded value comes back as a reject with the server's reason.
#[tokio::test]
async fn padded_fields_are_sent_as_they_are_and_rejected_by_the_server() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let files = Files::new("padded");
    let token_file = files.dir.join("token");
    std::fs::write(&token_file, app.token("platform:meituan").await).expect("token file");
    let csv = files.dir.join("padded.csv");
    let id = |seq| id_number("110105", "19900101", seq);
    let rows = [
        format!(
            "{},王小明,13812345678,440305,instant_delivery,2026-01-05",
            id(1)
        ),
        format!(
            "\" {}\",王小明,13812345678,440305,instant_delivery,2026-01-05",
            id(2)
        ),
        format!(
            "{},王小明,13812345678,\"440305 \",instant_delivery,2026-01-05",
            id(3)
        ),
        format!(
            "{},王小明,+8613812345678,440305,instant_delivery,2026-01-05",
            id(4)
        ),
        format!(
            "{},\"王小明 \",13812345678,440305,instant_delivery,2026-01-05",
            id(5)
        ),
        format!(
            "{},王小明,13812345678,440305,\" instant_delivery\",2026-01-05",
            id(6)
        ),
        format!(
            "{},王小明,13812345678,440305,instant_delivery,2099-12-31",
            id(7)
        ),
    ];
    std::fs::write(
        &csv,
        format!(
            "id_number,name,phone,place_of_employment,industry,cover_start_date\n{}\n",
            rows.join("\n")
        ),
    )
    .expect("csv");
    let output = tokio::task::spawn_blocking({
        let mut command = import(&app, &csv, &token_file);
        move || command.output()
    })
    .await
    .expect("join")
    .expect("run import");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "some rows rejected: {log}");
    assert_eq!(app.count("enrolments").await, 1, "{log}");
    let rejects_file = files.dir.join("padded.rejects.csv");
    assert_eq!(mode(&rejects_file), 0o600, "created private");
    let mut reader = csv::Reader::from_path(&rejects_file).expect("rejects");
    let mut rejected: Vec<(String, String, String)> = reader
        .records()
        .map(|record| {
            let record = record.expect("record");
            (
                record[0].to_owned(),
                record[7].to_owned(),
                record[8].to_owned(),
            )
        })
        .collect();
    rejected.sort();
    let expected: Vec<(String, String, String)> = [
        ("3", "INVALID_ARGUMENT", "worker.id_number"),
        ("4", "INVALID_ARGUMENT", "place_of_employment"),
        ("5", "INVALID_ARGUMENT", "worker.phone"),
        ("6", "INVALID_ARGUMENT", "worker.name"),
        ("7", "INVALID_ARGUMENT", "industry"),
        ("8", "INVALID_ARGUMENT", "cover_start_date"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(rejected, expected);
    let padded_id: Vec<String> = csv::Reader::from_path(&rejects_file)
        .expect("rejects")
        .records()
        .map(|record| record.expect("record")[1].to_owned())
        .filter(|field| field.starts_with(' '))
        .collect();
    assert_eq!(
        padded_id,
        vec![format!(" {}", id(2))],
        "the field as written"
    );
    app.stop().await;
}
