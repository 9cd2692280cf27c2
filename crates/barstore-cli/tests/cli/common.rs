//! A temporary store plus helpers to run the binary and read the source files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's real sample files.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Fixture {
    pub fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// A command for the binary, run in the fixture directory against its store.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_barstore"));
        cmd.current_dir(self.dir.path())
            .env_remove("BARSTORE_STORE")
            .arg("--store")
            .arg(self.store())
            .args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().unwrap().into()
    }

    /// Runs and asserts the exit code, showing the output when it differs.
    pub fn ok(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "barstore {args:?}\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        run
    }

    /// Writes a file into the fixture directory.
    pub fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }
}

fn parse_values(fields: &[&str]) -> ([f64; 4], Option<f64>) {
    let p = |s: &str| s.trim().parse::<f64>().unwrap();
    (
        [p(fields[0]), p(fields[1]), p(fields[2]), p(fields[3])],
        fields.get(4).filter(|v| !v.trim().is_empty()).map(|v| p(v)),
    )
}

/// Bars of a CSV text whose first field is `YYYY-MM-DD HH:MM:SS` (header optional),
/// keyed by time.
pub fn csv_bars(text: &str) -> BTreeMap<String, ([f64; 4], Option<f64>)> {
    text.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| {
            let f: Vec<&str> = l.trim_end_matches('\r').split(',').collect();
            (f[0].to_string(), parse_values(&f[1..]))
        })
        .collect()
}

/// Bars of a file with separate date and time fields.
pub fn split_csv_bars(text: &str) -> BTreeMap<String, ([f64; 4], Option<f64>)> {
    text.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| {
            let f: Vec<&str> = l.trim_end_matches('\r').split(',').collect();
            (format!("{} {}", f[0], f[1]), parse_values(&f[2..7]))
        })
        .collect()
}

/// Number of data rows in CSV output (header excluded).
pub fn rows(csv: &str) -> usize {
    csv.lines().skip(1).count()
}
