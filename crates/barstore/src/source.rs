//! Input files: finding them, opening plain, `.gz` and `.zip` inputs as one byte
//! stream each, and cutting that stream into blocks of whole lines.
//!
//! Nothing here holds a whole file in memory: a `.zip` member or a `.gz` file is
//! decompressed as it is read, and a [`Blocks`] reader keeps one block plus the tail of
//! a line that crossed the block edge.

use crate::error::{FileError, Result};
use crate::parse::{MAX_LINE, RAW_MAX};
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

/// What a walk of the input paths found: the inputs, and the paths that cannot be
/// inputs, each a failure of its own so that the rest still loads.
#[derive(Debug, Default)]
pub struct Found {
    /// The inputs, in path order (members of a `.zip` in name order).
    pub sources: Vec<Source>,
    /// Paths that could not be read (a dangling symlink, a symlink loop, an unreadable
    /// directory or archive), with the reason.
    pub failed: Vec<(String, FileError)>,
}

/// Expands files and directories (recursively, in name order, following symlinks) into
/// inputs; a `.zip` becomes one input per member file.
///
/// Only regular files are inputs: a FIFO, a socket or a device found in a directory is
/// skipped with a warning naming it (opening a FIFO would block until some writer
/// appeared), one named in `paths` is a failure; a directory reached again through a
/// symlink is not walked twice.
pub fn discover(paths: &[PathBuf]) -> Found {
    let mut walk = Walk::default();
    for path in paths {
        walk.visit(path, true);
    }
    walk.found
}

#[derive(Default)]
struct Walk {
    found: Found,
    /// Directories walked so far, resolved, so that a symlink loop ends.
    seen: std::collections::HashSet<PathBuf>,
}

impl Walk {
    /// Adds `path`: a directory's inputs, or the file itself when `named` (given by the
    /// user) or when its extension is one a walk picks up.
    fn visit(&mut self, path: &Path, named: bool) {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) => return self.fail(path, e),
        };
        if meta.is_dir() {
            return self.walk(path);
        }
        if !meta.is_file() {
            let why = "not a regular file (a FIFO, socket or device)";
            if named {
                return self.fail(path, io::Error::new(io::ErrorKind::InvalidInput, why));
            }
            tracing::warn!("{}: skipped: {why}", path.display());
            return;
        }
        if named || EXTENSIONS.iter().any(|e| has_extension(path, e)) {
            if let Err(e) = add_file(path, &meta, &mut self.found.sources) {
                self.found.failed.push((path.display().to_string(), e));
            }
        }
    }

    fn walk(&mut self, dir: &Path) {
        match std::fs::canonicalize(dir) {
            Ok(real) => {
                if !self.seen.insert(real) {
                    return;
                }
            }
            Err(e) => return self.fail(dir, e),
        }
        let entries = std::fs::read_dir(dir).and_then(|r| r.collect::<io::Result<Vec<_>>>());
        let mut entries = match entries {
            Ok(entries) => entries,
            Err(e) => return self.fail(dir, e),
        };
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if !hidden(&entry.file_name().to_string_lossy()) {
                self.visit(&entry.path(), false);
            }
        }
    }

    fn fail(&mut self, path: &Path, e: io::Error) {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.found
            .failed
            .push((path.display().to_string(), FileError::io(path, e)));
    }
}

fn add_file(path: &Path, meta: &std::fs::Metadata, out: &mut Vec<Source>) -> Result<(), FileError> {
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

/// A line longer than [`MAX_LINE`] that a [`Block`] holds as an empty line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongLine {
    /// Offset in the block of the `\n` that stands for the line.
    pub at: usize,
    /// The line's length in bytes.
    pub len: u64,
    /// Its first [`RAW_MAX`] bytes and one more (so that it shows as cut).
    pub head: Vec<u8>,
}

/// Whole lines of an input, `\n`-terminated but maybe the last.
#[derive(Debug, Default)]
pub struct Block {
    /// The lines' bytes.
    pub bytes: Vec<u8>,
    /// Lines cut out for their length, in order.
    pub long_lines: Vec<LongLine>,
}

/// The first line of an input has no end within [`MAX_LINE`] bytes: it is not a file of
/// bar rows, and reading it further would only waste time.
#[derive(Debug, thiserror::Error)]
#[error("no line end in its first {} KiB: not a text file of bar rows", MAX_LINE / 1024)]
pub struct NoLineEnd;

impl Source {
    /// The error of a failed [`Blocks::next_block`] on this input.
    pub fn block_error(&self, e: io::Error) -> FileError {
        if e.get_ref().is_some_and(|inner| inner.is::<NoLineEnd>()) {
            FileError::NoLineEnd { file: self.id() }
        } else {
            FileError::io(&self.path, e)
        }
    }
}

