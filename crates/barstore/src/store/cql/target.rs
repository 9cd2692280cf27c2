//! Where a CQL store is and how to talk to it: the store URL, the connection options,
//! and the validation of every name that is spliced into CQL text.
//!
//! Keyspace and table names cannot be bound as statement parameters, so they are the
//! one place injection could happen; [`identifier`] admits only what CQL calls an
//! unquoted identifier, and every DDL fragment taken from the user (replication,
//! compaction) is rebuilt from validated parts rather than passed through.

use crate::defaults;
use crate::error::{Error, OpenError, OptionError, Result, StoreError};
use scylla::statement::{Consistency, SerialConsistency};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The layout named by a store URL (`?layout=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A CQL row per bar.
    Typed,
    /// The earlier notebook's table.
    Text,
    /// A CQL row per series-day of compressed columns.
    Chunked,
    /// Whichever an existing table has; a new table is chunked.
    Auto,
}

impl Kind {
    /// The URL name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Typed => "typed",
            Kind::Text => "text",
            Kind::Chunked => "chunked",
            Kind::Auto => "auto",
        }
    }

    /// The layout of a URL name.
    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Typed, Kind::Text, Kind::Chunked, Kind::Auto]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// The layout of an existing table from its column names, when it is one of ours.
    pub fn of_columns(columns: &[String]) -> Option<Kind> {
        let has = |c: &str| columns.iter().any(|n| n == c);
        if has("chunk_codec") {
            Some(Kind::Chunked)
        } else if has("ts") {
            Some(Kind::Typed)
        } else if has("timestamp") {
            Some(Kind::Text)
        } else {
            None
        }
    }
}

/// A parsed `cql://host1[:port][,host2...]/keyspace[?table=NAME&layout=auto|chunked|typed|text&tz=ZONE]` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `host:port` of each contact point.
    pub hosts: Vec<String>,
    /// The keyspace.
    pub keyspace: String,
    /// The bars table.
    pub table: String,
    /// The bars table's layout (`auto`: the existing table's; chunked for a new one).
    pub layout: Kind,
    /// Exchange zone of the text layout's wall-clock timestamps (`&tz=`, default
    /// America/New_York); the other layouts record each series' zone in the index.
    pub zone: String,
}

/// Checks an unquoted CQL identifier: a letter, then letters, digits or `_`, at most
/// `max` characters. Quoting is never used, so names are case-insensitive as CQL's are.
pub fn identifier(kind: &'static str, name: &str, max: usize) -> Result<String, OptionError> {
    let ok = name.len() <= max
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(OptionError::new(
            kind,
            name,
            format!("use a letter then letters, digits or '_', at most {max} characters"),
        ))
    }
}

/// The URL schemes of CQL stores (any case).
pub const SCHEMES: [&str; 3] = ["cql", "scylla", "cassandra"];

/// The scheme of a location that starts with one (`name:`, RFC 3986: a letter, then
/// letters, digits, `+`, `-` or `.`). A single letter is a drive (`C:`), not a scheme.
fn scheme(location: &str) -> Option<&str> {
    let (scheme, _) = location.split_once(':')?;
    let ok = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

/// Is `url` a CQL store URL (rather than an embedded store path)?
pub fn is_cql_url(url: &str) -> bool {
    scheme(url).is_some_and(|s| SCHEMES.iter().any(|k| k.eq_ignore_ascii_case(s)))
        && url[url.find(':').expect("a scheme") + 1..].starts_with("//")
}

/// Refuses a location that starts with a scheme (`name:`) but is not a CQL URL: a
/// mistyped URL must not become a directory of that name.
pub fn check_location(location: &str) -> Result<(), OpenError> {
    match scheme(location) {
        Some(_) if is_cql_url(location) => Ok(()),
        Some(scheme) => Err(OpenError::Url {
            url: redact(location),
            reason: if SCHEMES.iter().any(|k| k.eq_ignore_ascii_case(scheme)) {
                format!("write {scheme}://host/keyspace")
            } else {
                format!(
                    "unknown scheme {scheme:?}: barstore knows {}; a directory whose name holds a colon is written ./{location}",
                    SCHEMES.map(|k| format!("{k}://")).join(", ")
                )
            },
        }),
        None => Ok(()),
    }
}

/// `url` with the password of a `user:password@` part replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => {
            let user = &url[start..start + at];
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{}{user}:***{}", &url[..start], &url[start + at..])
        }
        None => url.to_string(),
    }
}

