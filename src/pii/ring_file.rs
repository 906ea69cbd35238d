//! Editing a key ring's text (a key file or `FLEXCOVER_PII_KEY`): adding a key, removing one, and
//! replacing a key file without ever leaving it readable by others.
use super::{BLIND_INDEX, PiiKeys, check_key_id, derived_index_key, entries};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use std::path::Path;

impl PiiKeys {
    /// `text` with a fresh key appended (it seals new writes from then on), named `key_id` or
    /// else the next free `kN`; a ring that derived its blind index from its one key gets that
    /// index as its own entry, so the index survives the old key's removal. `staged` puts the key
    /// first instead: it opens but does not seal yet (for replicas that must all be able to open it
    /// before any seals with it; `promote_key_in_text` then makes it seal). Returns the new text
    /// and the new key's id.
    pub fn add_key_to_text(
        text: &str,
        key_id: Option<&str>,
        staged: bool,
    ) -> anyhow::Result<(String, String)> {
        let entries = entries(text)?;
        Self::parse(text)?;
        let ids: Vec<&str> = entries
            .iter()
            .map(|entry| entry.name.as_str())
            .filter(|name| *name != BLIND_INDEX)
            .collect();
        let new_id = match key_id {
            Some(key_id) => key_id.to_owned(),
            None => {
                let highest = ids
                    .iter()
                    .filter_map(|id| id.strip_prefix('k')?.parse::<u32>().ok())
                    .max()
                    .unwrap_or(0);
                format!("k{}", highest.saturating_add(1))
            }
        };
        check_key_id(&new_id)?;
        if ids.contains(&new_id.as_str()) {
            bail!("the PII key ring already has a key {new_id:?}");
        }
        let mut out = String::new();
        if !entries.iter().any(|entry| entry.name == BLIND_INDEX) {
            let [only] = entries.as_slice() else {
                bail!("a PII key ring of several keys needs its {BLIND_INDEX} entry");
            };
            let index = derived_index_key(&only.secret)?;
            out.push_str(&format!(
                "# The blind index (the person key), kept when keys rotate; never change it.\n\
                 {BLIND_INDEX}:{}\n",
                STANDARD.encode(index)
            ));
        }
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let new_line = format!("{new_id}:{}\n", STANDARD.encode(secret));
        let mut placed = false;
        for line in text.lines() {
            let trimmed = line.trim();
            let holds_key = !trimmed.is_empty()
                && !trimmed.starts_with('#')
                && !trimmed.starts_with(&format!("{BLIND_INDEX}:"));
            if staged && holds_key && !placed {
                out.push_str(&new_line);
                placed = true;
            }
            if !trimmed.is_empty() {
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        if !placed {
            out.push_str(&new_line);
        }
        Self::parse(&out)?;
        Ok((out, new_id))
    }

    /// `text` with `key_id` moved to the end, so that it seals new writes.
    pub fn promote_key_in_text(text: &str, key_id: &str) -> anyhow::Result<String> {
        let entry = entries(text)?
            .into_iter()
            .find(|entry| entry.name == key_id && entry.name != BLIND_INDEX)
            .with_context(|| format!("the PII key ring has no key {key_id:?}"))?;
        let mut out = without_entry(text, key_id);
        out.push_str(&format!("{key_id}:{}\n", STANDARD.encode(&entry.secret)));
        Self::parse(&out)?;
        Ok(out)
    }

    /// `text` without the key `key_id`, which must not be the one sealing new writes.
    pub fn remove_key_from_text(text: &str, key_id: &str) -> anyhow::Result<String> {
        let ring = Self::parse(text)?;
        if key_id == ring.key_id() {
            bail!("{key_id} seals new writes; add a newer key first");
        }
        if !ring.key_ids().contains(&key_id) {
            bail!("the PII key ring has no key {key_id:?}");
        }
        let out = without_entry(text, key_id);
        Self::parse(&out)?;
        Ok(out)
    }

    /// Replaces a key file's text atomically, keeping it private (mode 0600).
    pub fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let temporary = path.with_extension(format!("new-{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .with_context(|| format!("creating {}", temporary.display()))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
            .with_context(|| format!("replacing the PII key file {}", path.display()))
    }
}

/// `text` without the entry named `key_id` (comments kept).
fn without_entry(text: &str, key_id: &str) -> String {
    let prefix = format!("{key_id}:");
    let mut out = String::new();
    for line in text.lines() {
        let kept: Vec<&str> = line
            .split(',')
            .filter(|item| line.trim_start().starts_with('#') || !item.trim().starts_with(&prefix))
            .collect();
        if !kept.iter().all(|item| item.trim().is_empty()) {
            out.push_str(kept.join(",").trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id_number::IdNumber;

    #[test]
    fn a_ring_seals_with_its_last_key_opens_with_any_and_keeps_its_blind_index() {
        let id = IdNumber::parse("11010519491231002X").expect("valid");
        let one = PiiKeys::generate_text();
        let old = PiiKeys::parse(&one).expect("one key");
        let sealed_old = old.seal("secret", b"row").expect("seal");
        let (two, new_id) = PiiKeys::add_key_to_text(&one, None, false).expect("added");
        assert_eq!(new_id, "k2");
        assert!(two.contains("blind-index:"), "{two}");
        let ring = PiiKeys::parse(&two).expect("ring");
        assert_eq!(ring.key_ids(), ["k1", "k2"]);
        assert_eq!(ring.key_id(), "k2");
        let sealed_new = ring.seal("secret", b"row").expect("seal");
        assert_eq!(sealed_new.key_id, "k2");
        assert_eq!(ring.open(&sealed_old, b"row").expect("old opens"), "secret");
        assert!(old.open(&sealed_new, b"row").is_err(), "k1 alone cannot");
        assert_eq!(ring.person_key(&id), old.person_key(&id));
        let retired = PiiKeys::remove_key_from_text(&two, "k1").expect("retired");
        let last = PiiKeys::parse(&retired).expect("k2 alone");
        assert_eq!(last.key_ids(), ["k2"]);
        assert_eq!(
            last.person_key(&id),
            old.person_key(&id),
            "index outlives k1"
        );
        assert_eq!(last.index_fingerprint(), old.index_fingerprint());
        assert!(last.open(&sealed_old, b"row").is_err());
        assert!(
            PiiKeys::remove_key_from_text(&retired, "k2").is_err(),
            "current stays"
        );
    }

    #[test]
    fn rings_without_their_blind_index_or_with_repeats_are_refused() {
        let secret = STANDARD.encode([7u8; 32]);
        assert!(PiiKeys::parse(&format!("k1:{secret}\nk2:{secret}")).is_err());
        assert!(PiiKeys::parse(&format!("k1:{secret},k1:{secret}")).is_err());
        assert!(PiiKeys::parse(&format!("blind-index:{secret}")).is_err());
        let ring = PiiKeys::parse(&format!(
            "# comment\nblind-index:{secret}\nk1:{secret}, k2:{secret}\n"
        ))
        .expect("env form");
        assert_eq!(ring.key_id(), "k2");
    }

    #[test]
    fn a_staged_key_opens_first_and_seals_once_promoted() {
        let one = PiiKeys::generate_text();
        let (staged, new_id) = PiiKeys::add_key_to_text(&one, Some("k9"), true).expect("staged");
        assert_eq!(new_id, "k9");
        let ring = PiiKeys::parse(&staged).expect("ring");
        assert_eq!(ring.key_ids(), ["k9", "k1"]);
        assert_eq!(ring.key_id(), "k1", "k1 still seals");
        let promoted = PiiKeys::promote_key_in_text(&staged, "k9").expect("promoted");
        let ring = PiiKeys::parse(&promoted).expect("ring");
        assert_eq!(ring.key_ids(), ["k1", "k9"]);
        assert_eq!(ring.key_id(), "k9");
        let id = IdNumber::parse("11010519491231002X").expect("valid");
        let old = PiiKeys::parse(&one).expect("one key");
        assert_eq!(ring.person_key(&id), old.person_key(&id));
        assert!(PiiKeys::promote_key_in_text(&promoted, "k5").is_err());
    }
}
