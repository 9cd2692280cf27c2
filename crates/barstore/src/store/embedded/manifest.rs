//! The embedded store's manifest: completed input files, one JSON line each, appended
//! durably; a line torn by a crash is skipped on reading.

use super::*;

/// The manifest's entries by source (none before the first load).
pub(super) fn read(meta: &Path) -> Result<HashMap<String, ManifestEntry>> {
    let path = meta.join("manifest.jsonl");
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(StoreError::io(&path, e).into()),
    };
    let mut out = HashMap::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| StoreError::io(&path, e))?;
        // A line torn by a crash does not parse: that file simply loads again.
        if let Ok(entry) = serde_json::from_str::<ManifestEntry>(&line) {
            out.insert(entry.source.clone(), entry);
        }
    }
    Ok(out)
}

/// Appends entries, durably.
pub(super) fn append(meta: &Path, entries: &[ManifestEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let path = meta.join("manifest.jsonl");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    // After a crash mid-line, start on a fresh line so this entry stays readable.
    let mut last = [b'\n'];
    if file.metadata().map_err(|e| StoreError::io(&path, e))?.len() > 0 {
        file.seek(SeekFrom::End(-1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| StoreError::io(&path, e))?;
    }
    let torn = last[0] != b'\n';
    let mut line = if torn {
        "\n".to_string()
    } else {
        String::new()
    };
    for entry in entries {
        line.push_str(&serde_json::to_string(entry).expect("manifest entries serialise"));
        line.push('\n');
    }
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| StoreError::io(&path, e).into())
}
