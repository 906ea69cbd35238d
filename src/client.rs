//! What the client subcommands (`import`, `follow`) share: where the server is, the token file,
//! and authorised requests.
use anyhow::Context;
use std::path::PathBuf;
use tonic::transport::Channel;

#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// The flexcover server, e.g. http://127.0.0.1:50051.
    #[arg(
        long,
        env = "FLEXCOVER_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// File holding the token to call with.
    #[arg(long)]
    pub token_file: PathBuf,
}

/// Refuses a server a bearer token must not be sent to: plaintext HTTP/2 is only for this
/// machine's loopback, and `https://` would be spoken as plaintext by this build (TLS for the
/// client subcommands is not built yet), so it is refused rather than silently downgraded.
pub fn check_transport(server: &str) -> anyhow::Result<()> {
    let uri: http::Uri = server.parse().with_context(|| {
        format!("--server {server:?} is not a URL such as http://127.0.0.1:50051")
    })?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => anyhow::bail!(
            "refusing to send a bearer token in plaintext to {host}: plaintext is only for this \
             machine's loopback (127.0.0.1, ::1, localhost)"
        ),
        Some("https") => anyhow::bail!(
            "this build cannot speak TLS to {server}; refusing rather than send the token in \
             plaintext"
        ),
        _ => anyhow::bail!("--server {server:?} must start with http:// (loopback only)"),
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
        check_transport(&self.server)?;
        let token = std::fs::read_to_string(&self.token_file)
            .with_context(|| format!("reading the token file {}", self.token_file.display()))?
            .trim()
            .to_owned();
        let channel = tonic::transport::Endpoint::from_shared(self.server.clone())
            .context("--server must be a URL such as http://127.0.0.1:50051")?
            .connect()
            .await
            .with_context(|| format!("connecting to {}", self.server))?;
        Ok((channel, token))
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
    use super::check_transport;

    #[test]
    fn tokens_go_in_plaintext_only_to_the_loopback() {
        for allowed in [
            "http://127.0.0.1:50051",
            "http://localhost:50051",
            "http://[::1]:50051",
            "http://127.8.9.10:1",
        ] {
            assert!(check_transport(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://10.0.0.5:50051",
            "http://flexcover.example.org:50051",
            "https://flexcover.example.org",
            "ftp://127.0.0.1",
            "127.0.0.1:50051",
        ] {
            assert!(check_transport(refused).is_err(), "{refused}");
        }
    }
}
