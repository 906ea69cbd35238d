//! The Patroni cluster of scenario 6, started and stopped by `benches/failover/cluster.sh`: three
//! PostgreSQL nodes (one synchronous standby), a single-node etcd and HAProxy in front.
use crate::processes::{TempDir, free_port, pid_in};
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct PatroniCluster {
    dir: TempDir,
    haproxy_port: u16,
    pg_ports: [u16; 3],
    rest_ports: [u16; 3],
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/failover/cluster.sh")
}

impl PatroniCluster {
    /// Starts the cluster and waits for a primary with a synchronous standby behind HAProxy; Err
    /// (why) when the tools are missing or it does not come up.
    pub async fn start() -> Result<Self, String> {
        let ports: Vec<u16> = (0..9).map(|_| free_port()).collect();
        let cluster = Self {
            dir: TempDir::new("patroni"),
            haproxy_port: ports[2],
            pg_ports: [ports[3], ports[4], ports[5]],
            rest_ports: [ports[6], ports[7], ports[8]],
        };
        let output = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&cluster.dir.0)
            .env("ETCD_PORT", ports[0].to_string())
            .env("ETCD_PEER_PORT", ports[1].to_string())
            .env("HAPROXY_PORT", ports[2].to_string())
            .env(
                "PG_PORTS",
                format!("{} {} {}", ports[3], ports[4], ports[5]),
            )
            .env(
                "REST_PORTS",
                format!("{} {} {}", ports[6], ports[7], free_port()),
            )
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("cluster.sh: {error}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        cluster
            .wait_synchronous(Duration::from_secs(120))
            .await
            .map_err(|why| format!("{why}; see {}", cluster.dir.0.display()))?;
        Ok(cluster)
    }

    pub fn admin_url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            self.haproxy_port
        )
    }

    pub fn log_dir(&self) -> &Path {
        &self.dir.0
    }

    /// The node HAProxy sends connections to now (0-based), if one answers.
    pub async fn leader(&self) -> Option<usize> {
        let mut connection = sqlx::PgConnection::connect(&self.admin_url()).await.ok()?;
        let port: i32 = sqlx::query_scalar("SELECT inet_server_port()")
            .fetch_one(&mut connection)
            .await
            .ok()?;
        self.pg_ports.iter().position(|p| i32::from(*p) == port)
    }

    /// Waits until Patroni has recorded a synchronous standby (its `/sync` key, which Patroni
    /// writes only once the standby is synchronous): only that node may be promoted, so a failover
    /// before then would leave the cluster without a primary.
    pub async fn wait_synchronous(&self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < limit {
            for port in self.rest_ports {
                if let Some(cluster) = http_get(port, "/cluster").await
                    && cluster.contains("\"sync_standby\"")
                {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(format!("no synchronous standby within {limit:?}"))
    }

    fn pid(&self, file: &str) -> Option<i32> {
        pid_in(&self.dir.0.join(file))
    }

    pub fn postmaster_pid(&self, node: usize) -> Option<i32> {
        self.pid(&format!("node{}/postmaster.pid", node + 1))
    }

    pub fn patroni_pid(&self, node: usize) -> Option<i32> {
        self.pid(&format!("node{}.patroni.pid", node + 1))
    }

    /// Starts a killed node's Patroni again: it rewinds its server and follows the new primary.
    pub fn rejoin(&self, node: usize) {
        let status = Command::new("bash")
            .arg(script())
            .arg("rejoin")
            .arg(&self.dir.0)
            .arg(format!("node{}", node + 1))
            .stdin(Stdio::null())
            .status();
        assert!(status.is_ok_and(|s| s.success()), "cluster.sh rejoin");
    }
}

impl Drop for PatroniCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir.0)
            .stdin(Stdio::null())
            .status();
    }
}

/// The body of a plain HTTP GET to Patroni's REST API on 127.0.0.1, or None.
async fn http_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        String::from_utf8(answer).ok()
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
}
