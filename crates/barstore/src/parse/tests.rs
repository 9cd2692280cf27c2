use super::*;
use crate::format::{detect, FormatSpec};

fn parse(text: &str) -> Parsed {
    parse_in(text, "America/New_York")
}

fn parse_in(text: &str, zone: &str) -> Parsed {
    let layout = detect(text.as_bytes(), &FormatSpec::Auto, "t").unwrap();
    let skip = if layout.header {
        text.find('\n').unwrap() + 1
    } else {
        0
    };
    Parser::new(layout, Zone::new(zone).unwrap()).parse_chunk(&text.as_bytes()[skip..])
}

fn utc(y: i64, m: u32, d: u32, hh: i64, mm: i64) -> i64 {
    (days_from_civil(y, m, d) * DAY + hh * 3600 + mm * 60) * 1000
}

fn reasons(p: &Parsed) -> Vec<(u64, &str)> {
    p.rejects
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect()
}

#[test]
fn firstrate_rows_become_utc() {
    let p = parse("2024-04-29 09:30:00,170.49,171.99,170.4,171.75,18053\r\n2024-01-02 09:30:00,1,2,0.5,1.5,7\r\n");
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    assert_eq!(
        p.bars.ts,
        vec![utc(2024, 4, 29, 13, 30), utc(2024, 1, 2, 14, 30)]
    );
    assert_eq!(p.bars.open, vec![170.49, 1.0]);
    assert_eq!(p.bars.high, vec![171.99, 2.0]);
    assert_eq!(p.bars.low, vec![170.4, 0.5]);
    assert_eq!(p.bars.close, vec![171.75, 1.5]);
    assert_eq!(p.bars.volume, vec![18053.0, 7.0]);
    assert_eq!(p.months[0].to_string(), "2024-04");
    assert_eq!(p.lines, vec![1, 2]);
    assert_eq!(p.line_count, 2);
}

#[test]
fn every_layout_gives_the_same_instant() {
    let expected = utc(2024, 1, 2, 14, 30);
    for text in [
        "2024-01-02 09:30:00,1,2,0.5,1.5,7\n",
        "2024-01-02T09:30:00,1,2,0.5,1.5,7\n",
        "2024-01-02T09:30,1,2,0.5,1.5,7\n",
        "2024/01/02 09:30:00,1,2,0.5,1.5,7\n",
        "20240102,09:30:00,1,2,0.5,1.5,7\n",
        "2024-01-02;09:30;1;2;0.5;1.5;7\n",
        "2024-01-02\t09:30:00\t1\t2\t0.5\t1.5\t7\n",
        "  2024-01-02 09:30:00 , 1 , 2 , 0.5 , 1.5 , 7  \r\n",
        "\"2024-01-02 09:30:00\",\"1\",\"2\",\"0.5\",\"1.5\",\"7\"\n",
        "1704205800,1,2,0.5,1.5,7\n",
        "1704205800000,1,2,0.5,1.5,7\n",
        "2024-01-02T14:30:00Z,1,2,0.5,1.5,7\n",
        "2024-01-02T09:30:00-05:00,1,2,0.5,1.5,7\n",
        "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,09:30:00,1,2,0.5,1.5,7\n",
        "volume,close,low,high,open,timestamp\n7,1.5,0.5,2,1,2024-01-02 09:30:00\n",
    ] {
        let p = parse(text);
        assert!(p.rejects.is_empty(), "{text:?}: {:?}", p.rejects);
        assert_eq!(p.bars.ts, vec![expected], "{text:?}");
        assert_eq!(p.bars.row(0).1, [1.0, 2.0, 0.5, 1.5, 7.0], "{text:?}");
    }
}

#[test]
fn missing_volume_is_nan() {
    let p = parse("2024-01-02 09:30:00,1,2,0.5,1.5\n");
    assert!(p.bars.volume[0].is_nan());
    let p = parse("2024-01-02 09:30:00,1,2,0.5,1.5,\n2024-01-02 09:31:00,1,2,0.5,1.5,3\n");
    assert!(p.rejects.is_empty());
    assert!(p.bars.volume[0].is_nan());
}

#[test]
fn each_rejection_kind_names_its_line_and_reason() {
    let p = parse(concat!(
        "2024-01-02 09:30:00,1,2,0.5,1.5,7\n",
        "2024-01-02 09:31:00,1,2,0.5,1.5\n",
        "2024-01-02 09:32:00,1,2,0.5,1.5,7,9\n",
        "2024-01-02 09:33:00,1,abc,0.5,1.5,7\n",
        "2024-13-02 09:34:00,1,2,0.5,1.5,7\n",
        "2024-01-02 25:00:00,1,2,0.5,1.5,7\n",
        "2024-01-02 09:35:00,inf,2,0.5,1.5,7\n",
        "2024-01-02 09:36:00,NaN,2,0.5,1.5,7\n",
        "2024-01-02 09:37:00,0,2,0.5,1.5,7\n",
        "2024-01-02 09:38:00,1,2,-0.5,1.5,7\n",
        "2024-01-02 09:39:00,1,2,0.5,1.5,-7\n",
        "2024-01-02 09:40:00,1,0.5,2,1.5,7\n",
        "2024-01-02 09:41:00,3,2,0.5,1.5,7\n",
        "\n",
        "2024-03-10 02:30:00,1,2,0.5,1.5,7\n",
        "2024-01-02 09:42:00,1,2,0.5,1.5,7\n",
    ));
    assert_eq!(
        reasons(&p),
        vec![
            (2, "expected 6 fields, found 5"),
            (3, "expected 6 fields, found 7"),
            (4, "field 3 (high): cannot parse \"abc\" as a number"),
            (
                5,
                "field 1 (datetime): cannot parse \"2024-13-02 09:34:00\" as a date-time"
            ),
            (
                6,
                "field 1 (datetime): cannot parse \"2024-01-02 25:00:00\" as a date-time"
            ),
            (7, "open is not a finite number (inf)"),
            (8, "open is not a finite number (NaN)"),
            (9, "open is not positive (0)"),
            (10, "low is not positive (-0.5)"),
            (11, "volume is negative (-7)"),
            (12, "high 0.5 is below low 2"),
            (
                13,
                "open 3 or close 1.5 is outside [low 0.5, high 2]; loaded as is"
            ),
            (
                15,
                "time does not exist in America/New_York (skipped by a daylight-saving change)"
            ),
        ]
    );
    assert_eq!(p.rejects[11].severity, Severity::Warning);
    assert_eq!(p.rejects[0].raw, "2024-01-02 09:31:00,1,2,0.5,1.5");
    // the good rows around the bad ones all load, the warned one too
    assert_eq!(p.lines, vec![1, 13, 16]);
    assert_eq!(p.line_count, 16);
}

#[test]
fn dst_fold_and_month_of_exchange_date() {
    let p = parse("2024-11-03 01:30:00,1,2,0.5,1.5,7\n2024-01-31 20:00:00,1,2,0.5,1.5,7\n");
    assert_eq!(p.bars.ts[0], utc(2024, 11, 3, 5, 30));
    assert_eq!(p.months[1].to_string(), "2024-01");
    let p = parse_in("2024-01-31 20:00:00,1,2,0.5,1.5,7\n", "UTC");
    assert_eq!(p.bars.ts[0], utc(2024, 1, 31, 20, 0));
}

#[test]
fn fractional_seconds_keep_milliseconds() {
    let p = parse_in("2024-01-02 09:30:00.25,1,2,0.5,1.5,7\n", "UTC");
    assert_eq!(p.bars.ts[0], utc(2024, 1, 2, 9, 30) + 250);
}
