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

impl ServerArgs {
    /// The channel and the token (read from the file, trimmed).
    pub async fn connect(&self) -> anyhow::Result<(Channel, String)> {
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
