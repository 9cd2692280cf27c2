//! Hostile inputs: each fails alone, in bounded time and memory, with its file, line
//! and reason, while every other input loads.

use crate::common::*;
use std::io::Write;

both_stores!(
    files_without_line_ends_fail_alone_and_long_lines_are_rejected_with_their_line,
    cr_only_line_ends_load_every_bar,
    epochs_load_in_the_unit_their_magnitude_says_and_implausible_years_are_rejected
);

const GOOD: &str = "2024-05-01 09:30:00,1,2,0.5,1.5,7\n";

fn errors(fx: &Fixture) -> Vec<serde_json::Value> {
    std::fs::read_to_string(fx.path("barstore-errors.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn files_without_line_ends_fail_alone_and_long_lines_are_rejected_with_their_line(fx: Fixture) {
    // 32 MiB of NULs: given up on after its first line's cap, not read byte by byte
    fx.write("in/NUL_1min.txt", &vec![0u8; 32 << 20]);
    // a .gz that expands to 256 MiB with no line end at all
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(fx.path("in/BOMB_1min.txt.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap();
    // good rows around a line of 40 MiB and one of 100 KiB
    let mut long = Vec::from(GOOD);
    long.extend(std::iter::repeat_n(b'x', 40 << 20));
    long.extend_from_slice(b"\n2024-05-01 09:31:00,1,2,0.5,1.5,7\n");
    long.extend(std::iter::repeat_n(b'9', 100 << 10));
    long.extend_from_slice(b"\n2024-05-01 09:32:00,1,2,0.5,1.5,7\n");
    fx.write("in/LONG_1min.txt", &long);
    fx.write("in/OK_1min.txt", GOOD.as_bytes());

    let run = fx.ok(&["load", fx.path("in").to_str().unwrap()], 2);
    for name in ["NUL_1min.txt", "BOMB_1min.txt.gz"] {
        assert!(
            run.stderr.contains(&format!(
                "{name}: no line end in its first 64 KiB: not a text file of bar rows"
            )),
            "{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("4 files: 2 loaded"), "{}", run.stderr);
    let symbols = fx.ok(&["symbols"], 0).stdout;
    assert!(symbols.contains("\nLONG,1min,none,3,"), "{symbols}");
    assert!(symbols.contains("\nOK,1min,none,1,"), "{symbols}");
    let logged = errors(&fx);
    assert_eq!(logged.len(), 2, "{logged:?}");
    for (entry, (line, len)) in logged.iter().zip([(2, 40u64 << 20), (4, 100 << 10)]) {
        assert_eq!(entry["line"], line);
        assert_eq!(
            entry["reason"],
            format!("line is {len} bytes long, more than the 64 KiB a bar row may have")
        );
        // the log keeps the head of the line, not all of it
        let raw = entry["raw"].as_str().unwrap();
        assert!(raw.ends_with('…') && raw.len() <= 260, "{}", raw.len());
    }
}

fn cr_only_line_ends_load_every_bar(fx: Fixture) {
    let text = std::fs::read_to_string(data("AAPL_1min_sample_headerless.txt")).unwrap();
    fx.write(
        "in/AAPL_1min.txt",
        text.replace("\r\n", "\n").replace('\n', "\r").as_bytes(),
    );
    fx.ok(&["load", fx.path("in").to_str().unwrap()], 0);
    assert_eq!(
        csv_bars(&fx.ok(&["read", "AAPL"], 0).stdout),
        csv_bars(&text)
    );
    fx.ok(&["verify", fx.path("in").to_str().unwrap()], 0);
}

fn epochs_load_in_the_unit_their_magnitude_says_and_implausible_years_are_rejected(fx: Fixture) {
    // 2024-05-01 13:30 UTC (09:30 in New York) in s, ms, µs and ns
    let t = 1_714_570_200i64;
    let rows: String = [
        t,
        t * 1000 + 60_000,
        t * 1_000_000 + 120_000_000,
        t * 1_000_000_000 + 180_000_000_000,
    ]
    .iter()
    .map(|v| format!("{v},1,2,0.5,1.5,7\n"))
    .collect();
    fx.write("in/E_1min.csv", rows.as_bytes());
    fx.ok(&["load", fx.path("in/E_1min.csv").to_str().unwrap()], 0);
    let day = fx.read_day("E", "2024-05-01", &[]);
    let times: Vec<&str> = day.lines().skip(1).map(|l| &l[..19]).collect();
    assert_eq!(
        times,
        [
            "2024-05-01 09:30:00",
            "2024-05-01 09:31:00",
            "2024-05-01 09:32:00",
            "2024-05-01 09:33:00"
        ]
    );

    // forced to seconds, the microseconds are far in the future: rejected, line by line
    fx.write(
        "in/F_1min.csv",
        format!("{},1,2,0.5,1.5,7\n{t},1,2,0.5,1.5,7\n", t * 1_000_000).as_bytes(),
    );
    fx.ok(
        &[
            "load",
            "--epoch-unit",
            "s",
            fx.path("in/F_1min.csv").to_str().unwrap(),
        ],
        1,
    );
    let logged = errors(&fx);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["line"], 1);
    assert_eq!(
        logged[0]["reason"],
        "epoch 1714570200000000 read as seconds is in the year 54334536, outside the years 1900..2100: give its unit with --epoch-unit, or the years with --years"
    );
    // a date-time outside the years, and the years widened
    fx.write(
        "in/Y_1min.txt",
        b"1850-05-01 09:30:00,1,2,0.5,1.5,7\n2024-05-01 09:30:00,1,2,0.5,1.5,7\n",
    );
    fx.ok(&["load", fx.path("in/Y_1min.txt").to_str().unwrap()], 1);
    assert_eq!(
        errors(&fx)[0]["reason"],
        "time is in the year 1850, outside the years 1900..2100: widen them with --years"
    );
    fx.ok(
        &[
            "load",
            "--force",
            "--years",
            "1800..2100",
            fx.path("in/Y_1min.txt").to_str().unwrap(),
        ],
        0,
    );
    assert!(fx
        .ok(&["symbols"], 0)
        .stdout
        .contains("\nY,1min,none,2,1850-05-01 09:30:00,"));
    fx.fails_with(
        &[
            "load",
            "--years",
            "2100..1900",
            fx.path("in").to_str().unwrap(),
        ],
        2,
        "use FIRST..LAST",
    );
}

/// Paths that cannot be inputs: each is a failure of its own (exit 2), the rest loads.
#[test]
fn fifos_dangling_links_loops_and_unreadable_files_fail_alone() {
    let fx = Fixture::new();
    fx.write("in/OK_1min.txt", GOOD.as_bytes());
    fx.write("in/sub/DEEP_1min.txt", GOOD.as_bytes());
    fx.write("in/bad.zip", b"not a zip");
    let at = |name: &str| fx.path(&format!("in/{name}"));
    let status = std::process::Command::new("mkfifo")
        .arg(at("FIFO_1min.txt"))
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("nowhere", at("GONE_1min.txt")).unwrap();
    std::os::unix::fs::symlink("LOOPB_1min.txt", at("LOOPA_1min.txt")).unwrap();
    std::os::unix::fs::symlink("LOOPA_1min.txt", at("LOOPB_1min.txt")).unwrap();
    std::os::unix::fs::symlink("..", at("sub/up")).unwrap();
    // a file that opens but cannot be read (EIO), even for root
    std::os::unix::fs::symlink("/proc/self/mem", at("MEM_1min.txt")).unwrap();

    let run = fx.ok(&["load", fx.path("in").to_str().unwrap()], 2);
    assert!(
        run.stderr
            .contains("FIFO_1min.txt: skipped: not a regular file"),
        "{}",
        run.stderr
    );
    for (name, why) in [
        ("GONE_1min.txt", "No such file or directory"),
        ("LOOPA_1min.txt", "symbolic links"),
        ("LOOPB_1min.txt", "symbolic links"),
        ("MEM_1min.txt", "Input/output error"),
        ("bad.zip", "invalid Zip archive"),
    ] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.starts_with("failed: ") && l.contains(name))
            .unwrap_or_else(|| panic!("{name} not failed:\n{}", run.stderr));
        assert!(line.contains(why), "{line}");
    }
    // the directory reached again through sub/up is walked once
    assert!(
        run.stderr
            .contains("7 files: 2 loaded, 0 skipped (already loaded), 5 failed"),
        "{}",
        run.stderr
    );
    let symbols = fx.ok(&["symbols"], 0).stdout;
    assert_eq!(rows(&symbols), 2, "{symbols}");
    // named, a FIFO fails; files read whole (actions, a symbols file) refuse it too
    let fifo = at("FIFO_1min.txt");
    let fifo = fifo.to_str().unwrap();
    fx.fails_with(&["load", fifo], 2, "FIFO_1min.txt: not a regular file");
    fx.fails_with(&["actions", "load", fifo], 2, "not a regular file");
    fx.fails_with(&["read", "--symbols-file", fifo], 2, "not a regular file");
}
