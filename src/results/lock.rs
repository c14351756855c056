//! One writer per results folder. Two `bench-all` processes on the same folder would both
//! train the same runs and interleave their files; the second is refused, naming the first.
//!
//! The lock is an advisory `flock` on `<results>/.lock`, held for the process's life and
//! released by the operating system however the process ends (a killed run leaves no stale
//! lock behind). The file records who holds it, for the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Exclusive use of a results folder, until dropped.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
    path: PathBuf,
}

impl FolderLock {
    /// Takes the lock of `results_dir` (created if needed), or fails naming the process
    /// that holds it.
    pub fn acquire(results_dir: &Path) -> Result<FolderLock> {
        std::fs::create_dir_all(results_dir).map_err(|e| Error::io(results_dir, e))?;
        let path = results_dir.join(".lock");
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Error::Locked {
                    dir: results_dir.to_path_buf(),
                    holder: if holder.is_empty() { "another process".into() } else { holder.to_owned() },
                });
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let me = format!(
            "process {} ({}), started {}",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" "),
            crate::provenance::timestamp()
        );
        file.set_len(0).and_then(|_| file.rewind()).and_then(|_| file.write_all(me.as_bytes())).map_err(|e| Error::io(&path, e))?;
        Ok(FolderLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = FolderLock::acquire(dir.path()).unwrap();
        let err = FolderLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("process {}", std::process::id())), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        drop(first);
        FolderLock::acquire(dir.path()).unwrap();
    }
}
