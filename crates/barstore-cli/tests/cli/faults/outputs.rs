//! Output files appear whole or not at all.

use crate::common::*;

/// A many-symbol read that fails after writing its first groups leaves no file, or the
/// previous one, whatever the format; a read that succeeds replaces it.
#[test]
fn a_failed_read_leaves_no_file_or_the_previous_one() {
    let fx = Fixture::new();
    // more symbols than a streamed read takes in one group, the last one unreadable
    for i in 0..40 {
        fx.write(
            &format!("in/S{i:02}_1min.txt"),
            b"2024-05-01 09:30:00,1,2,0.5,1.5,7\n2024-05-01 09:31:00,1,2,0.5,1.5,7\n",
        );
    }
    fx.ok(&["load", fx.path("in").to_str().unwrap()], 0);
    let [last] = &fx.data_files("bars/symbol=S39/timeframe=1min/adjustment=none/year=2024")[..]
    else {
        panic!("one file per year after one load");
    };
    let last = last.clone();
    let good = std::fs::read(&last).unwrap();
    std::fs::write(&last, b"PAR1 not a parquet file PAR1").unwrap();
    for name in ["out.csv", "out.parquet"] {
        fx.ok(&["read", "--all", "-o", name], 2);
        assert!(!fx.path(name).exists(), "{name} was left behind");
        fx.write(name, b"previous");
        fx.ok(&["read", "--all", "-o", name], 2);
        assert_eq!(std::fs::read(fx.path(name)).unwrap(), b"previous");
    }
    let left: Vec<_> = std::fs::read_dir(fx.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    std::fs::write(&last, good).unwrap();
    fx.ok(&["read", "--all", "-o", "out.csv"], 0);
    assert_eq!(
        rows(&std::fs::read_to_string(fx.path("out.csv")).unwrap()),
        80
    );
}
