//! The per-row error log: rejected rows and warnings, one JSON object per line, in a
//! file created on its first entry.

use super::*;

#[derive(Serialize)]
pub(crate) struct LogLine<'a> {
    file: &'a str,
    line: u64,
    raw: &'a str,
    reason: &'a str,
    severity: &'a str,
}

/// The per-row error log, opened on its first entry.
pub(crate) struct ErrorLog {
    path: PathBuf,
    out: Mutex<Option<BufWriter<File>>>,
}

impl ErrorLog {
    pub(crate) fn new(path: PathBuf) -> Self {
        ErrorLog {
            path,
            out: Mutex::new(None),
        }
    }

    pub(crate) fn write(&self, file: &str, rejects: &[Reject]) -> Result<()> {
        if rejects.is_empty() {
            return Ok(());
        }
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let f = File::create(&self.path).map_err(|e| Error::output(&self.path, e))?;
            *guard = Some(BufWriter::new(f));
        }
        let out = guard.as_mut().expect("opened above");
        for r in rejects {
            let line = LogLine {
                file,
                line: r.line,
                raw: &r.raw,
                reason: &r.reason,
                severity: match r.severity {
                    Severity::Rejected => "rejected",
                    Severity::Warning => "warning",
                },
            };
            serde_json::to_writer(&mut *out, &line)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| Error::output(&self.path, e))?;
        }
        out.flush().map_err(|e| Error::output(&self.path, e))
    }

    pub(crate) fn used(&self) -> bool {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}
