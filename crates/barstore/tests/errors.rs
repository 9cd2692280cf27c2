//! Errors by operation: each failing call returns the error type of its operation
//! (option, open, file, read, store), with the underlying error reachable as `source`
//! and `is_retryable` telling a transient failure from a lasting one, also when a store
//! failure happens inside one input file's load. Store failures come from real stores:
//! a locked embedded store, and a real node (`BARSTORE_TEST_CQL`) refusing a consistency
//! level it cannot reach.

use barstore::bars::Bars;
use barstore::bucket::Month;
use barstore::load::{load, LoadOptions, NoProgress};
use barstore::read::read;
use barstore::series::Series;
use barstore::store::{
    self, Cql, CqlOptions, Embedded, ManifestEntry, MonthBars, SeriesInfo, Store,
};
use barstore::zone::Zone;
use barstore::{Error, FileError, OpenError, OptionError, ReadError, StoreError};
use std::collections::HashMap;
use std::error::Error as _;
use std::path::{Path, PathBuf};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

fn opts(dir: &Path) -> LoadOptions {
    LoadOptions {
        errors: dir.join("errors.jsonl"),
        ..LoadOptions::default()
    }
}

#[test]
fn option_values_fail_as_option_errors_naming_the_option() {
    let Err(Error::Option(e)) = store::open("cql://127.0.0.1/k-s", &CqlOptions::default()) else {
        panic!("a hostile keyspace name must be refused before connecting");
    };
    assert_eq!((e.option, e.value.as_str()), ("keyspace name", "k-s"));
    assert!(!Error::from(e).is_retryable());
    let e: OptionError = "7min".parse::<barstore::series::Timeframe>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid timeframe \"7min\": use e.g. 1min, 5min, 15min, 30min, 1h, 1d (minutes and hours must divide a day)"
    );
    let e = Zone::new("Mars/Base").unwrap_err();
    assert_eq!(e.option, "time zone");
}

#[test]
fn opening_a_store_fails_as_an_open_error() {
    let url = "cql://127.0.0.1:9042";
    let Err(Error::Open(OpenError::Url { url: given, reason })) =
        store::open(url, &CqlOptions::default())
    else {
        panic!("a URL without a keyspace must be refused");
    };
    assert_eq!((given.as_str(), reason.as_str()), (url, "no keyspace"));

    // nothing listens on port 1: the driver's error is the source, and a later run may
    // find the cluster up
    let e = store::open(
        "cql://127.0.0.1:1/ks",
        &CqlOptions {
            attempts: Some(1),
            ..CqlOptions::default()
        },
    )
    .err()
    .expect("nothing listens on port 1");
    assert!(matches!(e, Error::Open(OpenError::Connect { .. })), "{e}");
    assert!(e.is_retryable());
    let driver = e.source().expect("the driver's error is kept");
    assert!(
        driver.is::<scylla::errors::NewSessionError>(),
        "source: {driver:?}"
    );
    assert!(e.to_string().contains(&driver.to_string()), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("missing-ca.pem");
    let e = store::open(
        "cql://127.0.0.1:1/ks",
        &CqlOptions {
            tls: true,
            tls_ca: Some(ca.clone()),
            ..CqlOptions::default()
        },
    )
    .err()
    .expect("a missing CA file");
    let Error::Open(OpenError::Tls { detail, source }) = &e else {
        panic!("{e}");
    };
    assert_eq!(
        detail,
        &format!("cannot use {} as a CA certificate", ca.display())
    );
    assert!(!source.errors().is_empty());
    assert!(!e.is_retryable());
}

#[test]
fn a_bad_file_fails_alone_as_a_file_error_and_the_others_load() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(
        sample("AAPL_1min_sample_headerless.txt"),
        input.join("AAPL_1min_sample_headerless.txt"),
    )
    .unwrap();
    std::fs::write(input.join("JUNK_1min.csv"), "hello,world\nnot,bars\n").unwrap();
    std::fs::write(
        input.join("A=B_1min.txt"),
        "2024-05-01 09:30:00,1,1,1,1,1\n",
    )
    .unwrap();
    let store = Embedded::new(dir.path().join("store"));
    let report = load(&store, &[input], &opts(dir.path()), &NoProgress).unwrap();
    assert_eq!((report.files, report.loaded), (3, 1));
    let failed: HashMap<&str, &FileError> = report
        .failed
        .iter()
        .map(|(file, e)| (file.rsplit('/').next().unwrap(), e))
        .collect();
    let junk = failed["JUNK_1min.csv"];
    assert!(matches!(junk, FileError::Unrecognised { .. }), "{junk}");
    assert!(junk.is_per_file() && !junk.is_retryable());
    let named = failed["A=B_1min.txt"];
    let FileError::Name { source, .. } = named else {
        panic!("{named}");
    };
    assert_eq!((source.option, source.value.as_str()), ("symbol", "A=B"));
    assert!(
        named.to_string().ends_with(
            "A=B_1min.txt: invalid symbol \"A=B\": character '=' is not allowed (letters, digits, '.', '-', '_' only)"
        ),
        "{named}"
    );
}

