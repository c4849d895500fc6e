//! Where a members' list's text is read from: the user's file, or a
//! private temporary copy of standard input, a pipe or a decoded list.

#[cfg(test)]
use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fs_err as fs;

/// Where the list's UTF-8 text is: the user's own file, or a temporary
/// copy (standard input, a pipe, or a list in another encoding).
#[derive(Debug)]
pub(super) enum Data {
    File { path: PathBuf, skip: usize },
    Temp(tempfile::TempPath),
}

impl Data {
    /// The list named `path` (`-` for standard input), and how messages
    /// name it. Standard input, pipes and `<(…)` are first copied to a
    /// temporary file, so that the list can be read more than once.
    pub(super) fn of(path: &Path) -> Result<(PathBuf, Data)> {
        if path.as_os_str() == "-" {
            let stdin = std::io::stdin();
            return Ok((
                PathBuf::from("<stdin>"),
                spool(stdin.lock(), "standard input")?,
            ));
        }
        let meta = std::fs::metadata(path).map_err(|e| unreadable(path, &e))?;
        if meta.is_file() {
            // Opened once here, so that an unreadable file is said plainly.
            std::fs::File::open(path).map_err(|e| unreadable(path, &e))?;
            Ok((
                path.to_path_buf(),
                Data::File {
                    path: path.to_path_buf(),
                    skip: 0,
                },
            ))
        } else if meta.is_dir() {
            bail!(
                "{} is a folder; --signatories takes a CSV file or a spreadsheet \
                 (.xlsx, .xls, .ods)",
                path.display()
            );
        } else {
            let file = std::fs::File::open(path).map_err(|e| unreadable(path, &e))?;
            Ok((
                path.to_path_buf(),
                spool(file, &path.display().to_string())?,
            ))
        }
    }

    /// The text (after any byte-order mark).
    pub(super) fn open(&self) -> Result<BufReader<ListFile>> {
        self.open_with(1 << 16)
    }

    /// The text (after any byte-order mark), read `capacity` bytes at a time.
    pub(super) fn open_with(&self, capacity: usize) -> Result<BufReader<ListFile>> {
        use std::io::{Seek, SeekFrom};
        let (path, skip) = match self {
            Data::File { path, skip } => (path.as_path(), *skip),
            Data::Temp(path) => (path.as_ref(), 0),
        };
        let mut file = fs::File::open(path)?;
        if skip > 0 {
            file.seek(SeekFrom::Start(skip as u64))?;
        }
        let file = ListFile {
            file,
            #[cfg(test)]
            read: (path.to_path_buf(), 0),
        };
        Ok(BufReader::with_capacity(capacity, file))
    }
}

/// Why the list at `path` cannot be read, in plain words.
pub(super) fn unreadable(path: &Path, e: &std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!("no such file: {}", path.display()),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "cannot read {}: permission denied (check the file's permissions)",
            path.display()
        ),
        std::io::ErrorKind::NotADirectory => anyhow::anyhow!(
            "no such file: {} (a folder on that path is a file)",
            path.display()
        ),
        _ => anyhow::anyhow!("cannot read {}: {e}", path.display()),
    }
}

/// A list file open for reading. In tests it counts the bytes read from
/// each path, so that a test can count the passes a run makes over a list.
pub(super) struct ListFile {
    file: fs::File,
    #[cfg(test)]
    read: (PathBuf, u64),
}

impl Read for ListFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        #[cfg(test)]
        {
            self.read.1 += n as u64;
        }
        Ok(n)
    }
}

/// Workbooks are zip archives (or OLE files), read by seeking.
impl std::io::Seek for ListFile {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

#[cfg(test)]
static BYTES_READ: std::sync::Mutex<BTreeMap<PathBuf, u64>> =
    std::sync::Mutex::new(BTreeMap::new());

#[cfg(test)]
impl Drop for ListFile {
    fn drop(&mut self) {
        if let Ok(mut read) = BYTES_READ.lock() {
            *read.entry(self.read.0.clone()).or_default() += self.read.1;
        }
    }
}

/// The bytes read from the list file at `path` so far, by every reader
/// that has been closed (tests only).
#[cfg(test)]
pub(crate) fn bytes_read(path: &Path) -> u64 {
    BYTES_READ
        .lock()
        .map_or(0, |read| read.get(path).copied().unwrap_or(0))
}

/// Copies `reader` to a private temporary file, so it can be read again.
fn spool(mut reader: impl Read, what: &str) -> Result<Data> {
    let mut tmp = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    std::io::copy(&mut reader, &mut tmp)
        .and_then(|_| tmp.flush())
        .with_context(|| format!("cannot copy the list from {what} to a temporary file"))?;
    Ok(Data::Temp(tmp.into_temp_path()))
}
