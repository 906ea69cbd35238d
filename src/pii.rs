//! Protection of personal data at rest: per-field AES-256-GCM encryption (with the key id stored
//! beside the ciphertext) and an HMAC-SHA256 blind index to find a person by ID number without
//! storing it in the clear.
//!
//! A key is written `KEY_ID:BASE64(32 random bytes)`, from `FLEXCOVER_PII_KEY` or a key file. The
//! encryption key and the blind-index key are derived from it with HMAC, so neither is the other.
//!
//! Keys rotate as a key ring: several entries (one a line in a file; commas also separate them),
//! the **last** one sealing new writes and every one opening what it sealed. The blind index must
//! not change when the encryption key does (it is every person's primary key and appears in the
//! federation's events), so a ring of several keys carries it as its own entry,
//! `blind-index:BASE64(32 bytes)`, which `flexcover admin add-pii-key` writes from the first key.
//! With a single key and no such entry the index is derived from that key, as before rotation.
use crate::domain::id_number::IdNumber;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::path::Path;

mod ring_file;

const NONCE_LEN: usize = 12;
/// The reserved entry name of the blind-index key in a key ring.
pub const BLIND_INDEX: &str = "blind-index";
/// Most keys in one ring: rotation needs two; a few spare for staging.
const MAX_KEYS: usize = 16;

/// One encryption key of the ring.
struct SealingKey {
    key_id: String,
    cipher: Aes256Gcm,
}

pub struct PiiKeys {
    /// In the order written; the last seals new writes.
    keys: Vec<SealingKey>,
    /// Keyed once at start-up and cloned per use, so request paths cannot fail on it.
    index_mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PiiKeys(key_ids={:?})", self.key_ids())
    }
}

/// A field encrypted under one key: nonce followed by ciphertext and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

fn derive(secret: &[u8], purpose: &str) -> anyhow::Result<[u8; 32]> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).context("keying HMAC")?;
    mac.update(purpose.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

/// The blind-index key a single secret implies (how one-key deployments always derived it).
fn derived_index_key(secret: &[u8]) -> anyhow::Result<[u8; 32]> {
    derive(secret, "flexcover/blind-index/v1")
}

fn check_key_id(key_id: &str) -> anyhow::Result<()> {
    let valid_id = !key_id.is_empty()
        && key_id.len() <= 32
        && key_id != BLIND_INDEX
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_id {
        bail!(
            "the PII key id must be 1 to 32 letters, digits, '-' or '_' (and not {BLIND_INDEX:?})"
        );
    }
    Ok(())
}

/// One `NAME:BASE64` entry of a key ring, its secret decoded and checked.
struct Entry {
    name: String,
    secret: Vec<u8>,
}

/// The entries of a key ring's text: separated by newlines or commas; blank lines and lines
/// starting with `#` are skipped.
fn entries(text: &str) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (name, encoded) = item
            .split_once(':')
            .context("the PII key must be written KEY_ID:BASE64 (32 bytes)")?;
        let secret = STANDARD
            .decode(encoded.trim())
            .with_context(|| format!("the secret of PII key {name:?} is not valid base64"))?;
        if secret.len() != 32 {
            bail!(
                "the PII key {name:?} must be 32 bytes, got {}",
                secret.len()
            );
        }
        if name != BLIND_INDEX {
            check_key_id(name)?;
        }
        if entries.iter().any(|entry: &Entry| entry.name == name) {
            bail!("the PII key ring names {name:?} twice");
        }
        entries.push(Entry {
            name: name.to_owned(),
            secret,
        });
    }
    if entries.len() > MAX_KEYS {
        bail!("the PII key ring holds more than {MAX_KEYS} entries");
    }
    Ok(entries)
}

impl PiiKeys {
    /// A ring of one key (its blind index derived from it).
    pub fn from_secret(key_id: &str, secret: &[u8]) -> anyhow::Result<Self> {
        if secret.len() != 32 {
            bail!("the PII key must be 32 bytes, got {}", secret.len());
        }
        check_key_id(key_id)?;
        Self::build(&[(key_id, secret)], &derived_index_key(secret)?)
    }

    fn build(keys: &[(&str, &[u8])], index_key: &[u8]) -> anyhow::Result<Self> {
        let keys = keys
            .iter()
            .map(|(key_id, secret)| {
                let cipher =
                    Aes256Gcm::new_from_slice(&derive(secret, "flexcover/pii-encryption/v1")?)
                        .context("building the AES-256-GCM cipher")?;
                Ok(SealingKey {
                    key_id: (*key_id).to_owned(),
                    cipher,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let index_mac =
            <Hmac<Sha256> as Mac>::new_from_slice(index_key).context("keying the blind index")?;
        Ok(Self { keys, index_mac })
    }

    /// Parses a key ring: `KEY_ID:BASE64` entries, the last sealing new writes, and (required
    /// with more than one key) a `blind-index:BASE64` entry.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let entries = entries(text)?;
        let keys: Vec<(&str, &[u8])> = entries
            .iter()
            .filter(|entry| entry.name != BLIND_INDEX)
            .map(|entry| (entry.name.as_str(), entry.secret.as_slice()))
            .collect();
        let index_entry = entries.iter().find(|entry| entry.name == BLIND_INDEX);
        let index_key = match (index_entry, keys.as_slice()) {
            (_, []) => bail!("the PII key ring holds no key (KEY_ID:BASE64 of 32 bytes)"),
            (Some(entry), _) => entry.secret.clone(),
            (None, [(_, secret)]) => derived_index_key(secret)?.to_vec(),
            (None, _) => bail!(
                "a PII key ring of several keys needs its {BLIND_INDEX}:BASE64 entry (the blind \
                 index must outlive the key it came from); `flexcover admin add-pii-key` writes it"
            ),
        };
        Self::build(&keys, &index_key)
    }

    pub fn generate_text() -> String {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        format!("k1:{}", STANDARD.encode(secret))
    }

    pub fn load_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the PII key file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in the PII key file {}", path.display()))
    }

    /// Loads the key file, creating it (mode 0600) with a fresh key when it does not exist.
    pub fn load_or_create_file(path: &Path) -> anyhow::Result<Self> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if !path.exists() {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating the PII key file {}", path.display()))?;
            writeln!(file, "{}", Self::generate_text())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated a new PII key file");
        }
        Self::load_file(path)
    }

    /// The id of the key that seals new writes.
    pub fn key_id(&self) -> &str {
        self.current().key_id.as_str()
    }

    /// Every key id of the ring, in the order written.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|key| key.key_id.as_str()).collect()
    }

