//! The token store's key file: base64 of 32 random bytes, mode 0600, in a directory of
//! mode 0700. Created once, atomically: two logins racing end up with the same key.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::exit::CliError;

/// Creates the key file unless it exists. Returns whether it was created.
pub fn ensure(path: &Path) -> Result<bool, CliError> {
    if path.exists() {
        return Ok(false);
    }
    let fail = |what: &str, e: std::io::Error| CliError::other(format!("cannot {what} {}: {e}", path.display()));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(|e| fail("create the directory of", e))?;

    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(&mut bytes[..]).map_err(|e| CliError::other(format!("no random bytes for the key: {e}")))?;
    let mut text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&bytes[..]));
    text.push('\n');

    // Written whole under a temporary name, then linked into place: a reader never sees
    // half a key, and `hard_link` fails if another process created the key meanwhile.
    let tmp = dir.join(format!(".{}.{}.tmp", file_name(path), std::process::id()));
    write_private(&tmp, text.as_bytes()).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail("write", e)
    })?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(fail("create", e)),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "key".into())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_32_byte_key_once_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/token.key");
        assert!(ensure(&path).unwrap());
        let first = fs::read_to_string(&path).unwrap();
        let key = base64::engine::general_purpose::STANDARD.decode(first.trim()).unwrap();
        assert_eq!(key.len(), 32);
        assert!(!ensure(&path).unwrap(), "an existing key is kept");
        assert_eq!(fs::read_to_string(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }
}