/// The xxh3 hash of everything `reader` gives, as hex: the content hash [`Blocks::hash`]
/// gives of the same bytes.
pub fn content_hash(reader: &mut dyn Read) -> io::Result<String> {
    let mut hasher = Xxh3::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hex(&hasher)),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The most a listing file (corporate actions, a symbols file) may hold: it is read
/// whole, and a larger one is not such a file.
pub const MAX_LISTING: u64 = 256 << 20;

/// Reads a listing file whole: a regular file (not a FIFO, which would block) of at most
/// [`MAX_LISTING`] bytes of UTF-8 text.
pub fn read_listing(path: &Path) -> Result<String, FileError> {
    let refuse =
        |why: String| FileError::io(path, io::Error::new(io::ErrorKind::InvalidInput, why));
    let meta = std::fs::metadata(path).map_err(|e| FileError::io(path, e))?;
    if !meta.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    let mut text = String::new();
    File::open(path)
        .and_then(|f| f.take(MAX_LISTING + 1).read_to_string(&mut text))
        .map_err(|e| FileError::io(path, e))?;
    if text.len() as u64 > MAX_LISTING {
        return Err(refuse(format!("larger than {} MiB", MAX_LISTING >> 20)));
    }
    Ok(text)
}

/// Cuts a byte stream into blocks that end at a line boundary, hashing the content.
///
/// Lines may end in `\n`, `\r\n` or, in a file whose first lines end in a lone `\r`
/// (old Mac exports), `\r`: such a file's `\r`s read as `\n`. The hash is of the
/// bytes as stored.
pub struct Blocks<'a> {
    reader: &'a mut dyn Read,
    carry: Vec<u8>,
    hasher: Xxh3,
    eof: bool,
    first: bool,
    /// Whether a line has ended yet: a first line longer than [`MAX_LINE`] fails the input.
    ended: bool,
    /// Whether lines end in a lone `\r`; `None` until the first line end is read.
    cr_only: Option<bool>,
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
            ended: false,
            cr_only: None,
        }
    }

    /// Appends the next read to `buf` (as much as is there, 64 KiB at first, so that a
    /// day's file of 45 KB never zeroes and faults in a whole block).
    fn fill(&mut self, buf: &mut Vec<u8>, size: usize) -> io::Result<()> {
        let old = buf.len();
        let want = old.max(64 * 1024).min(size.max(old + 64 * 1024) - old);
        buf.reserve(want);
        buf.resize(old + want, 0);
        let n = loop {
            match self.reader.read(&mut buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        buf.truncate(old + *n.as_ref().unwrap_or(&0));
        let n = n?;
        self.hasher.update(&buf[old..]);
        self.eof = n == 0;
        if self.first && n > 0 {
            self.first = false;
            if buf.starts_with(b"\xEF\xBB\xBF") {
                buf.drain(..3);
            }
        }
        match self.cr_only {
            Some(true) => translate_cr(&mut buf[old..]),
            Some(false) => {}
            None => {
                self.cr_only = line_ends(buf);
                if self.cr_only == Some(true) {
                    translate_cr(buf);
                }
            }
        }
        Ok(())
    }

    /// The next block of about `size` bytes of whole lines, or `None` at the end. A
    /// UTF-8 byte-order mark at the start is dropped; a line longer than [`MAX_LINE`]
    /// becomes an empty line and a [`LongLine`]; a first line that long is an error
    /// ([`NoLineEnd`], as [`io::ErrorKind::InvalidData`]).
    pub fn next_block(&mut self, size: usize) -> io::Result<Option<Block>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut long_lines = Vec::new();
        // where the line at the end of `buf` starts, and how far it was searched
        let mut line_start = 0;
        let mut searched = 0;
        loop {
            while !self.eof && buf.len() < size {
                self.fill(&mut buf, size)?;
            }
            match memchr::memrchr(b'\n', &buf[searched..]) {
                Some(i) => {
                    self.ended = true;
                    line_start = searched + i + 1;
                    searched = buf.len();
                    if !self.eof {
                        self.carry = buf.split_off(line_start);
                        return Ok(Some(Block {
                            bytes: buf,
                            long_lines,
                        }));
                    }
                }
                None => searched = buf.len(),
            }
            if buf.len() - line_start > MAX_LINE {
                if !self.ended {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, NoLineEnd));
                }
                long_lines.push(self.skip_line(&mut buf, line_start, size)?);
                line_start += 1;
                searched = line_start;
                continue;
            }
            if self.eof {
                return Ok((!buf.is_empty()).then_some(Block {
                    bytes: buf,
                    long_lines,
                }));
            }
            self.fill(&mut buf, size)?;
        }
    }

    /// Replaces the over-long line from `start` to the end of `buf` by a `\n`, reading on
    /// to the line's end (keeping what follows it).
    fn skip_line(&mut self, buf: &mut Vec<u8>, start: usize, size: usize) -> io::Result<LongLine> {
        let head = buf[start..start + RAW_MAX + 1].to_vec();
        let mut len = (buf.len() - start) as u64;
        buf.truncate(start);
        let mut scratch = Vec::with_capacity(size);
        loop {
            scratch.clear();
            self.fill(&mut scratch, size)?;
            if let Some(i) = memchr::memchr(b'\n', &scratch) {
                len += i as u64;
                buf.extend_from_slice(&scratch[i..]);
                break;
            }
            len += scratch.len() as u64;
            if self.eof {
                buf.push(b'\n');
                break;
            }
        }
        Ok(LongLine {
            at: start,
            len,
            head,
        })
    }

    /// The xxh3 hash of everything read so far, as hex.
    pub fn hash(&self) -> String {
        hex(&self.hasher)
    }
}

