//! What the client subcommands (`import`, `follow`) share: where the server is, the token file,
//! and authorised requests.
use anyhow::Context;
use std::path::PathBuf;
use tonic::transport::Channel;

#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// The flexcover server: https://HOST:PORT, or http:// to this machine's loopback only.
    #[arg(
        long,
        env = "FLEXCOVER_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// File holding the token to call with.
    #[arg(long)]
    pub token_file: PathBuf,
    /// CA certificate(s) (PEM) that an https:// server's certificate must chain to; without it,
    /// the public Web PKI roots.
    #[arg(long, env = "FLEXCOVER_CA")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for a server that requires mutual TLS.
    #[arg(long, env = "FLEXCOVER_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert.
    #[arg(long, env = "FLEXCOVER_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

/// How a server is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plaintext HTTP/2: this machine's loopback only.
    Plaintext,
    Tls,
}

/// Refuses a server a bearer token must not be sent to: plaintext HTTP/2 is only for this
/// machine's loopback; anywhere else the server must be `https://`.
pub fn check_transport(server: &str) -> anyhow::Result<Transport> {
    let uri: http::Uri = server.parse().with_context(|| {
        format!("--server {server:?} is not a URL such as http://127.0.0.1:50051")
    })?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("http") if is_loopback(host) => Ok(Transport::Plaintext),
        Some("http") => anyhow::bail!(
            "refusing to send a bearer token in plaintext to {host}: plaintext is only for this \
             machine's loopback (127.0.0.1, ::1, localhost); use https://"
        ),
        Some("https") if !host.is_empty() => Ok(Transport::Tls),
        _ => anyhow::bail!(
            "--server {server:?} must start with https:// (or http:// to this machine's loopback)"
        ),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ServerArgs {
    /// The channel and the token (read from the file, trimmed).
    pub async fn connect(&self) -> anyhow::Result<(Channel, String)> {
        let transport = check_transport(&self.server)?;
        let token = std::fs::read_to_string(&self.token_file)
            .with_context(|| format!("reading the token file {}", self.token_file.display()))?
            .trim()
            .to_owned();
        let mut endpoint = tonic::transport::Endpoint::from_shared(self.server.clone())
            .context("--server must be a URL such as http://127.0.0.1:50051")?;
        match transport {
            Transport::Tls => {
                endpoint = endpoint
                    .tls_config(self.tls_config()?)
                    .context("configuring TLS")?;
            }
            Transport::Plaintext if self.ca.is_some() || self.client_cert.is_some() => {
                anyhow::bail!(
                    "--ca and --client-cert are for an https:// server, not {}",
                    self.server
                )
            }
            Transport::Plaintext => {}
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("connecting to {}", self.server))?;
        Ok((channel, token))
    }
}

impl ServerArgs {
    /// The server's CA (or the Web PKI roots) and the client certificate, if any.
    fn tls_config(&self) -> anyhow::Result<tonic::transport::ClientTlsConfig> {
        let read = |path: &PathBuf, what: &str| {
            std::fs::read(path).with_context(|| format!("reading the {what} {}", path.display()))
        };
        let mut config = tonic::transport::ClientTlsConfig::new();
        config = match &self.ca {
            Some(ca) => {
                config.ca_certificate(tonic::transport::Certificate::from_pem(read(ca, "CA")?))
            }
            None => config.with_webpki_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            config = config.identity(tonic::transport::Identity::from_pem(
                read(cert, "client certificate")?,
                read(key, "client key")?,
            ));
        }
        Ok(config)
    }
}

/// `message` with the bearer token.
pub fn authed<T>(message: T, token: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .context("the token is not valid metadata")?,
    );
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::{Transport, check_transport};

    #[test]
    fn tokens_go_in_plaintext_only_to_the_loopback() {
        for allowed in [
            "http://127.0.0.1:50051",
            "http://localhost:50051",
            "http://[::1]:50051",
            "http://127.8.9.10:1",
        ] {
            assert_eq!(
                check_transport(allowed).ok(),
                Some(Transport::Plaintext),
                "{allowed}"
            );
        }
        for tls in [
            "https://flexcover.example.org",
            "https://10.0.0.5:50051",
            "https://127.0.0.1:50051",
        ] {
            assert_eq!(check_transport(tls).ok(), Some(Transport::Tls), "{tls}");
        }
        for refused in [
            "http://10.0.0.5:50051",
            "http://flexcover.example.org:50051",
            "ftp://127.0.0.1",
            "127.0.0.1:50051",
        ] {
            assert!(check_transport(refused).is_err(), "{refused}");
        }
    }
}
