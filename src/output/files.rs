//! Writing letters to disk safely: atomically (a crash or a full disk never
//! leaves half a letter behind) and never over an existing file unless the
//! user said `--force`.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::error::runtime;

/// The error for a write to `path` that failed: a full disk (or a used-up
/// quota) is said in plain words with what to do, without the temporary
/// file's name (which tempfile adds and which no longer exists). `what` is
/// the rest of the sentence: what became of the output.
pub fn write_failed(e: std::io::Error, path: &Path, what: &str) -> anyhow::Error {
    use std::io::ErrorKind;
    let full = matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded);
    let cause = if full {
        "the disk is full (no space left on device)".to_string()
    } else {
        // The plain OS error, without tempfile's "at path …".
        match e.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
            None => e.to_string(),
        }
    };
    let todo = if full {
        ". Free some space there, or write somewhere else, and run the command again"
    } else {
        ""
    };
    let sep = if what.is_empty() { "" } else { "; " };
    runtime(anyhow::anyhow!(
        "cannot write {}: {cause}{sep}{what}{todo}",
        path.display()
    ))
}

/// What a failed batch leaves: nothing new, and what was there before.
pub const NOTHING_WRITTEN: &str = "nothing was written, and any file already there is unchanged";

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
    write_atomic_as(path, bytes, force, false)
}

/// [`write_atomic`] for a letter of a batch (a member's postal letter):
/// created owner-only, never over an existing file.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, bytes, false, true)
}

fn write_atomic_as(path: &Path, bytes: &[u8], force: bool, private: bool) -> Result<()> {
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
    let mut builder = letter_tempfile();
    if private {
        // A temporary file is created 0600, which a batch's letter keeps.
        builder = tempfile::Builder::new();
        builder.prefix(".protest-letter-");
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| write_failed(e, path, NOTHING_WRITTEN))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| write_failed(e, path, NOTHING_WRITTEN))?;
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
            write_failed(e.error, path, NOTHING_WRITTEN)
        }
    })
}

/// A batch of files on its way into a folder: written into a hidden
/// staging folder inside it, then moved into place together by `finish`
/// once every letter has been written. Dropped before that (an error, a
/// template that fails for one member, a full disk), it removes the
/// staging folder and leaves the folder as it was; an interrupted run
/// leaves only the `.protest-letter-unfinished-…` folder, never a part of
/// the batch under the real names.
pub struct Staged {
    dir: PathBuf,
    staging: Option<tempfile::TempDir>,
    force: bool,
    /// File names written so far, in order.
    names: Vec<String>,
    /// Whether `dir` was made for this batch (removed again if it fails).
    created: bool,
    /// The lock on the staging folder, held while this run writes it: a
    /// later run removes only staging folders whose lock it can take.
    _lock: Option<std::fs::File>,
    /// Staging folders left by runs that were killed, removed by `new`.
    pub cleared: Vec<String>,
}

/// The prefix of a batch's staging folder.
const UNFINISHED: &str = ".protest-letter-unfinished-";
/// The lock file in a staging folder.
const STAGING_LOCK: &str = ".lock";

/// Removes the staging folders in `dir` that no run is writing (left by a
/// `kill -9` or a power cut); returns their names.
fn clear_unfinished(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut cleared = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(UNFINISHED) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let abandoned = match std::fs::File::open(entry.path().join(STAGING_LOCK)) {
            Ok(lock) => lock.try_lock().is_ok(),
            // No lock: left by a run killed before it took one, or by an
            // earlier version.
            Err(_) => true,
        };
        if abandoned && std::fs::remove_dir_all(entry.path()).is_ok() {
            cleared.push(name);
        }
    }
    cleared
}

impl Staged {
    pub fn new(dir: &Path, force: bool) -> Result<Self> {
        let created = !dir.exists();
        create_dir(dir)?;
        let cleared = clear_unfinished(dir);
        let staging = match tempfile::Builder::new().prefix(UNFINISHED).tempdir_in(dir) {
            Ok(staging) => staging,
            Err(e) => {
                if created {
                    let _ = std::fs::remove_dir(dir);
                }
                return Err(write_failed(e, dir, NOTHING_WRITTEN));
            }
        };
        let lock = private_options()
            .write(true)
            .create_new(true)
            .open(staging.path().join(STAGING_LOCK))
            .ok()
            .filter(|f| f.try_lock().is_ok());
        Ok(Staged {
            dir: dir.to_path_buf(),
            staging: Some(staging),
            force,
            names: Vec::new(),
            created,
            _lock: lock,
            cleared,
        })
    }

