use super::*;
use Field::*;

fn auto(text: &str) -> Layout {
    detect(text.as_bytes(), &FormatSpec::Auto, "t.csv").unwrap()
}

#[test]
fn firstrate_headerless() {
    let l = auto("2024-04-29 04:00:00,170.49,171.99,170.49,171.75,18053\r\n");
    assert_eq!(l.fields, vec![DateTime, Open, High, Low, Close, Volume]);
    assert_eq!((l.delimiter, l.header), (b',', false));
}

#[test]
fn header_with_extra_columns_in_any_order_and_case() {
    let l = auto("Symbol;CLOSE;Open;High;Low;Volume;Timestamp\nX;1;1;1;1;5;2024-01-02T09:30:00\n");
    assert_eq!(
        l.fields,
        vec![Skip, Close, Open, High, Low, Volume, DateTime]
    );
    assert_eq!((l.delimiter, l.header), (b';', true));
}

#[test]
fn header_naming_fewer_columns_than_the_data_falls_back_to_the_data() {
    let l = auto("Date,Open,High,Low,Close,Volume,OpenInterest\n2006-01-02,09:01:00,3602.00,3603.00,3597.00,3599.00,5699,0\n");
    assert_eq!(
        l.fields,
        vec![Date, Time, Open, High, Low, Close, Volume, Skip]
    );
    assert!(l.header);
}

#[test]
fn split_date_time_tabs_epochs_and_no_volume() {
    assert_eq!(
        auto("20240102\t09:30\t1\t2\t0.5\t1.5\t10\n").fields,
        vec![Date, Time, Open, High, Low, Close, Volume]
    );
    assert_eq!(
        auto("1704205800,1,2,0.5,1.5,10\n").fields,
        vec![Epoch(None), Open, High, Low, Close, Volume]
    );
    assert_eq!(
        auto("time,open,high,low,close\n1704205800000,1,2,0.5,1.5\n").fields,
        vec![Epoch(None), Open, High, Low, Close]
    );
    assert_eq!(
        auto("2024/01/02 09:30:00, 1, 2, 0.5, 1.5\n").fields,
        vec![DateTime, Open, High, Low, Close]
    );
}

#[test]
fn unrecognisable_files_suggest_format() {
    for text in [
        "",
        "hello,world\nfoo,bar\n",
        "2024-01-02 09:30:00,1,2\n",
        "a,b\n",
    ] {
        let err = detect(text.as_bytes(), &FormatSpec::Auto, "bad.csv")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bad.csv: cannot recognise"), "{err}");
        assert!(err.contains("state the format"), "{err}");
    }
}

#[test]
fn format_specs() {
    assert_eq!(
        "firstrate".parse::<FormatSpec>().unwrap(),
        FormatSpec::Fields(vec![DateTime, Open, High, Low, Close, Volume])
    );
    assert_eq!(
        "date,time,open,high,low,close,skip"
            .parse::<FormatSpec>()
            .unwrap(),
        FormatSpec::Fields(vec![Date, Time, Open, High, Low, Close, Skip])
    );
    let err = "datetime,open,high,low"
        .parse::<FormatSpec>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("close exactly once"), "{err}");
    let err = "datetime,open,hi"
        .parse::<FormatSpec>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field \"hi\""), "{err}");
    let err = "time,open,high,low,close"
        .parse::<FormatSpec>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("date and time, or date"), "{err}");
    // a date alone is a daily bar's
    assert_eq!(
        "date,open,high,low,close".parse::<FormatSpec>().unwrap(),
        FormatSpec::Fields(vec![Date, Open, High, Low, Close])
    );
    assert_eq!(
        auto("2024-05-01,170.5,172.7,169.1,170.31,38772277\n").fields,
        vec![Date, Open, High, Low, Close, Volume]
    );
}
