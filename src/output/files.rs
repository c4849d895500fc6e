//! Writing letters to disk safely: atomically (a crash or a full disk never
//! leaves half a letter behind) and never over an existing file unless the
//! user said `--force`.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fs_err as fs;

use crate::error::runtime;

/// Fails before anything is written if any of `paths` exists and `force` is
/// off, naming all of them.
pub fn ensure_absent(paths: &[PathBuf], force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let existing: Vec<String> = paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    match existing.as_slice() {
        [] => Ok(()),
        [one] => bail!(
            "{one} already exists; nothing was written. Use --force to replace it, or choose another name"
        ),
        many => bail!(
            "{} files already exist ({}); nothing was written. Use --force to replace them, or choose another folder",
            many.len(),
            many.join(", ")
        ),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder,
/// then renames it into place. A device or FIFO at `path` (`--report
/// /dev/null`) is written into instead, never replaced.
pub fn write_atomic(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    if is_special(path)? {
        let mut out = open_special(path)?;
        return out
            .write_all(bytes)
            .and_then(|()| out.flush())
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(runtime);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!("folder {} does not exist; create it first", dir.display());
    }
    let mut tmp = letter_tempfile()
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))
        .map_err(runtime)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(runtime)?;
    persist(tmp, path, force)
}

/// A temporary-file builder whose file gets the permissions of any new
/// file (0666 less the umask), not the private 0600 of a temporary file.
pub fn letter_tempfile<'a>() -> tempfile::Builder<'a, 'a> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".protest-letter-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
}

/// Whether `path` exists and is not a regular file (a device, a FIFO, a
/// socket, or a link to one, such as `/dev/stdout` on a terminal or a
/// pipe): such a target is written to, never replaced. A folder is an error.
pub fn is_special(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => bail!("{} is a folder, not a file", path.display()),
        Ok(meta) => Ok(!meta.is_file()),
        Err(_) => Ok(false),
    }
}

/// Opens a special file for writing, without creating or truncating it.
pub fn open_special(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {} for writing", path.display()))
        .map_err(runtime)
}

/// The file a symbolic link points to (so that replacing it keeps the
/// link), or `path` itself.
pub fn resolve_link(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => Ok(target),
            // A dangling link: its target is created where it points.
            Err(_) => {
                let target = std::fs::read_link(path)?;
                Ok(path.parent().unwrap_or(Path::new(".")).join(target))
            }
        },
        _ => Ok(path.to_path_buf()),
    }
}

/// Moves a finished temporary file to `path`: never over an existing
/// file unless `force`, never over anything but a regular file, and
/// atomically either way.
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path, force: bool) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.is_file()
    {
        bail!(
            "{} exists and is not a regular file; it was not replaced. Choose another name",
            path.display()
        );
    }
    let persisted = if force {
        tmp.persist(path).map(|_| ())
    } else {
        tmp.persist_noclobber(path).map(|_| ())
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists; use --force to replace it",
                path.display()
            )
        } else {
            runtime(anyhow::Error::new(e.error).context(format!("cannot write {}", path.display())))
        }
    })
}

/// Creates the output folder if needed.
pub fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| runtime(e.into()))
}

/// A file-name-safe form of `text`: lower-case ASCII letters, digits and
/// dashes, at most 60 characters.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Hands out file names that are unique within one run.
#[derive(Default)]
pub struct UniqueNames {
    taken: HashSet<String>,
}

impl UniqueNames {
    /// `stem.ext`, or `stem-2.ext`, `stem-3.ext`… if already given out.
    pub fn name(&mut self, stem: &str, ext: &str) -> String {
        let stem = if stem.is_empty() { "letter" } else { stem };
        let mut candidate = format!("{stem}.{ext}");
        let mut n = 1;
        while !self.taken.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{stem}-{n}.{ext}");
        }
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe() {
        assert_eq!(slug("Jo Bloggs / ../etc"), "jo-bloggs-etc");
        assert_eq!(slug("Әйнұр"), "");
        assert_eq!(slug("Müller-Öß"), "m-ller");
    }

    #[test]
    fn names_are_unique() {
        let mut names = UniqueNames::default();
        assert_eq!(names.name("a", "txt"), "a.txt");
        assert_eq!(names.name("a", "txt"), "a-2.txt");
        assert_eq!(names.name("", "txt"), "letter.txt");
    }

    #[test]
    fn never_overwrites_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        write_atomic(&path, b"one", false).unwrap();
        assert!(write_atomic(&path, b"two", false).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }
}
