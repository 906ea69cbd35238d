//! The default data directory, and whether the PostgreSQL OS user can reach a path.
use super::{OsUser, lookup_user};
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where per-checkout data directories go when the working directory's `data` is out of the
/// PostgreSQL OS user's reach.
const SHARED_DATA_ROOT: &str = "/var/lib/flexcover";

/// The default data directory: `data` in the working directory, unless flexcover runs as root and
/// the PostgreSQL OS user could not reach `data/postgres` there (a checkout in a home directory of
/// mode 0700, as on a fresh cloud machine) — then `/var/lib/flexcover/<checkout>-<hash>`, one per
/// working directory, so the first command works anywhere. The PII key file there stays root's
/// (mode 0600); only the cluster's own directory is given to the PostgreSQL user.
pub fn default_data_dir(os_user: &str) -> anyhow::Result<PathBuf> {
    let local = PathBuf::from("data");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(local);
    }
    let Ok(user) = lookup_user(os_user) else {
        // Starting the cluster explains the missing user.
        return Ok(local);
    };
    let here = std::env::current_dir().context("reading the working directory")?;
    let cluster = here.join("data").join("postgres");
    let Some((blocking, mode)) = blocking_ancestor(&cluster, user) else {
        return Ok(local);
    };
    if cluster.join("PG_VERSION").exists() {
        // An existing cluster stays where it is; starting it explains how to move on.
        return Ok(local);
    }
    let name: String = here
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    let digest = Sha256::digest(here.as_os_str().as_encoded_bytes());
    let dir = Path::new(SHARED_DATA_ROOT).join(format!("{name}-{}", &hex::encode(digest)[..12]));
    for (path, mode) in [(Path::new(SHARED_DATA_ROOT), 0o755), (dir.as_path(), 0o711)] {
        std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
    }
    tracing::warn!(
        data_dir = %dir.display(),
        "./data is out of OS user {os_user:?}'s reach ({} has mode {mode:o}; PostgreSQL refuses \
         to run as root), so this checkout's data lives in data_dir",
        blocking.display()
    );
    Ok(dir)
}

/// The first parent of `path` that `user` may not search, and its mode. Missing parents are
/// skipped: root creates them with the default, searchable mode.
pub(super) fn blocking_ancestor(path: &Path, user: OsUser) -> Option<(PathBuf, u32)> {
    path.ancestors().skip(1).find_map(|ancestor| {
        let meta = std::fs::metadata(ancestor).ok()?;
        let mode = meta.mode();
        let searchable = mode & 0o001 != 0
            || (meta.uid() == user.uid && mode & 0o100 != 0)
            || (meta.gid() == user.gid && mode & 0o010 != 0);
        (!searchable).then(|| (ancestor.to_owned(), mode & 0o777))
    })
}
