//! Input containers and layouts: .gz, .zip, directories, other CSV shapes.

use crate::common::*;

both_stores!(
    gz_and_zip_inputs_load_like_plain_files,
    other_csv_layouts_give_the_same_bars,
    explicit_format_overrides_detection,
    dst_gap_rows_are_rejected_and_fold_rows_kept
);
use std::io::Write;

fn gz_and_zip_inputs_load_like_plain_files(fx: Fixture) {
    let text = std::fs::read(data("AAPL_1min_sample_headerless.txt")).unwrap();
    let gz_path = fx.path("in/AAPL_full_1min_adjsplit.txt.gz");
    std::fs::create_dir_all(gz_path.parent().unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&text).unwrap();
    gz.finish().unwrap();

    let zip_path = fx.path("in/more.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("bars/DBB_1min.csv", opts).unwrap();
    zip.write_all(&std::fs::read(data("DBB_1min_2023-07-10_to_2025-07-08.csv")).unwrap())
        .unwrap();
    zip.start_file("MSFT_1min.csv", opts).unwrap();
    zip.write_all(b"2024-01-02 09:30:00,1,2,0.5,1.5,7\n")
        .unwrap();
    zip.finish().unwrap();

    let run = fx.ok(&["load", fx.path("in").to_str().unwrap()], 0);
    assert!(run.stderr.contains("3 files: 3 loaded"), "{}", run.stderr);
    let symbols = fx.ok(&["symbols"], 0).stdout;
    assert!(symbols.contains("\nAAPL,1min,adjsplit,8507,"), "{symbols}");
    assert!(symbols.contains("\nDBB,1min,none,38964,"), "{symbols}");
    assert!(symbols.contains("\nMSFT,1min,none,1,"), "{symbols}");
    let want = csv_bars(&String::from_utf8(text).unwrap());
    assert_eq!(csv_bars(&fx.ok(&["read", "AAPL"], 0).stdout), want);
    fx.ok(&["verify", fx.path("in").to_str().unwrap()], 0);
    let again = fx.ok(&["load", fx.path("in").to_str().unwrap()], 0);
    assert!(again.stderr.contains("3 skipped"), "{}", again.stderr);
}

fn other_csv_layouts_give_the_same_bars(fx: Fixture) {
    let layouts: [(&str, &[u8]); 6] = [
        ("A.csv", b"\xEF\xBB\xBFDate;Time;Open;High;Low;Close;Volume\r\n2024-01-02;09:30:00;1;2;0.5;1.5;7\r\n2024-01-02;09:31:00;1.5;2;1;1.75;8\r\n"),
        ("B.csv", b"timestamp,open,high,low,close,volume,vwap\n1704205800,1,2,0.5,1.5,7,1.1\n1704205860000,1.5,2,1,1.75,8,1.2\n"),
        ("C.tsv", b"20240102 09:30\t1\t2\t0.5\t1.5\t7\n20240102 09:31\t1.5\t2\t1\t1.75\t8\n"),
        ("D.csv", b"2024-01-02T09:31:00, 1.5, 2, 1, 1.75, 8\n2024-01-02T09:30:00, 1, 2, 0.5, 1.5, 7\n"),
        ("E.txt", b"2024/01/02 09:30:00,1,2,0.5,1.5,7\n2024/01/02 09:31:00,1.5,2,1,1.75,8\n"),
        ("F.csv", b"datetime,open,high,low,close\n2024-01-02 09:30:00,1,2,0.5,1.5\n2024-01-02 09:31:00,1.5,2,1,1.75\n"),
    ];
    for (name, text) in layouts {
        fx.write(&format!("in/{name}"), text);
    }
    let run = fx.ok(&["load", fx.path("in").to_str().unwrap()], 0);
    assert!(
        run.stderr.contains("12 rows loaded, 0 rejected"),
        "{}",
        run.stderr
    );
    for sym in ["A", "B", "C", "D", "E"] {
        assert_eq!(
            fx.ok(&["read", sym], 0).stdout,
            "timestamp,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,0.5,1.5,7\n2024-01-02 09:31:00,1.5,2,1,1.75,8\n",
            "{sym}"
        );
    }
    // index data without volume: the column stays empty
    assert_eq!(
        fx.ok(&["read", "F"], 0).stdout,
        "timestamp,open,high,low,close,volume\n2024-01-02 09:30:00,1,2,0.5,1.5,\n2024-01-02 09:31:00,1.5,2,1,1.75,\n"
    );
}

fn explicit_format_overrides_detection(fx: Fixture) {
    // close before open: detection would take the first price as open
    let src = fx.write("Q.csv", b"2024-01-02 09:30:00,1.5,2,0.5,1,7\n");
    fx.ok(
        &[
            "load",
            "--format",
            "datetime,close,high,low,open,volume",
            src.to_str().unwrap(),
        ],
        0,
    );
    assert!(fx
        .ok(&["read", "Q"], 0)
        .stdout
        .ends_with("09:30:00,1,2,0.5,1.5,7\n"));
    let run = fx.run(&["load", "--format", "datetime,open", src.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("needs the field high exactly once"),
        "{}",
        run.stderr
    );
}

fn dst_gap_rows_are_rejected_and_fold_rows_kept(fx: Fixture) {
    let src = fx.write(
        "ES.csv",
        b"2024-03-10 01:59:00,1,1,1,1,1\n2024-03-10 02:30:00,1,1,1,1,1\n2024-03-10 03:00:00,1,1,1,1,1\n2024-11-03 01:30:00,1,1,1,1,1\n",
    );
    fx.fails_with(
        &["load", src.to_str().unwrap()],
        1,
        "3 rows loaded, 1 rejected",
    );
    let log = std::fs::read_to_string(fx.path("barstore-errors.jsonl")).unwrap();
    assert!(
        log.contains(r#""line":2"#) && log.contains("skipped by a daylight-saving change"),
        "{log}"
    );
    let out = fx.ok(&["read", "ES", "--tz", "UTC"], 0).stdout;
    assert_eq!(
        out,
        "timestamp,open,high,low,close,volume\n2024-03-10 06:59:00,1,1,1,1,1\n2024-03-10 07:00:00,1,1,1,1,1\n2024-11-03 05:30:00,1,1,1,1,1\n"
    );
}
