//! Crash and resume: a load killed at any moment, then run again, ends with exactly
//! the right rows.

use crate::common::*;

both_stores!(
    killed_loads_resume_to_exactly_the_source_rows,
    verify_reports_missing_extra_and_different_rows
);
use std::time::Duration;

fn generate(fx: &Fixture, name: &str, rows: u64, seed: u64) -> std::path::PathBuf {
    let path = fx.path(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    barstore::generate::write_firstrate(&mut w, rows, seed).unwrap();
    path
}

/// Files under `dir` (at any depth) whose names end with `suffix`.
fn count_files(dir: &std::path::Path, suffix: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_files(&path, suffix)
            } else {
                usize::from(path.to_string_lossy().ends_with(suffix))
            }
        })
        .sum()
}

/// Kills `child` (-9) once `moment` holds; false when it ended first.
fn kill_when(child: &mut std::process::Child, moment: &dyn Fn() -> bool) -> bool {
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if moment() {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn killed_loads_resume_to_exactly_the_source_rows(fx: Fixture) {
    for (i, sym) in ["AAA", "BBB", "CCC", "DDD"].iter().enumerate() {
        generate(
            &fx,
            &format!("in/{sym}_full_1min_adjsplit.txt"),
            400_000,
            i as u64,
        );
    }
    let input = fx.path("in");
    let load = || {
        fx.command(&["load", "-q", input.to_str().unwrap()])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut killed = 0;
    for delay_ms in [50, 150, 300, 600] {
        let mut child = load();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    if let Some(store) = fx.embedded_dir() {
        // killed (-9) the moment the load has staged a data file, and the moment a
        // commit of it appears: every read after sees one committed version
        let log = store.join("bars").join("_delta_log");
        let versions = || count_files(&log, ".json");
        // data files, not the Delta checkpoints beside the commits
        let data = || count_files(&store.join("bars"), ".parquet") - count_files(&log, ".parquet");
        for what in ["staged", "committed"] {
            // each moment counted from where the previous kill left the store
            let (before, files) = (versions(), data());
            let moment = || match what {
                "staged" => data() > files,
                _ => versions() > before,
            };
            let mut child = load();
            assert!(
                kill_when(&mut child, &moment),
                "the load ended before it {what}"
            );
            killed += 1;
            let symbols = fx.ok(&["symbols"], 0).stdout;
            for line in symbols.lines().skip(1) {
                let sym = line.split(',').next().unwrap();
                fx.ok(
                    &["read", sym, "-o", fx.path("out.csv").to_str().unwrap()],
                    0,
                );
            }
        }
    }
    assert!(killed > 0, "every load finished before it could be killed");
    let run = fx.ok(&["load", input.to_str().unwrap()], 0);
    assert!(run.stderr.contains("4 files:"), "{}", run.stderr);
    fx.ok(&["verify", input.to_str().unwrap()], 0);
    let symbols = fx.ok(&["symbols"], 0).stdout;
    for sym in ["AAA", "BBB", "CCC", "DDD"] {
        assert!(
            symbols.contains(&format!("\n{sym},1min,adjsplit,400000,")),
            "{symbols}"
        );
    }
    // the files of killed loads were never committed: no read saw them, and after
    // compaction the store still holds exactly the sources
    if fx.embedded_dir().is_some() {
        fx.ok(&["compact"], 0);
        fx.ok(&["verify", input.to_str().unwrap()], 0);
    }
}

fn verify_reports_missing_extra_and_different_rows(fx: Fixture) {
    let a = fx.write("X.csv", b"2024-01-02 09:30:00,1,1,1,1,1\n2024-01-02 09:31:00,1,1,1,1,1\n2024-01-02 09:32:00,1,1,1,1,1\n");
    fx.ok(&["load", a.to_str().unwrap()], 0);
    fx.write("X.csv", b"2024-01-02 09:31:00,2,2,2,2,2\n2024-01-02 09:32:00,1,1,1,1,1\n2024-01-02 09:33:00,1,1,1,1,1\n");
    let run = fx.ok(&["verify", a.to_str().unwrap()], 1);
    assert!(
        run.stdout.contains("X,1min,none,3,3,1,1,1"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("differs"), "{}", run.stderr);
    // the changed file is not skipped: its size is equal but its content is not
    fx.ok(&["load", a.to_str().unwrap()], 0);
    let run = fx.ok(&["verify", a.to_str().unwrap()], 1);
    assert!(
        run.stdout.contains("X,1min,none,3,4,0,1,0"),
        "{}",
        run.stdout
    );
}