#[test]
fn reads_fail_as_read_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path().join("store"));
    load(
        &store,
        &[sample("AAPL_1min_sample_headerless.txt")],
        &opts(dir.path()),
        &NoProgress,
    )
    .unwrap();
    // what a front does: the choices resolved (bounds parsed), then the read
    let ask = |symbol: &str, start: Option<&str>, end: Option<&str>| {
        let choices = barstore::settings::ReadChoices {
            symbol: symbol.into(),
            start: start.map(Into::into),
            end: end.map(Into::into),
            ..Default::default()
        };
        match choices.resolve() {
            Ok(req) => read(&store, &req).expect_err("the read must fail"),
            Err(e) => e,
        }
    };
    let e = ask("MSFT", None, None);
    assert!(
        matches!(&e, Error::Read(ReadError::UnknownSymbol(s)) if s == "MSFT"),
        "{e}"
    );
    let e = ask("AAPL", Some("2024-05-09"), Some("2024-05-08"));
    assert!(matches!(e, Error::Read(ReadError::Range { .. })), "{e}");
    assert_eq!(e.to_string(), "start 2024-05-09 is after end 2024-05-08");
    let e = ask("AAPL", Some("2024-05-32"), None);
    assert!(
        matches!(e, Error::Option(OptionError { option: "time", .. })),
        "{e}"
    );
}

#[test]
fn a_version_the_store_lacks_fails_as_a_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::new(dir.path().join("store"));
    load(
        &store,
        &[sample("AAPL_1min_sample_headerless.txt")],
        &opts(dir.path()),
        &NoProgress,
    )
    .unwrap();
    for (as_of, why) in [
        (
            store::AsOf::Version(7),
            "there is no version 7: the versions are 0 to 1",
        ),
        (
            store::AsOf::Snapshot("friday".into()),
            "there is no snapshot named friday",
        ),
    ] {
        let Err(e) = store.view(Some(&as_of)) else {
            panic!("{as_of:?} read");
        };
        assert!(
            matches!(e, Error::Store(StoreError::NoVersion { .. })),
            "{e}"
        );
        assert!(e.to_string().contains(why), "{e}");
        assert!(!e.is_retryable());
    }
}

/// An embedded store whose bars go to a CQL store instead: the manifest and everything
/// else stay local, so the first request the node sees is the first write of a file.
struct WritesTo {
    local: Embedded,
    cql: Cql,
}

impl Store for WritesTo {
    fn location(&self) -> String {
        self.cql.location()
    }
    fn begin_load(&self) -> barstore::Result<()> {
        self.local.begin_load()
    }
    fn zone_of(&self, series: &Series) -> barstore::Result<Option<String>> {
        self.local.zone_of(series)
    }
    fn upsert(&self, series: &Series, zone: &Zone, months: Vec<MonthBars>) -> barstore::Result<()> {
        self.cql.upsert(series, zone, months)
    }
    fn scan(&self, series: &Series, start: i64, end: i64) -> barstore::Result<Bars> {
        self.local.scan(series, start, end)
    }
    fn months(&self, series: &Series) -> barstore::Result<Vec<Month>> {
        self.local.months(series)
    }
    fn series_of(&self, symbol: &str) -> barstore::Result<Vec<Series>> {
        self.local.series_of(symbol)
    }
    fn series(&self) -> barstore::Result<Vec<SeriesInfo>> {
        self.local.series()
    }
    fn manifest(&self, sources: &[String]) -> barstore::Result<HashMap<String, ManifestEntry>> {
        self.local.manifest(sources)
    }
    fn record(&self, entries: &[ManifestEntry]) -> barstore::Result<()> {
        self.local.record(entries)
    }
    fn actions(&self, symbol: Option<&str>) -> barstore::Result<Vec<barstore::actions::Action>> {
        self.local.actions(symbol)
    }
    fn put_actions(&self, actions: &[barstore::actions::Action]) -> barstore::Result<()> {
        self.local.put_actions(actions)
    }
}

#[test]
fn a_transient_store_failure_inside_a_file_names_the_file_and_stays_retryable() {
    let Some(node) = barstore::testing::cql_node(
        "errors::a_transient_store_failure_inside_a_file_names_the_file_and_stays_retryable",
    ) else {
        return;
    };
    let ks = format!("errors_{}", std::process::id());
    let url = format!("cql://{node}/{ks}");
    // the tables, made at the default consistency
    let setup = Cql::connect(&url, CqlOptions::default()).unwrap();
    setup.begin_load().unwrap();
    // one node cannot give TWO replicas: the node answers "unavailable", a failure that
    // passes once the cluster has its nodes back
    let two = Cql::connect(
        &url,
        CqlOptions {
            consistency: barstore::store::cql::consistency("TWO").unwrap(),
            attempts: Some(1),
            ..CqlOptions::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = WritesTo {
        local: Embedded::new(dir.path().join("store")),
        cql: two,
    };
    let file = sample("AAPL_1min_sample_headerless.txt");
    let e = load(
        &store,
        std::slice::from_ref(&file),
        &opts(dir.path()),
        &NoProgress,
    )
    .unwrap_err();
    let drop = setup.block_on(
        setup
            .session()
            .query_unpaged(format!("DROP KEYSPACE IF EXISTS {ks}"), ()),
    );
    let Error::File(failure) = &e else {
        panic!("{e}");
    };
    // a store failure stops the load (the next file would meet the same cluster)
    assert!(!failure.is_per_file() && failure.is_retryable());
    let FileError::Store {
        file: named,
        source,
    } = failure
    else {
        panic!("{failure}");
    };
    assert_eq!(Path::new(named), std::path::absolute(&file).unwrap());
    assert!(
        e.to_string()
            .starts_with(&format!("{named}: indexing AAPL 1min ")),
        "{e}"
    );
    assert!(matches!(source, StoreError::Cql { .. }), "{source}");
    assert!(source.is_retryable() && e.is_retryable(), "{e}");
    let driver = source.source().expect("the driver's error is kept");
    assert!(
        driver.is::<scylla::errors::ExecutionError>(),
        "source: {driver:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("gave up after 1 attempt at TWO: unavailable: TWO needs 2 replicas, 1 alive"),
        "{text}"
    );
    // nothing of the file is recorded as loaded: the next run loads it again
    assert!(store
        .manifest(std::slice::from_ref(named))
        .unwrap()
        .is_empty());
    drop.unwrap();
}