/// The manifest's form of a content hash: xxh3-128 as 32 hex digits.
fn hex(hasher: &Xxh3) -> String {
    format!("{:032x}", hasher.digest128())
}

/// Whether the first line end in `buf` is a lone `\r` (`None`: no line end read yet).
fn line_ends(buf: &[u8]) -> Option<bool> {
    let i = memchr::memchr2(b'\n', b'\r', buf)?;
    match (buf[i], buf.get(i + 1)) {
        (b'\n', _) | (_, Some(b'\n')) => Some(false),
        (_, Some(_)) => Some(true),
        (_, None) => None,
    }
}

fn translate_cr(bytes: &mut [u8]) {
    for b in bytes {
        if *b == b'\r' {
            *b = b'\n';
        }
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
            got.push(String::from_utf8(b.bytes).unwrap());
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
            assert!(b.bytes.ends_with(b"\n") && b.bytes.len() < 4096 + 70 * 1024);
            joined.push_str(std::str::from_utf8(&b.bytes).unwrap());
            n += 1;
        }
        assert!(n > 10);
        assert_eq!(joined, big);
    }

    /// Reads at most `chunk` bytes a call, as a pipe or a decompressor may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn all_blocks(text: &[u8], chunk: usize, size: usize) -> io::Result<Vec<Block>> {
        let mut r = Trickle(text, chunk);
        let mut blocks = Blocks::new(&mut r);
        let mut out = Vec::new();
        while let Some(b) = blocks.next_block(size)? {
            out.push(b);
        }
        Ok(out)
    }

    #[test]
    fn long_lines_become_empty_lines_and_a_first_one_fails_the_input() {
        let mut text = b"a\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 3 * MAX_LINE));
        text.extend_from_slice(b"\nb\n");
        text.extend(std::iter::repeat_n(b'y', MAX_LINE + 1));
        // a long line that ends inside a block is left to the parser, which rejects it
        // too; one that runs past the block is cut out here
        for (chunk, size) in [(7, 1000), (1 << 16, 4096), (1 << 20, 1000)] {
            let blocks = all_blocks(&text, chunk, size).unwrap();
            let bytes: Vec<u8> = blocks.iter().flat_map(|b| b.bytes.clone()).collect();
            assert!(
                bytes == b"a\n\nb\n\n",
                "chunk {chunk}, size {size}: {} bytes",
                bytes.len()
            );
            let long: Vec<(u64, usize)> = blocks
                .iter()
                .flat_map(|b| b.long_lines.iter().map(|l| (l.len, l.head.len())))
                .collect();
            assert_eq!(
                long,
                [
                    (3 * MAX_LINE as u64, RAW_MAX + 1),
                    (MAX_LINE as u64 + 1, RAW_MAX + 1)
                ]
            );
        }
        let e = all_blocks(&vec![0; 4 * MAX_LINE], 4096, 1 << 20).unwrap_err();
        assert!(e.get_ref().is_some_and(|i| i.is::<NoLineEnd>()), "{e}");
    }

    #[test]
    fn lone_carriage_returns_end_lines_when_the_file_starts_so() {
        for chunk in [1, 3, 1 << 16] {
            let blocks = all_blocks(b"a,1\rb,2\rc,3", chunk, 4).unwrap();
            let bytes: Vec<u8> = blocks.iter().flat_map(|b| b.bytes.clone()).collect();
            assert_eq!(bytes, b"a,1\nb,2\nc,3", "chunk {chunk}");
            let crlf = all_blocks(b"a,1\r\nb\r2\n", chunk, 4).unwrap();
            let bytes: Vec<u8> = crlf.iter().flat_map(|b| b.bytes.clone()).collect();
            assert_eq!(bytes, b"a,1\r\nb\r2\n", "chunk {chunk}");
        }
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

        let found = discover(&[dir.path().to_path_buf()]);
        assert!(found.failed.is_empty(), "{:?}", found.failed);
        let sources = found.sources;
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
