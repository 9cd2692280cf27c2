//! Settings: the one place where what a user chose (on the command line, in Python)
//! becomes validated library options, with the defaults of [`crate::defaults`].
//!
//! The fronts only map their arguments onto the `*Choices` structs, leaving `None`
//! for what the user did not give; `resolve` fills in the defaults and validates. So a
//! default or a rule lives here once, and both fronts report the same errors.

use crate::error::{OpenError, OptionError, Result};
use crate::format::FormatSpec;
use crate::ingest::InputOptions;
use crate::load::LoadOptions;
use crate::read::ReadRequest;
use crate::store::cql::{ClientCert, CqlOptions, Secret};
use crate::store::AsOf;
use std::path::PathBuf;

use crate::defaults;

fn parse<T: std::str::FromStr<Err = OptionError>>(
    value: &Option<String>,
) -> Result<Option<T>, OptionError> {
    value.as_deref().map(str::parse).transpose()
}

/// How input files are read (load and verify).
#[derive(Clone, Debug, Default)]
pub struct InputChoices {
    /// File-name pattern with `{symbol}`.
    pub pattern: Option<String>,
    /// `auto`, `firstrate` or a field list.
    pub format: Option<String>,
    /// IANA zone of the files' wall-clock times.
    pub tz: Option<String>,
    /// Timeframe of every file (else from the name or the data).
    pub timeframe: Option<String>,
    /// Adjustment of every file (else from the name, or none).
    pub adjustment: Option<String>,
    /// Unit of epoch numbers: `s`, `ms`, `us` or `ns` (else each number's magnitude says).
    pub epoch_unit: Option<String>,
    /// Years bars may fall in, `FIRST..LAST` (else 1900..2100).
    pub years: Option<String>,
    /// Worker threads (0 or `None`: one per core).
    pub jobs: Option<usize>,
}

impl InputChoices {
    /// The input options these choices mean.
    pub fn resolve(&self) -> Result<InputOptions> {
        let zone = self.tz.as_deref().unwrap_or(defaults::ZONE);
        Ok(InputOptions {
            pattern: self.pattern.clone(),
            format: parse::<FormatSpec>(&self.format)?.unwrap_or_default(),
            zone: crate::zone::Zone::new(zone)?,
            timeframe: parse(&self.timeframe)?,
            adjustment: parse(&self.adjustment)?,
            epoch_unit: parse(&self.epoch_unit)?,
            years: parse(&self.years)?.unwrap_or_default(),
            jobs: self.jobs.unwrap_or(0),
            ..InputOptions::default()
        })
    }
}

/// A load: the input choices plus what only a load has.
#[derive(Clone, Debug, Default)]
pub struct LoadChoices {
    /// How the files are read.
    pub input: InputChoices,
    /// Load files the manifest says are loaded and unchanged.
    pub force: bool,
    /// The error log.
    pub errors: Option<PathBuf>,
    /// `(i, n)`: load shard `i` of `n`.
    pub shard: Option<(u64, u64)>,
}

impl LoadChoices {
    /// The load options these choices mean.
    pub fn resolve(&self) -> Result<LoadOptions> {
        Ok(LoadOptions {
            input: self.input.resolve()?,
            force: self.force,
            errors: self
                .errors
                .clone()
                .unwrap_or_else(|| PathBuf::from(defaults::ERRORS)),
            shard: self.shard,
        })
    }
}

/// A read of one symbol.
#[derive(Clone, Debug, Default)]
pub struct ReadChoices {
    /// The symbol.
    pub symbol: String,
    /// First bar, inclusive.
    pub start: Option<String>,
    /// Last bar, inclusive.
    pub end: Option<String>,
    /// `all` or `regular`.
    pub session: Option<String>,
    /// Decimals to round to.
    pub round: Option<u32>,
    /// Wider bars to build.
    pub resample: Option<String>,
    /// Zone to show times in.
    pub tz: Option<String>,
    /// The stored timeframe to read (else the finest stored).
    pub timeframe: Option<String>,
    /// The adjustment to read (else the one stored).
    pub adjustment: Option<String>,
    /// The calendar of the regular session (`us`, `plain`; else the zone's).
    pub calendar: Option<String>,
    /// Adjust raw prices for the stored actions: `split` or `split+div`.
    pub adjust: Option<String>,
    /// The version to read: a version number, a date or time, or a snapshot name
    /// ([`crate::store::AsOf::parse`]); corporate actions as known then.
    pub as_of: Option<String>,
}

impl ReadChoices {
    /// The read request these choices mean.
    pub fn resolve(&self) -> Result<ReadRequest> {
        if let Some(tz) = &self.tz {
            crate::zone::Zone::new(tz)?;
        }
        let version = self.as_of.as_deref().map(AsOf::parse).transpose()?;
        Ok(ReadRequest {
            symbol: self.symbol.clone(),
            start: parse(&self.start)?,
            end: parse(&self.end)?,
            session: parse(&self.session)?.unwrap_or_default(),
            round: self.round,
            resample: parse(&self.resample)?,
            tz: self.tz.clone(),
            timeframe: parse(&self.timeframe)?,
            adjustment: parse(&self.adjustment)?,
            calendar: parse(&self.calendar)?,
            adjust: parse(&self.adjust)?,
            as_of: version.as_ref().and_then(AsOf::day),
            version,
        })
    }
}

