//! Which files a config depends on, and whether any of them changed: each is read through its
//! path and its content hashed. Reading through the path follows symlinks, so the way Kubernetes
//! updates a mounted ConfigMap or Secret (a new directory, then the `..data` symlink swapped to
//! it) is seen like an edit; comparing content rather than times or inodes also catches an
//! editor's write-and-rename and ignores a touch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;

use crate::config::Config;

/// Each watched file's content digest, `None` while it can't be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint(Vec<(PathBuf, Option<[u8; 32]>)>);

impl Fingerprint {
    /// Reads every file in `paths` now.
    pub(crate) fn of(paths: &[PathBuf]) -> Fingerprint {
        Fingerprint(
            paths
                .iter()
                .map(|path| (path.clone(), content_digest(path)))
                .collect(),
        )
    }

    /// The fingerprint of `paths` as they were when `seen` was taken, where `seen` has them; the
    /// others read now. After a reload, a file that changed while it ran then still differs from
    /// this, so the change is not lost.
    pub(crate) fn carried(paths: &[PathBuf], seen: &Fingerprint) -> Fingerprint {
        let seen: HashMap<&Path, Option<[u8; 32]>> = seen
            .0
            .iter()
            .map(|(path, digest)| (path.as_path(), *digest))
            .collect();
        Fingerprint(
            paths
                .iter()
                .map(|path| {
                    let digest = match seen.get(path.as_path()) {
                        Some(digest) => *digest,
                        None => content_digest(path),
                    };
                    (path.clone(), digest)
                })
                .collect(),
        )
    }

    /// The files whose content differs from `earlier`'s (or that only one of them watches).
    pub(crate) fn changed_since(&self, earlier: &Fingerprint) -> Vec<PathBuf> {
        let earlier: HashMap<&Path, Option<[u8; 32]>> = earlier
            .0
            .iter()
            .map(|(path, digest)| (path.as_path(), *digest))
            .collect();
        let mut changed: Vec<PathBuf> = self
            .0
            .iter()
            .filter(|(path, digest)| earlier.get(path.as_path()) != Some(digest))
            .map(|(path, _)| path.clone())
            .collect();
        for (path, _) in &self.0 {
            if !earlier.contains_key(path.as_path()) && !changed.contains(path) {
                changed.push(path.clone());
            }
        }
        changed
    }
}

/// The config file and every file it names: key files (the default ones in `keys.dir` too, so
/// a key put there is noticed), the fronts' state key, and client secrets given as files.
pub(crate) fn watched_files(config_file: &Path, config: &Config) -> Vec<PathBuf> {
    let keys = &config.keys;
    let mut files = vec![config_file.to_owned()];
    files.extend(keys.signing.iter().map(|key| key.file.clone()));
    files.extend(keys.decryption.iter().map(|key| key.file.clone()));
    for alg in config.signing_algs_in_use() {
        files.push(keys.dir.join(format!("signing-{alg}.pem")));
    }
    if keys.decryption.is_empty() {
        files.push(keys.dir.join("decryption-rsa.pem"));
    }
    if !config.fronts.is_empty() {
        files.push(keys.front_state_key.clone());
    }
    files.extend(
        config
            .clients
            .iter()
            .filter_map(|client| client.secret_file.clone()),
    );
    files.sort();
    files.dedup();
    files
}

fn content_digest(path: &Path) -> Option<[u8; 32]> {
    let content = std::fs::read(path).ok()?;
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest::digest(&digest::SHA256, &content).as_ref());
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_swap_changes_the_fingerprint_and_a_touch_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("..2026_12_03_a");
        let second = dir.path().join("..2026_12_03_b");
        std::fs::create_dir(&first).unwrap();
        std::fs::create_dir(&second).unwrap();
        std::fs::write(first.join("config.toml"), "one").unwrap();
        std::fs::write(second.join("config.toml"), "two").unwrap();
        let data = dir.path().join("..data");
        std::os::unix::fs::symlink(&first, &data).unwrap();
        let config = dir.path().join("config.toml");
        std::os::unix::fs::symlink("..data/config.toml", &config).unwrap();

        let paths = vec![config.clone()];
        let before = Fingerprint::of(&paths);
        std::fs::write(first.join("config.toml"), "one").unwrap();
        assert!(Fingerprint::of(&paths).changed_since(&before).is_empty());

        // What the kubelet does: a new symlink renamed over `..data`.
        let swap = dir.path().join("..data_tmp");
        std::os::unix::fs::symlink(&second, &swap).unwrap();
        std::fs::rename(&swap, &data).unwrap();
        assert_eq!(Fingerprint::of(&paths).changed_since(&before), vec![config]);
    }

    #[test]
    fn a_file_that_appears_or_goes_away_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signing-ES256.pem");
        let paths = vec![key.clone()];
        let missing = Fingerprint::of(&paths);
        std::fs::write(&key, "key").unwrap();
        let present = Fingerprint::of(&paths);
        assert_eq!(present.changed_since(&missing), vec![key.clone()]);
        std::fs::remove_file(&key).unwrap();
        assert_eq!(Fingerprint::of(&paths).changed_since(&present), vec![key]);
    }

    #[test]
    fn a_carried_fingerprint_keeps_what_was_seen_before_the_reload() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "seen").unwrap();
        let seen = Fingerprint::of(std::slice::from_ref(&config));
        std::fs::write(&config, "written during the reload").unwrap();
        let carried = Fingerprint::carried(std::slice::from_ref(&config), &seen);
        assert_eq!(
            Fingerprint::of(std::slice::from_ref(&config)).changed_since(&carried),
            vec![config]
        );
    }
}
