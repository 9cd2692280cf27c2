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

/// Which store a fixture's commands use.
pub enum Kind {
    Embedded,
    /// A keyspace of its own on the test node.
    Cql {
        node: String,
        keyspace: String,
    },
    /// Any store URL or path.
    Url(String),
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub kind: Kind,
}

/// Runs each named test body once per store: `name::embedded` and `name::cql` (skipped,
/// with a line on stderr, without a node: see `barstore::testing`).
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn embedded() {
                    super::$name(crate::common::Fixture::new())
                }
                #[test]
                fn cql() {
                    if let Some(fx) = crate::common::Fixture::cql(concat!(module_path!(), "::cql")) {
                        super::$name(fx)
                    }
                }
            }
        )*
    };
}
pub(crate) use both_stores;

/// A fresh keyspace fixture for the enclosing test `case`, or a return from it (skipped,
/// said on stderr) when no node is configured.
macro_rules! cql_or_skip {
    ($case:literal) => {
        match crate::common::Fixture::cql(concat!(module_path!(), "::", $case)) {
            Some(fx) => fx,
            None => return,
        }
    };
}
pub(crate) use cql_or_skip;

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
    /// A fixture on a fresh embedded store.
    pub fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            kind: Kind::Embedded,
        }
    }

    /// A fixture on a fresh keyspace of the test CQL node, `None` (the case skipped)
    /// without one.
    pub fn cql(case: &str) -> Option<Self> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let node = barstore::testing::cql_node(case)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let keyspace = format!(
            "t{}_{}_{}",
            std::process::id(),
            nanos,
            N.fetch_add(1, Ordering::Relaxed)
        );
        Some(Fixture {
            dir: tempfile::tempdir().unwrap(),
            kind: Kind::Cql { node, keyspace },
        })
    }

    /// The keyspace of a CQL fixture.
    pub fn keyspace(&self) -> &str {
        match &self.kind {
            Kind::Cql { keyspace, .. } => keyspace,
            _ => panic!("not a CQL fixture"),
        }
    }

    /// The `host:port` of a CQL fixture's node.
    pub fn node(&self) -> &str {
        match &self.kind {
            Kind::Cql { node, .. } => node,
            _ => panic!("not a CQL fixture"),
        }
    }

    /// A fixture whose commands use the store `url`.
    pub fn at(url: &str) -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            kind: Kind::Url(url.to_string()),
        }
    }

    /// The `--store` argument.
    pub fn store_arg(&self) -> String {
        match &self.kind {
            Kind::Embedded => self.store().display().to_string(),
            Kind::Cql { node, keyspace } => format!("cql://{node}/{keyspace}"),
            Kind::Url(url) => url.clone(),
        }
    }

    /// The embedded store's directory, for tests of its file layout.
    pub fn embedded_dir(&self) -> Option<PathBuf> {
        matches!(self.kind, Kind::Embedded).then(|| self.store())
    }

    /// The data files of a directory of the embedded store's table (relative to the
    /// store), sorted.
    pub fn data_files(&self, dir: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.store().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect();
        files.sort();
        files
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
            .arg(self.store_arg())
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

    /// Runs, asserts the exit code and that stderr says `message`.
    pub fn fails_with(&self, args: &[&str], code: i32, message: &str) -> Run {
        let run = self.ok(args, code);
        assert!(
            run.stderr.contains(message),
            "barstore {args:?}: stderr lacks {message:?}:\n{}",
            run.stderr
        );
        run
    }

    /// `read SYMBOL` for one whole day plus `extra` arguments; asserts success, returns
    /// the CSV.
    pub fn read_day(&self, symbol: &str, day: &str, extra: &[&str]) -> String {
        let mut args = vec!["read", symbol, "--start", day, "--end", day];
        args.extend_from_slice(extra);
        self.ok(&args, 0).stdout
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

impl Drop for Fixture {
    /// Drops a CQL fixture's keyspace: hundreds of test tables would crowd a small
    /// test node's heap.
    fn drop(&mut self) {
        if let Kind::Cql { node, keyspace: ks } = &self.kind {
            let url = format!("cql://{node}/{ks}");
            if let Ok(cql) = barstore::store::Cql::connect(&url, Default::default()) {
                let _ = cql.block_on(
                    cql.session()
                        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {ks}"), ()),
                );
            }
        }
    }
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

/// Runs `commands` released at one instant: each starts as a shell that says it is
/// ready and waits on a pipe the test holds, then becomes the command; the pipe is
/// closed once every shell is waiting, so none starts before the last is ready however
/// slowly the machine spawns them.
pub fn release_together(commands: Vec<Command>) -> Vec<Run> {
    use std::io::{BufRead, Read};
    let (gate, open) = std::io::pipe().unwrap();
    let mut children: Vec<(
        std::process::Child,
        std::io::BufReader<std::process::ChildStdout>,
    )> = commands
        .into_iter()
        .map(|c| {
            let mut shell = Command::new("sh");
            shell
                .args(["-c", "echo ready; read -r _; exec \"$@\"", "sh"])
                .arg(c.get_program())
                .args(c.get_args())
                .stdin(gate.try_clone().unwrap())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            if let Some(dir) = c.get_current_dir() {
                shell.current_dir(dir);
            }
            for (key, value) in c.get_envs() {
                match value {
                    Some(v) => shell.env(key, v),
                    None => shell.env_remove(key),
                };
            }
            let mut child = shell.spawn().unwrap();
            let out = std::io::BufReader::new(child.stdout.take().unwrap());
            (child, out)
        })
        .collect();
    drop(gate);
    for (_, out) in &mut children {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
    }
    drop(open);
    std::thread::scope(|scope| {
        let waits: Vec<_> = children
            .into_iter()
            .map(|(mut child, mut out)| {
                let mut err = child.stderr.take().unwrap();
                let stderr = scope.spawn(move || {
                    let mut s = String::new();
                    err.read_to_string(&mut s).unwrap();
                    s
                });
                scope.spawn(move || {
                    let mut stdout = String::new();
                    out.read_to_string(&mut stdout).unwrap();
                    let status = child.wait().unwrap();
                    Run {
                        code: status.code().unwrap_or(-1),
                        stdout,
                        stderr: stderr.join().unwrap(),
                    }
                })
            })
            .collect();
        waits.into_iter().map(|w| w.join().unwrap()).collect()
    })
}
