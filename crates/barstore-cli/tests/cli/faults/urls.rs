//! Store locations: a mistyped URL never becomes a directory, and a password never
//! shows.

use crate::common::*;

#[test]
fn a_location_with_an_unknown_or_malformed_scheme_is_refused_not_made_a_directory() {
    for (url, says) in [
        ("cql:/host/ks", "write cql://host/keyspace"),
        ("CQL:host/ks", "write CQL://host/keyspace"),
        (
            "scylladb://host/ks",
            "unknown scheme \"scylladb\": barstore knows cql://, scylla://, cassandra://",
        ),
        ("s3://bucket/bars", "unknown scheme \"s3\""),
    ] {
        let fx = Fixture::at(url);
        fx.fails_with(
            &[
                "load",
                crate::common::data("AAPL_1min_sample.csv")
                    .to_str()
                    .unwrap(),
            ],
            2,
            says,
        );
        let made: Vec<_> = std::fs::read_dir(fx.dir.path()).unwrap().collect();
        assert!(made.is_empty(), "{url}: {made:?}");
    }
    // a scheme in any case is the CQL store (here: nothing listens)
    let fx = Fixture::at("CQL://127.0.0.1:1/ks");
    fx.fails_with(&["symbols"], 2, "cannot connect to 127.0.0.1:1");
    // a directory whose name holds a colon is written as a path
    let fx = Fixture::at("./data:2024");
    fx.ok(
        &[
            "load",
            crate::common::data("AAPL_1min_sample.csv")
                .to_str()
                .unwrap(),
        ],
        0,
    );
    assert!(fx.path("data:2024/_barstore").is_dir());
}

#[test]
fn a_password_in_the_url_is_refused_without_showing_it() {
    let fx = Fixture::at("cql://loader:hunter2@127.0.0.1:1/ks");
    let run = fx.fails_with(
        &["symbols"],
        2,
        "invalid store URL \"cql://loader:***@127.0.0.1:1/ks\": credentials do not go in the store URL",
    );
    assert!(
        run.stderr.contains("BARSTORE_CQL_PASSWORD"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    // given as it should be, it shows in no message nor log of barstore's or the driver's
    let fx = Fixture::at("cql://127.0.0.1:1/ks");
    let run: Run = fx
        .command(&["symbols", "--cql-user", "loader"])
        .env("BARSTORE_LOG", "trace")
        .env("BARSTORE_CQL_PASSWORD", "hunter2")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}
