//! Input files: finding them, opening plain, `.gz` and `.zip` inputs as one byte
//! stream each, and cutting that stream into blocks of whole lines.
//!
//! Nothing here holds a whole file in memory: a `.zip` member or a `.gz` file is
//! decompressed as it is read, and a [`Blocks`] reader keeps one block plus the tail of
//! a line that crossed the block edge.

use crate::error::{FileError, Result};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;
use xxhash_rust::xxh3::Xxh3;

/// Extensions a directory walk picks up (explicitly named files are always read).
const EXTENSIONS: &[&str] = &["txt", "csv", "tsv", "dat", "gz", "zip"];

/// One input: a file, or one member of a `.zip` archive.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file on disk (the archive for a zip member).
    pub path: PathBuf,
    /// The member's name inside a `.zip` archive.
    pub member: Option<String>,
    /// Size in bytes as stored on disk (compressed size for `.gz` and zip members).
    pub size: u64,
    /// Modification time of the file on disk, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

impl Source {
    /// A stable identity for the manifest: the absolute path, plus `!member` for zips.
    pub fn id(&self) -> String {
        match &self.member {
            Some(m) => format!("{}!{m}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// The file name a symbol is derived from: the member's or file's base name,
    /// without a trailing `.gz`.
    pub fn file_name(&self) -> String {
        let name = match &self.member {
            Some(m) => m.rsplit(['/', '\\']).next().unwrap_or(m).to_string(),
            None => self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        match name.strip_suffix(".gz") {
            Some(stem) => stem.to_string(),
            None => name,
        }
    }

    fn is_gzip(&self) -> bool {
        self.member.is_none() && has_extension(&self.path, "gz")
    }

    /// Runs `f` over the decompressed content. `read_bytes` counts the bytes taken from
    /// disk, for progress.
    pub fn with_reader<T>(
        &self,
        read_bytes: &AtomicU64,
        f: impl FnOnce(&mut dyn Read) -> Result<T>,
    ) -> Result<T> {
        let file = File::open(&self.path).map_err(|e| FileError::io(&self.path, e))?;
        let counted = Counting {
            inner: file,
            count: read_bytes,
        };
        match &self.member {
            Some(member) => {
                let mut archive =
                    zip::ZipArchive::new(counted).map_err(|e| zip_error(&self.path, e))?;
                let mut entry = archive
                    .by_name(member)
                    .map_err(|e| zip_error(&self.path, e))?;
                f(&mut entry)
            }
            None if self.is_gzip() => f(&mut flate2::read::MultiGzDecoder::new(
                io::BufReader::with_capacity(1 << 20, counted),
            )),
            None => f(&mut { counted }),
        }
    }
}

fn zip_error(path: &Path, e: zip::result::ZipError) -> FileError {
    FileError::io(path, io::Error::new(io::ErrorKind::InvalidData, e))
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
}

struct Counting<'a, R> {
    inner: R,
    count: &'a AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: io::Seek> io::Seek for Counting<'_, R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with("__MACOSX")
}

/// Expands files and directories (recursively, in name order) into inputs; a `.zip`
/// becomes one input per member file.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| FileError::io(path, e))?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else {
            add_file(path, &meta, &mut out)?;
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Source>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| FileError::io(dir, e))?
        .collect::<io::Result<_>>()
        .map_err(|e| FileError::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if hidden(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|e| FileError::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if EXTENSIONS.iter().any(|e| has_extension(&path, e)) {
            add_file(&path, &meta, out)?;
        }
    }
    Ok(())
}

fn add_file(path: &Path, meta: &std::fs::Metadata, out: &mut Vec<Source>) -> Result<()> {
    let path = std::path::absolute(path).map_err(|e| FileError::io(path, e))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    if !has_extension(&path, "zip") {
        out.push(Source {
            path,
            member: None,
            size: meta.len(),
            mtime_ns,
        });
        return Ok(());
    }
    let file = File::open(&path).map_err(|e| FileError::io(&path, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| zip_error(&path, e))?;
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| zip_error(&path, e))?;
        let name = entry.name().to_string();
        let base = name.rsplit('/').next().unwrap_or(&name);
        if entry.is_file() && !hidden(base) && !name.contains("__MACOSX") {
            members.push((name, entry.compressed_size()));
        }
    }
    members.sort();
    for (name, size) in members {
        out.push(Source {
            path: path.clone(),
            member: Some(name),
            size,
            mtime_ns,
        });
    }
    Ok(())
}

/// Cuts a byte stream into blocks that end at a line boundary, hashing the content.
pub struct Blocks<'a> {
    reader: &'a mut dyn Read,
    carry: Vec<u8>,
    hasher: Xxh3,
    eof: bool,
    first: bool,
}

