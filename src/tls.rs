//! TLS on the gRPC listener, with the certificate reloaded on SIGHUP.
//!
//! tonic's `ServerTlsConfig` fixes its certificate at start, so the listener runs its own
//! tokio-rustls acceptor (the one tonic uses) over accepted sockets. Each handshake gets the
//! configuration current when the connection arrived: a reload swaps the whole configuration
//! (certificate, key and client CA) for new connections, and open ones keep theirs. A reload that
//! fails to load is logged and the previous configuration kept.
//!
//! Handshakes run in their own tasks, so a slow or silent peer never holds up the accept loop;
//! each is bounded by `HANDSHAKE_TIMEOUT`, and at most `MAX_PENDING_HANDSHAKES` run at once (a
//! connection beyond them is closed at once).
use crate::connection::TrackedStream;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Longest a TLS handshake may take before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS handshakes in progress at once; a connection arriving beyond them is closed.
pub const MAX_PENDING_HANDSHAKES: usize = 256;

/// The PEM files the listener's TLS is read from (again on every reload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate issued by one of these CAs (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// The listener's TLS configuration, replaceable while serving.
pub struct ServerTls {
    files: TlsFiles,
    config: RwLock<Arc<rustls::ServerConfig>>,
}

impl ServerTls {
    /// Reads the files; a certificate, key or CA that does not load is an error.
    pub fn load(files: TlsFiles) -> anyhow::Result<Self> {
        let config = server_config(&files)?;
        Ok(Self {
            files,
            config: RwLock::new(Arc::new(config)),
        })
    }

    /// Reads the files again; new connections get them. On an error the previous configuration
    /// stays in force.
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = server_config(&self.files)?;
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
        Ok(())
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(
            &self.config.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

fn read_certs(path: &Path, what: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the {what} {}", path.display()))?;
    if certs.is_empty() {
        bail!("no PEM certificate in the {what} {}", path.display());
    }
    Ok(certs)
}

fn server_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    // ring explicitly: the one provider in the build (sqlx's too), whatever the process default.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = read_certs(&files.cert, "TLS certificate")?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading the TLS key {}", files.key.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &files.client_ca {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(path, "TLS client CA")? {
                roots
                    .add(cert)
                    .with_context(|| format!("a CA certificate in {}", path.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .with_context(|| format!("the TLS client CA {}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).with_context(|| {
        format!(
            "the TLS key {} does not fit the certificate {}",
            files.key.display(),
            files.cert.display()
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Reloads `tls` on every SIGHUP until the task is aborted.
pub async fn reload_on_hangup(tls: Arc<ServerTls>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGHUP: the TLS certificate cannot be reloaded");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded for new connections"),
                Err(error) => tracing::error!(
                    error = %crate::cli::describe(&error),
                    "SIGHUP: TLS reload failed; still serving the previous certificate"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tls;
}

/// Accepts connections on `listener` and yields each once its TLS handshake succeeded. Accepting
/// stops when the returned stream is dropped.
pub fn accepted(
    listener: TcpListener,
    tls: Arc<ServerTls>,
    idle_timeout: Option<Duration>,
    nodelay: bool,
) -> impl futures_util::Stream<Item = std::io::Result<TrackedStream>> {
    let (ready, ready_streams) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, tls, idle_timeout, nodelay, ready));
    tokio_stream::wrappers::ReceiverStream::new(ready_streams)
}

async fn accept_loop(
    listener: TcpListener,
    tls: Arc<ServerTls>,
    idle_timeout: Option<Duration>,
    nodelay: bool,
    ready: mpsc::Sender<std::io::Result<TrackedStream>>,
) {
    let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            () = ready.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let socket = match accepted {
            Ok((socket, _peer)) => socket,
            Err(error) => {
                // Out of descriptors and the like: wait a little rather than spin.
                tracing::debug!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&pending).try_acquire_owned() else {
            tracing::warn!(
                limit = MAX_PENDING_HANDSHAKES,
                "too many TLS handshakes in progress: closing a new connection"
            );
            continue;
        };
        if let Err(error) = socket.set_nodelay(nodelay) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let local_addr = socket.local_addr().ok();
        let acceptor = tls.acceptor();
        let ready = ready.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                Ok(Ok(stream)) => {
                    let stream = TrackedStream::tls(stream, local_addr, idle_timeout);
                    // Fails only once the server stopped accepting.
                    let _ = ready.send(Ok(stream)).await;
                }
                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        });
    }
}

#[cfg(test)]
mod tests;
