//! `barstore-bench codecs`: the candidates for the chunked layout's column encoding,
//! measured on day chunks of real or generated bars: bytes per bar, encode and decode
//! speed on one core (best of three passes), and a bit-for-bit round-trip check of each.

use barstore::bars::Bars;
use barstore::chunk;
use barstore::zone::{Zone, DAY};
use std::time::Instant;

/// A candidate: encodes a day's columns into blobs, decodes them back.
struct Candidate {
    name: &'static str,
    encode: fn(&Bars) -> Vec<Vec<u8>>,
    decode: fn(&[Vec<u8>], usize) -> Bars,
}

fn columns(b: &Bars) -> [Vec<u8>; 6] {
    let ts = b.ts.iter().flat_map(|t| t.to_le_bytes()).collect();
    let f = |c: &Vec<f64>| c.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    [
        ts,
        f(&b.open),
        f(&b.high),
        f(&b.low),
        f(&b.close),
        f(&b.volume),
    ]
}

fn from_columns(cols: &[Vec<u8>]) -> Bars {
    let f = |c: &[u8]| {
        c.chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect::<Vec<f64>>()
    };
    Bars {
        ts: cols[0]
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        open: f(&cols[1]),
        high: f(&cols[2]),
        low: f(&cols[3]),
        close: f(&cols[4]),
        volume: f(&cols[5]),
    }
}

const CANDIDATES: [Candidate; 6] = [
    Candidate {
        name: "pco ticks: integer ticks and times as pcodec (barstore chunk codec 2)",
        encode: |b| chunk::encode(b, 0..b.len()).columns.to_vec(),
        decode: |cols, n| {
            let mut out = Bars::default();
            let c: [&[u8]; 6] = std::array::from_fn(|i| cols[i].as_slice());
            chunk::decode(n, chunk::PCO, chunk::checksum(&c), c, &mut out).unwrap();
            out
        },
    },
    Candidate {
        name: "raw columns + zstd-1",
        encode: |b| zstd_encode(b, 1),
        decode: zstd_decode,
    },
    Candidate {
        name: "raw columns + zstd-3",
        encode: |b| zstd_encode(b, 3),
        decode: zstd_decode,
    },
    Candidate {
        name: "raw columns + lz4_flex",
        encode: |b| {
            columns(b)
                .map(|c| lz4_flex::compress_prepend_size(&c))
                .to_vec()
        },
        decode: |cols, _| {
            let raw: Vec<Vec<u8>> = cols
                .iter()
                .map(|c| lz4_flex::decompress_size_prepended(c).unwrap())
                .collect();
            from_columns(&raw)
        },
    },
    Candidate {
        name: "pco 1.x (pcodec), default level 8",
        encode: |b| pco_encode(b, pco::DEFAULT_COMPRESSION_LEVEL),
        decode: pco_decode,
    },
    Candidate {
        name: "pco 1.x (pcodec), level 2",
        encode: |b| pco_encode(b, 2),
        decode: pco_decode,
    },
];

fn zstd_encode(b: &Bars, level: i32) -> Vec<Vec<u8>> {
    columns(b)
        .map(|c| zstd::bulk::compress(&c, level).unwrap())
        .to_vec()
}

fn zstd_decode(cols: &[Vec<u8>], n: usize) -> Bars {
    let raw: Vec<Vec<u8>> = cols
        .iter()
        .map(|c| zstd::bulk::decompress(c, n * 8).unwrap())
        .collect();
    from_columns(&raw)
}

fn pco_encode(b: &Bars, level: usize) -> Vec<Vec<u8>> {
    let config = pco::ChunkConfig::default().with_compression_level(level);
    let f = |c: &Vec<f64>| pco::standalone::simple_compress(c, &config).unwrap();
    vec![
        pco::standalone::simple_compress(&b.ts, &config).unwrap(),
        f(&b.open),
        f(&b.high),
        f(&b.low),
        f(&b.close),
        f(&b.volume),
    ]
}

fn pco_decode(cols: &[Vec<u8>], _: usize) -> Bars {
    let f = |c: &[u8]| pco::standalone::simple_decompress::<f64>(c).unwrap();
    Bars {
        ts: pco::standalone::simple_decompress::<i64>(&cols[0]).unwrap(),
        open: f(&cols[1]),
        high: f(&cols[2]),
        low: f(&cols[3]),
        close: f(&cols[4]),
        volume: f(&cols[5]),
    }
}

/// Splits sorted bars into exchange days in `zone`.
pub fn days(bars: &Bars, zone: &Zone) -> Vec<Bars> {
    let mut z = zone.clone();
    let day: Vec<i64> = bars
        .ts
        .iter()
        .map(|&t| z.utc_ms_to_local(t).div_euclid(DAY))
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=bars.len() {
        if i == bars.len() || day[i] != day[start] {
            out.push(bars.slice(start..i));
            start = i;
        }
    }
    out
}

fn same(a: &Bars, b: &Bars) -> bool {
    let bits = |x: &Bars| {
        [&x.open, &x.high, &x.low, &x.close, &x.volume]
            .map(|c| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
    };
    a.ts == b.ts && bits(a) == bits(b)
}

/// Measures every candidate on `days`; one JSON object per candidate.
pub fn measure(label: &str, days: &[Bars]) -> Vec<serde_json::Value> {
    let bars: usize = days.iter().map(Bars::len).sum();
    CANDIDATES
        .iter()
        .map(|c| {
            // best of three: the first pass also pays for faulting in fresh memory
            let (mut encode, mut decode) = (f64::MAX, f64::MAX);
            let (mut encoded, mut decoded) = (Vec::new(), Vec::new());
            for _ in 0..3 {
                let t = Instant::now();
                encoded = days
                    .iter()
                    .map(|d| (c.encode)(d))
                    .collect::<Vec<Vec<Vec<u8>>>>();
                encode = encode.min(t.elapsed().as_secs_f64());
                drop(std::mem::take(&mut decoded));
                let t = Instant::now();
                decoded = encoded
                    .iter()
                    .zip(days)
                    .map(|(e, d)| (c.decode)(e, d.len()))
                    .collect::<Vec<Bars>>();
                decode = decode.min(t.elapsed().as_secs_f64());
            }
            let exact = decoded.iter().zip(days).all(|(a, b)| same(a, b));
            let bytes: usize = encoded.iter().flatten().map(Vec::len).sum();
            serde_json::json!({
                "data": label,
                "codec": c.name,
                "bars": bars,
                "days": days.len(),
                "bytes_per_bar": bytes as f64 / bars as f64,
                "encode_mbars_s": bars as f64 / encode / 1e6,
                "decode_mbars_s": bars as f64 / decode / 1e6,
                "exact": exact,
            })
        })
        .collect()
}
