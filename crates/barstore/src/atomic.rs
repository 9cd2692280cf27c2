//! Output files that appear whole or not at all.
//!
//! A read, a plot or a listing written to a file goes to a temporary file beside it
//! (`.NAME.XXXXXX.EXT`), which replaces the target by a rename once complete. A read
//! that fails halfway (a store error, a full disk, Ctrl-C) so leaves no file, or the
//! previous one, never a truncated file that looks whole.

use crate::error::Error;
use std::fs::File;
use std::path::Path;

/// A temporary file in `path`'s directory, named after it and with its extension (a
/// writer that picks the format by extension, as the PNG one does, still sees it).
fn temporary(path: &Path) -> Result<tempfile::NamedTempFile, Error> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let prefix = format!(".{}.", name.unwrap_or_default());
    let suffix = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(&suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // as a file created in the usual way would be (tempfile's default is 0600)
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(dir).map_err(|e| Error::output(path, e))
}

/// Writes `path` through `write`, which gets the open temporary file; on success the
/// file replaces `path`, on failure it is removed and `path` is left as it was.
pub fn write<T, E: From<Error>>(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<T, E>,
) -> Result<T, E> {
    let mut tmp = temporary(path)?;
    let value = write(tmp.as_file_mut())?;
    tmp.persist(path)
        .map_err(|e| Error::output(path, e.error))?;
    Ok(value)
}

/// As [`write`], for writers that open the file themselves: `write` gets the
/// temporary file's path.
pub fn write_path<T, E: From<Error>>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<T, E>,
) -> Result<T, E> {
    let tmp = temporary(path)?.into_temp_path();
    let value = write(&tmp)?;
    tmp.persist(path)
        .map_err(|e| Error::output(path, e.error))?;
    Ok(value)
}