    /// Writes one file into the staging folder; without --force, fails
    /// if the folder has a file of that name already.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let Some(staging) = &self.staging else {
            bail!("the batch is already finished");
        };
        if !self.force && std::fs::symlink_metadata(self.dir.join(name)).is_ok() {
            bail!(
                "{} already exists; nothing was written. Use --force to replace it (and any other \
                 letter of this batch already there), or choose another folder",
                self.dir.join(name).display()
            );
        }
        let path = staging.path().join(name);
        let failed = |e| {
            write_failed(
                e,
                &self.dir.join(name),
                "nothing of this batch was written, and the files already in the folder are unchanged",
            )
        };
        let mut file = letter_file(&path).map_err(failed)?;
        file.write_all(bytes).map_err(failed)?;
        // Linux syncs the whole batch at once in `finish` (a sync per file
        // made a batch of 20,000 files nine times slower than writing them).
        #[cfg(not(target_os = "linux"))]
        file.sync_all().map_err(failed)?;
        self.names.push(name.to_string());
        Ok(())
    }

    /// Moves every file into place (never over an existing one without
    /// --force); if one cannot be moved, those already moved are taken
    /// back. Returns the paths, for the user.
    pub fn finish(mut self) -> Result<Vec<String>> {
        let Some(staging) = self.staging.take() else {
            return Ok(Vec::new());
        };
        // Every letter is on the disk before any takes its name.
        #[cfg(target_os = "linux")]
        if let Err(e) = sync_filesystem(staging.path()) {
            drop(staging);
            self.remove_if_created();
            return Err(write_failed(
                e,
                &self.dir,
                "nothing of this batch was written, and the files already in the folder are unchanged",
            ));
        }
        // Each file moved into place, with the one it replaced (kept as a
        // hard link in the staging folder until the batch is complete), so
        // that a failure part-way puts everything back as it was.
        let mut moved: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
        // Devices and FIFOs under a letter's name, written into last: what
        // is written into them cannot be taken back.
        let mut special: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut step = |i: usize, name: &str| -> Result<()> {
            let from = staging.path().join(name);
            let to = self.dir.join(name);
            if self.force && is_special(&to)? {
                special.push((from, to));
                return Ok(());
            }
            let mut old = None;
            let result = if self.force {
                let backup = staging.path().join(format!(".replaced-{i}"));
                match std::fs::hard_link(&to, &backup) {
                    Ok(()) => {
                        old = Some(backup);
                        std::fs::rename(&from, &to)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::rename(&from, &to)
                    }
                    // No hard links here (FAT, exFAT) or too many: the
                    // replaced file is moved aside instead, and back at once
                    // if the new one cannot take its place.
                    Err(_) => std::fs::rename(&to, &backup).and_then(|()| {
                        std::fs::rename(&from, &to).inspect_err(|_| {
                            let _ = std::fs::rename(&backup, &to);
                        })?;
                        old = Some(backup);
                        Ok(())
                    }),
                }
            } else {
                // A hard link fails if `to` exists: no clobbering, atomically.
                std::fs::hard_link(&from, &to).and_then(|()| std::fs::remove_file(&from))
            };
            match result {
                Ok(()) => {
                    moved.push((to, old));
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                    "{} already exists; nothing was written. Use --force to replace it",
                    to.display()
                ),
                Err(e) => Err(write_failed(
                    e,
                    &to,
                    "nothing of this batch was written, and the files already in the folder are unchanged",
                )),
            }
        };
        let mut result = Ok(());
        for (i, name) in self.names.iter().enumerate() {
            result = step(i, name);
            if result.is_err() {
                break;
            }
        }
        // Then the devices and FIFOs; a failure there takes back the
        // files moved too (what went into a FIFO cannot be).
        if result.is_ok() {
            result = special.iter().try_for_each(|(from, to)| {
                let bytes = std::fs::read(from)
                    .with_context(|| format!("cannot read {}", from.display()))
                    .map_err(runtime)?;
                write_atomic(to, &bytes, true)
            });
        }
        if let Err(error) = result {
            for (path, old) in moved.iter().rev() {
                match old {
                    Some(old) => {
                        let _ = std::fs::rename(old, path);
                    }
                    None => {
                        let _ = std::fs::remove_file(path);
                    }
                }
            }
            drop(staging);
            self.remove_if_created();
            return Err(error);
        }
        drop(staging);
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(moved
            .iter()
            .map(|(p, _)| p)
            .chain(special.iter().map(|(_, to)| to))
            .map(|p| p.display().to_string())
            .collect())
    }

    fn remove_if_created(&self) {
        if self.created {
            // Only if empty: never remove anything else.
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            drop(staging);
            self.remove_if_created();
        }
    }
}