impl std::str::FromStr for Target {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self> {
        let bad = |why: &str| OpenError::Url {
            url: redact(url),
            reason: why.to_string(),
        };
        let rest = url.split_once("://").ok_or_else(|| bad("no scheme"))?.1;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hosts, keyspace) = rest.split_once('/').ok_or_else(|| bad("no keyspace"))?;
        if hosts.contains('@') {
            return Err(bad(
                "credentials do not go in the store URL: give the user with --cql-user (or BARSTORE_CQL_USER, Python: user=) and the password in BARSTORE_CQL_PASSWORD (Python: password=)",
            )
            .into());
        }
        let hosts = hosts
            .split(',')
            .map(|h| {
                let (host, port) = match h.rsplit_once(':') {
                    Some((host, port)) if !host.ends_with(']') || h.starts_with('[') => {
                        (host, port)
                    }
                    _ => (h, defaults::CQL_PORT),
                };
                let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
                let host_ok = !host.is_empty()
                    && host.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                    });
                if !host_ok {
                    return Err(bad("bad host").into());
                }
                Ok(format!("{host}:{port}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let keyspace = identifier("keyspace name", keyspace, 48)?;
        let mut table = defaults::TABLE.to_string();
        let mut layout = Kind::Auto;
        let mut zone = crate::defaults::ZONE.to_string();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("table", t)) => table = identifier("table name", t, 38)?,
                Some(("layout", name)) if Kind::from_name(name).is_some() => {
                    layout = Kind::from_name(name).expect("checked")
                }
                Some(("tz", z)) => zone = crate::zone::Zone::new(z)?.name().to_string(),
                _ => return Err(bad(&format!("unknown option {pair:?}")).into()),
            }
        }
        Ok(Target {
            hosts,
            keyspace,
            table,
            layout,
            zone,
        })
    }
}

impl Target {
    /// A schema error on the bars table.
    pub fn schema_error(&self, detail: impl fmt::Display) -> Error {
        StoreError::Schema {
            table: format!("{}.{}", self.keyspace, self.table),
            detail: detail.to_string(),
        }
        .into()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cql://{}/{}?table={}",
            self.hosts.join(","),
            self.keyspace,
            self.table
        )?;
        match self.layout {
            Kind::Auto => Ok(()),
            Kind::Text => write!(f, "&layout=text&tz={}", self.zone),
            named => write!(f, "&layout={}", named.name()),
        }
    }
}

/// Keyspace replication, used only when barstore creates the keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replication {
    /// `SimpleStrategy` with a replication factor: fit for a single local node only.
    Simple(u32),
    /// `NetworkTopologyStrategy` with a factor per datacenter.
    Network(Vec<(String, u32)>),
}

impl std::str::FromStr for Replication {
    type Err = OptionError;

    /// `SimpleStrategy:1` or `NetworkTopologyStrategy:dc1=3,dc2=3`.
    fn from_str(s: &str) -> Result<Self, OptionError> {
        let bad = || {
            OptionError::new(
                "replication",
                s,
                "use SimpleStrategy:RF or NetworkTopologyStrategy:DC=RF[,DC=RF...]",
            )
        };
        let (class, spec) = s.split_once(':').ok_or_else(bad)?;
        match class {
            "SimpleStrategy" => Ok(Replication::Simple(spec.parse().map_err(|_| bad())?)),
            "NetworkTopologyStrategy" => spec
                .split(',')
                .map(|p| {
                    let (dc, rf) = p.split_once('=').ok_or_else(bad)?;
                    let dc_ok = !dc.is_empty()
                        && dc
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                    if !dc_ok {
                        return Err(bad());
                    }
                    Ok((dc.to_string(), rf.parse().map_err(|_| bad())?))
                })
                .collect::<Result<Vec<_>, OptionError>>()
                .map(Replication::Network),
            _ => Err(bad()),
        }
    }
}

