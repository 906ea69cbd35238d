//! Health follows the database: SERVING while it answers, NOT_SERVING when it does not.
use crate::helpers::*;
use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

async fn wait_for(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
    wanted: ServingStatus,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let status = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map(|r| r.into_inner().status());
        if status.as_ref().ok() == Some(&wanted) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health of {service:?} stayed {status:?}, wanted {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_flips_with_the_database() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel().await);
    wait_for(&mut health, "", ServingStatus::Serving).await;
    wait_for(
        &mut health,
        "flexcover.v1.EnrolmentService",
        ServingStatus::Serving,
    )
    .await;

    // The database goes away: connections are cut and new ones fail.
    let mut admin = admin_connection().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE \"{}\" WITH (FORCE)",
        app.database
    )))
    .execute(&mut admin)
    .await
    .expect("drop the app's database");
    wait_for(&mut health, "", ServingStatus::NotServing).await;
    wait_for(
        &mut health,
        "flexcover.v1.AdminService",
        ServingStatus::NotServing,
    )
    .await;

    // It comes back.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{}\"",
        app.database
    )))
    .execute(&mut admin)
    .await
    .expect("recreate");
    wait_for(&mut health, "", ServingStatus::Serving).await;
    app.stop().await;
}