/// Flushes the file system that holds `dir` to the disk: one call for a
/// whole batch (syncfs(2)).
#[cfg(target_os = "linux")]
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(dir)?;
    // SAFETY: a plain system call on a descriptor `dir` owns, open for the
    // whole call; it reads no memory of ours.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A new letter of a batch: owner-only, as members' names, addresses and
/// union membership are special-category personal data.
fn letter_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = private_options();
    options.write(true).create_new(true);
    options.open(path)
}

/// Options that create a file owner-only (0600) on Unix: for the journal,
/// its lock and a batch's letters (see the README on private data).
pub fn private_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates a folder (and its parents) owner-only (0700) where it does not
/// exist; an existing folder keeps its permissions.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates the output folder of a batch if needed, owner-only.
pub fn create_dir(dir: &Path) -> Result<()> {
    create_private_dir(dir).map_err(|e| {
        runtime(anyhow::Error::new(e).context(format!("cannot create {}", dir.display())))
    })
}

/// A file-name-safe form of `text`: lower-case ASCII letters, digits and
/// dashes, at most 60 characters.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    // Transliterated first, so `Әйнұр Құрманова` stays readable. deunicode
    // knows Russian Cyrillic; the letters Kazakh adds are mapped here as
    // in the Kazakh Latin alphabet, less its accents.
    let kazakh: String = text
        .chars()
        .map(|c| match c {
            'Ә' | 'ә' => 'a',
            'Ғ' | 'ғ' => 'g',
            'Қ' | 'қ' => 'q',
            'Ң' | 'ң' => 'n',
            'Ө' | 'ө' => 'o',
            'Ұ' | 'ұ' | 'Ү' | 'ү' => 'u',
            'Һ' | 'һ' => 'h',
            'І' | 'і' => 'i',
            c => c,
        })
        .collect();
    for c in deunicode::deunicode(&kazakh)
        .chars()
        .flat_map(char::to_lowercase)
    {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if matches!(c, '\'' | '"' | '`') {
            // Marks inside a word, not between words: deunicode writes the
            // soft and hard signs (`Ольга`, `Объедков`) and apostrophes so.
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
        assert_eq!(slug("Әйнұр Құрманова"), "ainur-qurmanova");
        assert_eq!(slug("Müller"), "muller");
        assert_eq!(slug("Иванов Пётр"), "ivanov-piotr");
        assert_eq!(slug("✊"), "fist");
        assert_eq!(slug("— … —"), "");
        assert_eq!(slug("Ольга Иванова"), "olga-ivanova");
        assert_eq!(slug("Объедков Дарья"), "obedkov-daria");
        assert_eq!(slug("O’Brien"), "obrien");
    }

    #[test]
    fn names_are_unique() {
        let mut names = UniqueNames::default();
        assert_eq!(names.name("a", "txt"), "a.txt");
        assert_eq!(names.name("a", "txt"), "a-2.txt");
        assert_eq!(names.name("", "txt"), "letter.txt");
    }

    #[test]
    fn a_batch_that_cannot_be_moved_into_place_puts_everything_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"earlier a").unwrap();
        std::fs::write(dir.path().join("c.txt"), b"earlier c").unwrap();
        // A folder where the batch's second letter goes: cannot be replaced.
        std::fs::create_dir(dir.path().join("b.txt")).unwrap();
        let mut staged = Staged::new(dir.path(), true).unwrap();
        for name in ["a.txt", "c.txt", "d.txt", "b.txt"] {
            staged.write(name, b"new").unwrap();
        }
        let error = staged.finish().unwrap_err().to_string();
        assert!(error.contains("b.txt"), "{error}");
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["a.txt", "b.txt", "c.txt"]);
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).unwrap(),
            b"earlier a"
        );
        assert_eq!(
            std::fs::read(dir.path().join("c.txt")).unwrap(),
            b"earlier c"
        );
    }

    #[test]
    fn a_full_disk_is_said_in_plain_words() {
        let e = std::io::Error::from_raw_os_error(28);
        let message = write_failed(e, Path::new("/x/letters"), NOTHING_WRITTEN).to_string();
        assert!(
            message.starts_with("cannot write /x/letters: the disk is full"),
            "{message}"
        );
        assert!(message.contains("Free some space"), "{message}");
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
