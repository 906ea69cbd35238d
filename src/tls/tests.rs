use super::{ServerTls, TlsFiles};
use rcgen::{CertificateParams, KeyPair};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A temporary directory with a self-signed certificate and its key.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "flexcover-tls-unit-{name}-{}",
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        Self(dir)
    }

    fn files(&self) -> TlsFiles {
        TlsFiles {
            cert: self.0.join("cert.pem"),
            key: self.0.join("key.pem"),
            client_ca: None,
        }
    }

    /// Writes a fresh self-signed certificate and key into cert.pem and key.pem.
    fn write_pair(&self) {
        let (cert, key) = self_signed();
        std::fs::write(self.0.join("cert.pem"), cert).expect("cert");
        std::fs::write(self.0.join("key.pem"), key).expect("key");
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn self_signed() -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    (cert.pem(), key.serialize_pem())
}

fn error_of(files: TlsFiles) -> String {
    match ServerTls::load(files) {
        Ok(_) => panic!("loaded"),
        Err(error) => format!("{error:#}"),
    }
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn a_certificate_key_or_ca_that_does_not_load_is_an_error_naming_the_file() {
    let dir = Dir::new("bad");
    let files = dir.files();
    assert!(
        error_of(files.clone()).contains(&path_text(&files.cert)),
        "missing cert"
    );

    dir.write_pair();
    assert!(ServerTls::load(files.clone()).is_ok());

    // A key that is not the certificate's.
    let (_, other_key) = self_signed();
    std::fs::write(&files.key, other_key).expect("key");
    let error = error_of(files.clone());
    assert!(error.contains("does not fit"), "{error}");

    std::fs::write(&files.key, "not a key").expect("key");
    assert!(error_of(files.clone()).contains(&path_text(&files.key)));

    dir.write_pair();
    std::fs::write(&files.cert, "").expect("empty cert");
    assert!(error_of(files.clone()).contains("no PEM certificate"));

    dir.write_pair();
    let with_ca = TlsFiles {
        client_ca: Some(dir.0.join("missing-ca.pem")),
        ..files
    };
    assert!(error_of(with_ca).contains("missing-ca.pem"));
}

#[test]
fn a_reload_swaps_the_configuration_and_a_bad_one_keeps_the_old() {
    let dir = Dir::new("reload");
    dir.write_pair();
    let tls = ServerTls::load(dir.files()).expect("load");
    let first = Arc::clone(tls.acceptor().config());

    std::fs::write(dir.0.join("key.pem"), "garbage").expect("key");
    assert!(tls.reload().is_err());
    assert!(
        Arc::ptr_eq(&first, tls.acceptor().config()),
        "a failed reload keeps the configuration in force"
    );

    dir.write_pair();
    tls.reload().expect("reload");
    let second = Arc::clone(tls.acceptor().config());
    assert!(
        !Arc::ptr_eq(&first, &second),
        "new connections get the new files"
    );
    assert_eq!(second.alpn_protocols, vec![b"h2".to_vec()]);
}