impl Replication {
    /// The CQL map literal, built from validated parts.
    pub fn cql(&self) -> String {
        match self {
            Replication::Simple(rf) => {
                format!("{{'class': 'SimpleStrategy', 'replication_factor': {rf}}}")
            }
            Replication::Network(dcs) => {
                let parts: Vec<String> =
                    dcs.iter().map(|(dc, rf)| format!("'{dc}': {rf}")).collect();
                format!(
                    "{{'class': 'NetworkTopologyStrategy', {}}}",
                    parts.join(", ")
                )
            }
        }
    }
}

/// Compaction strategy of the bars table, used only when barstore creates it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compaction {
    /// LeveledCompactionStrategy (the default): reads of a month touch about one
    /// SSTable per level; the write amplification is paid once, during the backfill.
    #[default]
    Leveled,
    /// SizeTieredCompactionStrategy: cheapest writes, reads may touch many SSTables.
    SizeTiered,
    /// TimeWindowCompactionStrategy: for append-only recent data; a historical backfill
    /// defeats its windows, which follow write time, not bar time.
    TimeWindow,
}

impl std::str::FromStr for Compaction {
    type Err = OptionError;
    fn from_str(s: &str) -> Result<Self, OptionError> {
        match s.to_ascii_lowercase().as_str() {
            "lcs" | "leveled" | "leveledcompactionstrategy" => Ok(Compaction::Leveled),
            "stcs" | "sizetiered" | "sizetieredcompactionstrategy" => Ok(Compaction::SizeTiered),
            "twcs" | "timewindow" | "timewindowcompactionstrategy" => Ok(Compaction::TimeWindow),
            _ => Err(OptionError::new("compaction", s, "use lcs, stcs or twcs")),
        }
    }
}

impl Compaction {
    /// The CQL map literal.
    pub fn cql(self) -> &'static str {
        match self {
            Compaction::Leveled => "{'class': 'LeveledCompactionStrategy'}",
            Compaction::SizeTiered => "{'class': 'SizeTieredCompactionStrategy'}",
            Compaction::TimeWindow => {
                "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 30}"
            }
        }
    }
}

/// A password that never shows in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// A client certificate and its private key, both PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate (and its chain).
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// How to connect to and write a CQL store.
#[derive(Clone, Debug)]
pub struct CqlOptions {
    /// User name for password authentication.
    pub user: Option<String>,
    /// Password (from `BARSTORE_CQL_PASSWORD` in the CLI, never from the command line).
    pub password: Option<Secret>,
    /// Connect with TLS.
    pub tls: bool,
    /// CA certificate (PEM) to verify the nodes with; the system roots otherwise.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM, with its chain) and its private key (PEM), for clusters
    /// that require client authentication. Only the paths are kept, never the key.
    pub tls_client: Option<ClientCert>,
    /// Prefer this datacenter's nodes (datacenter-aware routing).
    pub dc: Option<String>,
    /// Consistency of reads and writes.
    pub consistency: Consistency,
    /// Serial consistency of conditional writes (the chunked layout's fence): SERIAL
    /// holds across datacenters; LOCAL_SERIAL only among writers of one datacenter, so
    /// two loads of one month in two datacenters could both win and one lose its bars.
    pub serial_consistency: SerialConsistency,
    /// Replication when creating the keyspace; `None`: SimpleStrategy:1, allowed only
    /// when every contact point is a loopback address.
    pub replication: Option<Replication>,
    /// Compaction strategy when creating the table.
    pub compaction: Compaction,
    /// How long a request is retried on transient errors before giving up.
    pub retry_for: Duration,
    /// At most this many attempts per request, if given (else as many as `retry_for`
    /// allows).
    pub attempts: Option<u32>,
    /// Rows per unlogged batch (one partition per batch).
    pub batch_rows: usize,
    /// Batches in flight at once for each symbol being written.
    pub concurrency: usize,
    /// A write that merges into a stored chunk it cannot decode (an unknown codec, a
    /// checksum mismatch) replaces the chunk with the bars it brings for that day,
    /// losing the others; without this it fails, writing nothing of that month.
    pub overwrite_unreadable: bool,
}