    fn current(&self) -> &SealingKey {
        // `build` is only reached with at least one key (parse and from_secret ensure it).
        &self.keys[self.keys.len() - 1]
    }

    /// Names the blind-index key without revealing it: serve compares it with the one the stored
    /// persons were indexed with, so a ring that lost its blind-index entry is refused.
    pub fn index_fingerprint(&self) -> Vec<u8> {
        let mut mac = self.index_mac.clone();
        mac.update(b"flexcover/blind-index/fingerprint/v1");
        mac.finalize().into_bytes().to_vec()
    }

    /// The blind index of a person: HMAC-SHA256 of the normalised ID number.
    pub fn person_key(&self, id_number: &IdNumber) -> Vec<u8> {
        let mut mac = self.index_mac.clone();
        mac.update(id_number.as_str().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Encrypts one field. `context` (e.g. the row's key) is authenticated, so a ciphertext copied
    /// to another row does not decrypt.
    pub fn seal(&self, plaintext: &str, context: &[u8]) -> anyhow::Result<Sealed> {
        self.seal_bytes(plaintext.as_bytes(), context)
    }

    /// `seal` for bytes (a stored response, say).
    pub fn seal_bytes(&self, plaintext: &[u8], context: &[u8]) -> anyhow::Result<Sealed> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let key = self.current();
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("AES-GCM encryption failed"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(ciphertext);
        Ok(Sealed {
            key_id: key.key_id.clone(),
            bytes,
        })
    }

    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> anyhow::Result<String> {
        String::from_utf8(self.open_bytes(sealed, context)?).context("sealed field is not UTF-8")
    }

    /// `open` for bytes.
    pub fn open_bytes(&self, sealed: &Sealed, context: &[u8]) -> anyhow::Result<Vec<u8>> {
        let Some(key) = self.keys.iter().find(|key| key.key_id == sealed.key_id) else {
            bail!(
                "field was sealed under key {}, which is not in the PII key ring ({})",
                sealed.key_id,
                self.key_ids().join(", ")
            );
        };
        if sealed.bytes.len() < NONCE_LEN {
            bail!("sealed field is too short");
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let plaintext = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("AES-GCM authentication failed"))?;
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> PiiKeys {
        PiiKeys::parse(&PiiKeys::generate_text()).expect("generated key parses")
    }

    #[test]
    fn sealing_round_trips_and_is_bound_to_its_context() {
        let keys = keys();
        let sealed = keys.seal("11010519491231002X", b"row-1").expect("seal");
        assert_eq!(sealed.key_id, "k1");
        assert!(
            !sealed.bytes.windows(6).any(|w| w == b"110105"),
            "not in the clear"
        );
        assert_eq!(
            keys.open(&sealed, b"row-1").expect("open"),
            "11010519491231002X"
        );
        assert!(keys.open(&sealed, b"row-2").is_err(), "bound to its row");
        let again = keys.seal("11010519491231002X", b"row-1").expect("seal");
        assert_ne!(again.bytes, sealed.bytes, "fresh nonce each time");
    }

    #[test]
    fn the_blind_index_is_stable_per_key_and_differs_across_keys() {
        let id = IdNumber::parse("11010519491231002X").expect("valid");
        let lower = IdNumber::parse("11010519491231002x").expect("valid");
        let keys = keys();
        assert_eq!(keys.person_key(&id), keys.person_key(&lower));
        assert_eq!(keys.person_key(&id).len(), 32);
        assert_ne!(keys.person_key(&id), self::keys().person_key(&id));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(PiiKeys::parse("no-colon").is_err());
        assert!(PiiKeys::parse("k1:not base64!").is_err());
        assert!(PiiKeys::parse("k1:AAAA").is_err(), "too short");
        assert!(PiiKeys::parse(&format!("bad id:{}", STANDARD.encode([0u8; 32]))).is_err());
    }

    #[test]
    fn key_files_are_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("flexcover-pii-test-{}", uuid::Uuid::new_v4()));
        let path = dir.join("pii.key");
        let first = PiiKeys::load_or_create_file(&path).expect("created");
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let id = IdNumber::parse("11010519491231002X").expect("valid");
        let second = PiiKeys::load_or_create_file(&path).expect("reused");
        assert_eq!(first.person_key(&id), second.person_key(&id));
        std::fs::remove_dir_all(dir).ok();
    }
}
