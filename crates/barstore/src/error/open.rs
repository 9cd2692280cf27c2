//! Why a store could not be opened.

use super::*;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The store URL cannot be understood.
    #[error("invalid store URL {url:?}: {reason}; expected cql://host[:port][,host...]/keyspace[?table=NAME&layout=auto|chunked|typed|text]")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS set-up failed: a CA, a client certificate or key that cannot be used.
    #[error("{detail}: {source}")]
    Tls {
        /// What was being set up, naming the file (never its content).
        detail: String,
        /// OpenSSL's error.
        source: openssl::error::ErrorStack,
    },
    /// A client certificate was given without its key, or a key without its certificate.
    #[error("a client certificate needs both the certificate file and its key file")]
    HalfClientCert,
    /// The key file does not hold the client certificate's private key.
    #[error("{} is not the private key of the client certificate {}", key.display(), cert.display())]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// A keyspace is missing and barstore may not guess how to replicate it.
    #[error("keyspace {keyspace} does not exist: give a replication (e.g. NetworkTopologyStrategy:dc1=3) to create it; the SimpleStrategy:1 default is only for a single local node")]
    Replication {
        /// The keyspace.
        keyspace: String,
    },
    /// The driver's runtime could not be started.
    #[error("cannot start the CQL driver's runtime: {source}")]
    Runtime {
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No node of the cluster could be reached.
    #[error("cannot connect to {hosts}: {source}{hint}; check the hosts and ports, TLS and the credentials")]
    Connect {
        /// The contact points.
        hosts: String,
        /// What the failure may mean (a client certificate refused), or nothing.
        hint: String,
        /// The driver's error (a `scylla::errors::NewSessionError`).
        source: Cause,
    },
}

impl OpenError {
    /// An unreachable cluster may be reachable later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, OpenError::Connect { .. })
    }
}