impl Default for CqlOptions {
    fn default() -> Self {
        CqlOptions {
            user: None,
            password: None,
            tls: false,
            tls_ca: None,
            tls_client: None,
            dc: None,
            consistency: Consistency::LocalQuorum,
            serial_consistency: SerialConsistency::Serial,
            replication: None,
            compaction: Compaction::default(),
            retry_for: Duration::from_secs(crate::defaults::RETRY_SECONDS),
            attempts: None,
            batch_rows: crate::defaults::BATCH_ROWS,
            concurrency: crate::defaults::CONCURRENCY,
            overwrite_unreadable: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t: Target = "cql://127.0.0.1:9043,db2/Market?table=Bars&layout=text&tz=UTC"
            .parse()
            .unwrap();
        assert_eq!(t.zone, "UTC");
        assert_eq!(t.hosts, ["127.0.0.1:9043", "db2:9042"]);
        assert_eq!((t.keyspace.as_str(), t.table.as_str()), ("market", "bars"));
        assert_eq!(t.layout, Kind::Text);
        let t: Target = "scylla://h/ks".parse().unwrap();
        assert_eq!((t.table.as_str(), t.layout), (defaults::TABLE, Kind::Auto));
        let t: Target = "cql://h/ks?layout=chunked".parse().unwrap();
        assert_eq!(t.layout, Kind::Chunked);
        assert!("cql://h/ks?layout=rows".parse::<Target>().is_err());
        assert!(is_cql_url("cassandra://h/ks") && !is_cql_url("./data"));
    }

    #[test]
    fn hostile_names_are_rejected() {
        for url in [
            "cql://h/ks;DROP",
            "cql://h/ks?table=t;DROP KEYSPACE x",
            "cql://h/ks?table=a'b",
            "cql://h/1ks",
            "cql://h/\"Ks\"",
            "cql://h/ks?table=t&evil=1",
            "cql://h;x/ks",
            "cql://h:99999/ks",
            "cql://h",
            "cql://h/ks?tz=Mars/Base",
        ] {
            let err = url.parse::<Target>().unwrap_err().to_string();
            assert!(err.contains("invalid"), "{url}: {err}");
        }
        assert!(identifier("table name", &"t".repeat(39), 38).is_err());
    }

    #[test]
    fn replication_and_compaction_are_rebuilt_from_validated_parts() {
        let r: Replication = "NetworkTopologyStrategy:dc1=3,dc-2=2".parse().unwrap();
        assert_eq!(
            r.cql(),
            "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc-2': 2}"
        );
        assert_eq!(
            "SimpleStrategy:1".parse::<Replication>().unwrap().cql(),
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        );
        for bad in [
            "Simple:1",
            "SimpleStrategy:x",
            "NetworkTopologyStrategy:d'c=1",
            "NetworkTopologyStrategy:",
        ] {
            assert!(bad.parse::<Replication>().is_err(), "{bad}");
        }
        assert_eq!(
            "STCS".parse::<Compaction>().unwrap(),
            Compaction::SizeTiered
        );
        assert!("{'class': 'x'}".parse::<Compaction>().is_err());
    }

    #[test]
    fn passwords_do_not_print() {
        let o = CqlOptions {
            password: Some(Secret("hunter2".into())),
            ..CqlOptions::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}
