use super::*;

fn bars(rows: &[(i64, [f64; 5])]) -> Bars {
    let mut b = Bars::default();
    for &r in rows {
        b.push(r);
    }
    b
}

fn round_trip(b: &Bars) -> Bars {
    let c = encode(b, 0..b.len());
    let cols = c.columns.each_ref().map(Vec::as_slice);
    let mut out = Bars::default();
    decode(c.n as usize, c.codec, c.checksum, cols, &mut out).unwrap();
    out
}

fn assert_bits(a: &Bars, b: &Bars) {
    assert_eq!(a.ts, b.ts);
    let bits = |x: &Bars| {
        [&x.open, &x.high, &x.low, &x.close, &x.volume]
            .map(|c| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
    };
    assert_eq!(bits(a), bits(b));
}

#[test]
fn decimal_prices_round_trip_bit_for_bit() {
    let mut rows = Vec::new();
    for i in 0..390 {
        let p = 170.49 + (i % 17) as f64 * 0.01;
        rows.push((
            1_714_570_200_000 + i * 60_000,
            [p, p + 0.05, p - 0.0125, 186.16, 18_053.0 + i as f64],
        ));
    }
    let b = bars(&rows);
    assert_bits(&round_trip(&b), &b);
    let c = encode(&b, 0..b.len());
    let bytes: usize = c.columns.iter().map(Vec::len).sum();
    assert!(bytes < 390 * 6, "{bytes} bytes for 390 bars");
}

/// Values no scale fits: NaN, -0.0, infinities, extremes, binary fractions.
fn odd_values() -> Bars {
    bars(&[
        (-5, [f64::NAN, -0.0, f64::INFINITY, 1e300, f64::NAN]),
        (
            7,
            [
                0.1 + 0.2,
                f64::MIN_POSITIVE,
                f64::NEG_INFINITY,
                123_456_789.123_456_78,
                -0.0,
            ],
        ),
        (i64::MAX / 2, [1.0, 2.0, 3.0, 4.0, 5e-324]),
    ])
}

#[test]
fn any_value_round_trips_through_the_raw_fallback() {
    let b = odd_values();
    assert_bits(&round_trip(&b), &b);
    let one = bars(&[(0, [1.0; 5])]);
    assert_bits(&round_trip(&one), &one);
}

#[test]
fn a_negative_zero_among_whole_values_keeps_its_sign() {
    let b = bars(&[
        (0, [-0.0, 2.0, 1.0, -0.0, 0.0]),
        (60_000, [3.0, -0.0, 1.0, 4.0, -0.0]),
    ]);
    assert_bits(&round_trip(&b), &b);
}

#[test]
fn corruption_is_caught_and_leaves_the_output_untouched() {
    let b = bars(&[(0, [1.5; 5]), (60_000, [1.25; 5])]);
    let mut c = encode(&b, 0..2);
    c.columns[2][1] ^= 0x40;
    let mut out = bars(&[(-1, [9.0; 5])]);
    let cols = c.columns.each_ref().map(Vec::as_slice);
    assert_eq!(
        decode(2, c.codec, c.checksum, cols, &mut out),
        Err(ChunkError::Checksum)
    );
    assert_eq!(
        decode(2, 99, c.checksum, cols, &mut out),
        Err(ChunkError::Codec(99))
    );
    // a forged checksum over malformed blobs: an error, never wrong bars
    let forged = checksum(&cols);
    let result = decode(3, c.codec, forged, cols, &mut out);
    assert!(
        matches!(result, Err(ChunkError::Malformed(_))),
        "{result:?}"
    );
    assert_eq!(out.len(), 1);
}

/// Chunks written by codec 1 (the real sample's 11 days as the chunked layout stored
/// them, and a chunk of odd values) still read, bar for bar.
#[test]
fn chunks_of_codec_1_still_read() {
    use crate::format::{detect, FormatSpec};
    use crate::parse::Parser;
    use crate::zone::Zone;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let stored: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(root.join("chunks/codec1.json")).unwrap()).unwrap();
    let unhex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let mut read = Bars::default();
    for c in &stored {
        assert_eq!(c["codec"], TICKS);
        let blobs: Vec<Vec<u8>> = c["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| unhex(b.as_str().unwrap()))
            .collect();
        let cols: [&[u8]; 6] = std::array::from_fn(|i| blobs[i].as_slice());
        let n = c["n"].as_u64().unwrap() as usize;
        decode(n, TICKS, c["checksum"].as_i64().unwrap(), cols, &mut read).unwrap();
    }
    let text = std::fs::read(root.join("AAPL_1min_sample_headerless.txt")).unwrap();
    let layout = detect(&text, &FormatSpec::Auto, "sample").unwrap();
    let zone = Zone::new("America/New_York").unwrap();
    let mut want = Parser::new(layout, zone).parse_chunk(&text).bars;
    want.sort_dedup_last();
    want.append(&mut odd_values());
    assert_eq!(read.len(), 8507 + 3);
    assert_bits(&read, &want);
}
