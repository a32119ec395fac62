//! The file store: one sealed record in a file, replaced atomically (temp file in the
//! same directory, fsync, rename, fsync of the directory), mode 0600 from creation on.
//!
//! Two lock files beside it, both flock-style (the kernel drops the lock when its
//! holder's process dies, so a SIGKILLed holder never blocks the others):
//! - `<path>.lock`: the engine's single-flight lock (`Store::lock`), held across a
//!   refresh;
//! - `<path>.write.lock`: held only during a compare-and-set, so that two writers can
//!   never both see generation N and both write N+1. A separate file because flock
//!   locks belong to an open file: a `save` made while its own process holds
//!   `<path>.lock` would otherwise wait for itself.
//!
//! Lock files are never deleted: deleting one while another process waits on it would
//! let two holders in.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fs4::FileExt;
use rand::RngCore;

use super::{SaveError, Sealer, Stored, format, timeout_error};
use crate::error::Error;

pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    lock_path: PathBuf,
    write_lock_path: PathBuf,
    sealer: Sealer,
    describe: String,
    timeout: Duration,
}

/// The single-flight lock: the open lock file; closing it releases the flock.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn release(self) -> Result<(), Error> {
        // Closing the file releases the lock; an explicit unlock would add nothing.
        Ok(())
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl FileStore {
    pub fn new(path: PathBuf, sealer: Sealer, timeout: Duration) -> FileStore {
        let describe = format!("file store {}", path.display());
        FileStore {
            inner: Arc::new(Inner {
                lock_path: with_suffix(&path, ".lock"),
                write_lock_path: with_suffix(&path, ".write.lock"),
                path,
                sealer,
                describe,
                timeout,
            }),
        }
    }

    pub fn describe(&self) -> &str {
        &self.inner.describe
    }

    /// Runs blocking file work off the runtime threads.
    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Inner) -> T + Send + 'static) -> Result<T, Error> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|_| Error::internal(format!("{}: the file task failed", self.inner.describe)))
    }

    pub async fn load(&self) -> Result<Option<Stored>, Error> {
        self.blocking(|i| match i.read_record()? {
            None => Ok(None),
            Some(rec) => i.sealer.open_token(&rec, &i.what()).map(Some),
        })
        .await?
    }

    pub async fn export(&self) -> Result<Option<Vec<u8>>, Error> {
        self.blocking(|i| match i.read_record()? {
            None => Ok(None),
            Some(rec) => {
                i.sealer.open_token(&rec, &i.what())?;
                Ok(Some(rec))
            }
        })
        .await?
    }

    pub async fn lock(&self, timeout: Duration) -> Result<FileLock, Error> {
        let file = self.acquire(LockFile::Engine, timeout).await?;
        Ok(FileLock { _file: file })
    }

    pub async fn save(&self, expected: u64, token: Option<&[u8]>) -> Result<u64, SaveError> {
        self.compare_and_set(expected, expected + 1, token).await
    }

    pub async fn save_if_empty(&self, generation: u64, token: Option<&[u8]>) -> Result<u64, SaveError> {
        self.compare_and_set(0, generation, token).await
    }

    /// Writes `token` as generation `next` iff the stored generation is `expected`.
    async fn compare_and_set(&self, expected: u64, next: u64, token: Option<&[u8]>) -> Result<u64, SaveError> {
        let token = token.map(|t| zeroize::Zeroizing::new(t.to_vec()));
        let guard = self.acquire(LockFile::Write, self.inner.timeout).await?;
        self.blocking(move |i| {
            let _guard = guard;
            let current = i.current_generation()?;
            if current != expected {
                return Err(SaveError::Stale { current });
            }
            let rec = i.sealer.seal_token(next, token.as_deref().map(Vec::as_slice))?;
            i.write_atomically(&rec)?;
            Ok(next)
        })
        .await?
    }

    pub async fn import(&self, record: &[u8]) -> Result<u64, SaveError> {
        let record = record.to_vec();
        let guard = self.acquire(LockFile::Write, self.inner.timeout).await?;
        self.blocking(move |i| {
            let _guard = guard;
            let incoming = i.sealer.open_token(&record, "the imported record")?.generation;
            let current = i.current_generation()?;
            if incoming <= current {
                return Err(SaveError::Stale { current });
            }
            i.write_atomically(&record)?;
            Ok(incoming)
        })
        .await?
    }

    /// Opens (creating, 0600) a lock file in the blocking pool, then polls the
    /// non-blocking flock until `timeout`: a blocking flock could not be given up.
    async fn acquire(&self, which: LockFile, timeout: Duration) -> Result<File, Error> {
        let deadline = Instant::now() + timeout;
        let file = self
            .blocking(move |i| {
                let path = i.lock_file(which);
                OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path).map_err(
                    |e| Error::invalid(format!("{}: cannot open the lock file {}: {e}", i.describe, path.display())),
                )
            })
            .await??;
        let mut pause = Duration::from_millis(1);
        loop {
            match FileExt::try_lock(&file) {
                Ok(()) => return Ok(file),
                Err(fs4::TryLockError::WouldBlock) => {}
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(Error::invalid(format!(
                        "{}: cannot lock {}: {e}",
                        self.inner.describe,
                        self.inner.lock_file(which).display()
                    )));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                let what = match which {
                    LockFile::Engine => "the store lock is held by another holder and was not released",
                    LockFile::Write => "another writer held the write lock",
                };
                return Err(timeout_error(&self.inner.describe, what, timeout));
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }
}

#[derive(Clone, Copy)]
enum LockFile {
    Engine,
    Write,
}

impl Inner {
    fn what(&self) -> String {
        format!("the store file {}", self.path.display())
    }

    fn lock_file(&self, which: LockFile) -> &Path {
        match which {
            LockFile::Engine => &self.lock_path,
            LockFile::Write => &self.write_lock_path,
        }
    }

    fn io_error(&self, doing: &str, e: io::Error) -> Error {
        Error::invalid(format!("{}: cannot {doing}: {e}", self.describe))
    }

    fn read_record(&self) -> Result<Option<Vec<u8>>, Error> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error("read the file", e)),
        };
        let len = file.metadata().map_err(|e| self.io_error("read the file", e))?.len();
        if len > format::MAX_RECORD as u64 {
            return Err(Error::invalid(format!("{} is {len} bytes, larger than a store record can be", self.what())));
        }
        let mut buf = Vec::with_capacity(len as usize);
        io::Read::read_to_end(&mut io::Read::take(file, format::MAX_RECORD as u64 + 1), &mut buf)
            .map_err(|e| self.io_error("read the file", e))?;
        Ok(Some(buf))
    }

    /// The authenticated generation on disk (0 when there is no file). A file that does
    /// not open is an error, and stays as it is: it is not ours to overwrite.
    fn current_generation(&self) -> Result<u64, Error> {
        Ok(match self.read_record()? {
            None => 0,
            Some(rec) => self.sealer.open_token(&rec, &self.what())?.generation,
        })
    }

    fn write_atomically(&self, bytes: &[u8]) -> Result<(), Error> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut suffix = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        let tmp = dir.join(format!(".{name}.tmp-{}", hex(&suffix)));
        // 0600 at creation: the temp file is never readable by anyone else, even briefly.
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &self.path)?;
            // The rename is durable once the directory is synced.
            File::open(&dir)?.sync_all()
        })();
        result.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            self.io_error("write the file", e)
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