impl<'a> Blocks<'a> {
    /// Reads from `reader`.
    pub fn new(reader: &'a mut dyn Read) -> Self {
        Blocks {
            reader,
            carry: Vec::new(),
            hasher: Xxh3::new(),
            eof: false,
            first: true,
        }
    }

    /// The next block of about `size` bytes of whole lines (longer if one line is), or
    /// `None` at the end. A UTF-8 byte-order mark at the start is dropped.
    pub fn next_block(&mut self, size: usize) -> io::Result<Option<Vec<u8>>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut searched = 0;
        loop {
            while !self.eof && buf.len() < size.max(searched + 1) {
                let old = buf.len();
                // grow by what is there (64 KiB at first), so that a day's file of 45 KB
                // never zeroes and faults in a whole block
                buf.reserve(size.saturating_sub(old));
                buf.resize(
                    old + old.max(64 * 1024).min(size.max(searched + 1) - old),
                    0,
                );
                let n = self.reader.read(&mut buf[old..])?;
                buf.truncate(old + n);
                self.hasher.update(&buf[old..]);
                self.eof = n == 0;
            }
            if self.first {
                self.first = false;
                if buf.starts_with(b"\xEF\xBB\xBF") {
                    buf.drain(..3);
                }
            }
            if self.eof {
                return Ok((!buf.is_empty()).then_some(buf));
            }
            match memchr::memrchr(b'\n', &buf[searched..]) {
                Some(i) => {
                    let cut = searched + i + 1;
                    self.carry = buf[cut..].to_vec();
                    buf.truncate(cut);
                    return Ok(Some(buf));
                }
                None => searched = buf.len(),
            }
        }
    }

    /// The xxh3 hash of everything read so far, as hex.
    pub fn hash(&self) -> String {
        format!("{:032x}", self.hasher.digest128())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_end_at_line_boundaries_and_drop_the_bom() {
        let text = b"\xEF\xBB\xBFaaaa\nbb\ncccccccccc\nd";
        let mut r: &[u8] = text;
        let mut blocks = Blocks::new(&mut r);
        let mut got = Vec::new();
        while let Some(b) = blocks.next_block(4).unwrap() {
            got.push(String::from_utf8(b).unwrap());
        }
        assert_eq!(got.concat(), "aaaa\nbb\ncccccccccc\nd");
        for block in &got[..got.len() - 1] {
            assert!(block.ends_with('\n'), "{got:?}");
        }
        let big: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
        let mut r = big.as_bytes();
        let mut blocks = Blocks::new(&mut r);
        let mut n = 0;
        let mut joined = String::new();
        while let Some(b) = blocks.next_block(4096).unwrap() {
            assert!(b.ends_with(b"\n") && b.len() < 4096 + 70 * 1024);
            joined.push_str(std::str::from_utf8(&b).unwrap());
            n += 1;
        }
        assert!(n > 10);
        assert_eq!(joined, big);
    }

    #[test]
    fn zip_members_and_gz_files_are_inputs() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("bars.zip");
        let mut w = zip::ZipWriter::new(File::create(&zip_path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for name in [
            "b/MSFT_1min.txt",
            "AAPL_1min.txt",
            "__MACOSX/._AAPL_1min.txt",
        ] {
            w.start_file(name, opts).unwrap();
            w.write_all(name.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        let gz_path = dir.path().join("SPY_1min.txt.gz");
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&gz_path).unwrap(),
            flate2::Compression::default(),
        );
        gz.write_all(b"spy rows").unwrap();
        gz.finish().unwrap();
        std::fs::write(dir.path().join("notes.md"), "ignored").unwrap();

        let sources = discover(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = sources.iter().map(|s| s.file_name()).collect();
        assert_eq!(
            names,
            vec!["SPY_1min.txt", "AAPL_1min.txt", "MSFT_1min.txt"]
        );
        let count = AtomicU64::new(0);
        let read = |s: &Source| {
            s.with_reader(&count, |r| {
                let mut out = String::new();
                r.read_to_string(&mut out).unwrap();
                Ok(out)
            })
            .unwrap()
        };
        assert_eq!(read(&sources[0]), "spy rows");
        assert_eq!(read(&sources[2]), "b/MSFT_1min.txt");
        assert!(sources[2].id().ends_with("bars.zip!b/MSFT_1min.txt"));
        assert!(count.load(Ordering::Relaxed) > 0);
    }
}