/// How to connect to a CQL store and write to it.
#[derive(Clone, Debug, Default)]
pub struct CqlChoices {
    /// User name for password authentication.
    pub user: Option<String>,
    /// The password (never logged: its `Debug` is `***`).
    pub password: Option<Secret>,
    /// Connect with TLS (implied by `tls_ca`).
    pub tls: bool,
    /// CA certificate (PEM) to verify the nodes with.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for clusters that require client authentication.
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// Preferred datacenter.
    pub dc: Option<String>,
    /// Consistency level.
    pub consistency: Option<String>,
    /// Serial consistency of conditional writes: SERIAL or LOCAL_SERIAL.
    pub serial_consistency: Option<String>,
    /// Replication of a keyspace barstore creates.
    pub replication: Option<String>,
    /// Compaction of a table barstore creates.
    pub compaction: Option<String>,
    /// Seconds a request is retried on transient errors.
    pub retry_for: Option<f64>,
    /// At most this many attempts per request.
    pub attempts: Option<u32>,
    /// Rows per unlogged batch.
    pub batch_rows: Option<usize>,
    /// Batches in flight per series being written.
    pub concurrency: Option<usize>,
    /// Replace stored chunks that cannot be decoded instead of failing.
    pub overwrite_unreadable: bool,
}

impl CqlChoices {
    /// The CQL options these choices mean.
    pub fn resolve(&self) -> Result<CqlOptions> {
        let defaults = CqlOptions::default();
        let consistency = crate::store::cql::consistency(
            self.consistency.as_deref().unwrap_or(defaults::CONSISTENCY),
        )?;
        let serial_consistency = crate::store::cql::serial_consistency(
            self.serial_consistency
                .as_deref()
                .unwrap_or(defaults::SERIAL_CONSISTENCY),
        )?;
        let retry_for = match self.retry_for {
            None => defaults.retry_for,
            Some(s) if s.is_finite() && s >= 0.0 => std::time::Duration::from_secs_f64(s),
            Some(s) => {
                return Err(OptionError::new(
                    "retry time",
                    s.to_string(),
                    "give seconds, 0 or more",
                )
                .into())
            }
        };
        let tls_client = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(ClientCert {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            _ => return Err(OpenError::HalfClientCert.into()),
        };
        Ok(CqlOptions {
            user: self.user.clone(),
            password: self.password.clone(),
            tls: self.tls || self.tls_ca.is_some() || tls_client.is_some(),
            tls_ca: self.tls_ca.clone(),
            tls_client,
            dc: self.dc.clone(),
            consistency,
            serial_consistency,
            replication: parse(&self.replication)?,
            compaction: parse(&self.compaction)?.unwrap_or_default(),
            retry_for,
            attempts: self.attempts.map(|n| n.max(1)),
            batch_rows: self.batch_rows.unwrap_or(defaults.batch_rows).max(1),
            concurrency: self.concurrency.unwrap_or(defaults.concurrency).max(1),
            overwrite_unreadable: self.overwrite_unreadable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_was_not_given() {
        let o = InputChoices::default().resolve().unwrap();
        assert_eq!(o.zone.name(), defaults::ZONE);
        assert_eq!((o.timeframe, o.adjustment), (None, None));
        let l = LoadChoices::default().resolve().unwrap();
        assert_eq!(l.errors, PathBuf::from(defaults::ERRORS));
        let c = CqlChoices::default().resolve().unwrap();
        assert_eq!(
            (
                crate::store::cql::consistency_name(c.consistency),
                crate::store::cql::serial_consistency_name(c.serial_consistency),
                c.retry_for.as_secs(),
                c.attempts
            ),
            (
                defaults::CONSISTENCY,
                defaults::SERIAL_CONSISTENCY,
                defaults::RETRY_SECONDS,
                None
            )
        );
        let r = ReadChoices::default().resolve().unwrap();
        assert_eq!((r.timeframe, r.adjustment), (None, None));
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let choices = CqlChoices {
            user: Some("loader".into()),
            password: Some(Secret("hunter2".into())),
            ..CqlChoices::default()
        };
        let shown = format!("{choices:?} {:?}", choices.resolve().unwrap());
        assert!(shown.contains("loader") && shown.contains("***"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn bad_choices_are_refused_with_the_library_message() {
        let bad_tz = InputChoices {
            tz: Some("Mars/Base".into()),
            ..InputChoices::default()
        };
        assert!(bad_tz
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("invalid time zone"));
        let bad_tf = ReadChoices {
            timeframe: Some("7min".into()),
            ..ReadChoices::default()
        };
        assert!(bad_tf
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("invalid timeframe"));
        let bad_level = CqlChoices {
            consistency: Some("MOST".into()),
            ..CqlChoices::default()
        };
        assert!(bad_level
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("invalid consistency"));
        let bad_serial = CqlChoices {
            serial_consistency: Some("QUORUM".into()),
            ..CqlChoices::default()
        };
        assert!(bad_serial
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("invalid serial consistency \"QUORUM\": use SERIAL"));
        let bad_time = CqlChoices {
            retry_for: Some(-1.0),
            ..CqlChoices::default()
        };
        assert!(bad_time
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("invalid retry time"));
        let local = CqlChoices {
            serial_consistency: Some("local_serial".into()),
            attempts: Some(0),
            ..CqlChoices::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            (
                crate::store::cql::serial_consistency_name(local.serial_consistency),
                local.attempts
            ),
            ("LOCAL_SERIAL", Some(1))
        );
    }
}
