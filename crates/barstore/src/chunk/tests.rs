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
    // codec 1 (barstore 0.1's) and codecs of a newer barstore are named, not read
    for codec in [1, 99] {
        let e = decode(2, codec, c.checksum, cols, &mut out).unwrap_err();
        assert_eq!(e, ChunkError::Codec(codec));
        assert_eq!(
            e.to_string(),
            format!("unknown codec {codec}: this version of barstore reads chunks of codec 2 only")
        );
    }
    // a forged checksum over malformed blobs: an error, never wrong bars
    let forged = checksum(&cols);
    let result = decode(3, c.codec, forged, cols, &mut out);
    assert!(
        matches!(result, Err(ChunkError::Malformed(_))),
        "{result:?}"
    );
    assert_eq!(out.len(), 1);
}
