//! The JWT signing secret: configured, or generated once and kept in the data directory so
//! tokens survive a restart.

use crate::config::{Backend, Config};
use anyhow::{Context, bail};
use rand::RngCore;
use std::io::{ErrorKind, Write};
use std::path::Path;

/// File name of the generated secret inside the data directory.
pub const JWT_SECRET_FILE: &str = "jwt.secret";

/// The secret bytes: `jwt_secret` from the configuration, else the content of
/// `<data_dir>/jwt.secret`, created (mode 0600, 32 random bytes hex-encoded) if missing.
///
/// With PostgreSQL the same file is used, but several web nodes must share one secret, so
/// a warning asks for `SQ_JWT_SECRET` there.
pub fn jwt_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &config.jwt_secret {
        if s.len() < 32 {
            bail!("the JWT secret must be at least 32 bytes long");
        }
        return Ok(s.as_bytes().to_vec());
    }
    if matches!(config.backend()?, Backend::Postgres { .. }) {
        tracing::warn!(
            "SQ_JWT_SECRET is not set: using {}/{JWT_SECRET_FILE}; set SQ_JWT_SECRET to the same \
             value on every node that shares this database",
            config.data_dir.display()
        );
    }
    load_or_create(&config.data_dir.join(JWT_SECRET_FILE))
}

/// File name of the generated channel-credentials key inside the data directory.
pub const CHANNEL_KEY_FILE: &str = "channel.key";

/// Key material for channel credentials: `channel_key` from the configuration, else
/// `<data_dir>/channel.key`, created like the JWT secret.
pub fn channel_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &config.channel_key {
        if s.len() < 32 {
            bail!("the channel key must be at least 32 bytes long");
        }
        return Ok(s.as_bytes().to_vec());
    }
    load_or_create(&config.data_dir.join(CHANNEL_KEY_FILE))
}

fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let fresh = hex(&bytes);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(fresh.as_bytes())
                .and_then(|_| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new secret");
            Ok(fresh.into_bytes())
        }
        // Already there (or created by a concurrent start): use it.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let s = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let s = s.trim();
            if s.len() < 32 {
                bail!(
                    "{} holds fewer than 32 bytes; delete it to generate a new one",
                    path.display()
                );
            }
            Ok(s.as_bytes().to_vec())
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("nested"),
            ..Config::default()
        };
        let a = jwt_secret(&config).unwrap();
        let b = jwt_secret(&config).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("nested").join(JWT_SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn configured_secret_wins() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            jwt_secret: Some("k".repeat(32)),
            ..Config::default()
        };
        assert_eq!(jwt_secret(&config).unwrap(), b"k".repeat(32));
        assert!(!dir.path().join(JWT_SECRET_FILE).exists());
    }
}
