//! Connecting to a cluster: the driver session (pool, load balancing, retries left to
//! barstore), TLS with optional client certificates, and what a refused connection
//! means.

use super::*;

/// Connections per host (per shard on ScyllaDB). Cassandra encodes and compresses a
/// connection's responses on one event-loop thread, so a single connection keeps one
/// reader from using the node's other cores (measured on a 2-core node, a 1.8M-row read:
/// 1.62 s with one connection and 8 months in flight, 1.42 s with four and 16).
pub(super) const CONNECTIONS: NonZeroUsize = NonZeroUsize::new(4).unwrap();

impl Cql {
    /// Connects to the cluster named by `url`.
    pub fn connect(url: &str, opts: CqlOptions) -> Result<Self> {
        let target: Target = url.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| OpenError::Runtime { source })?;
        let mut policy = DefaultPolicy::builder().token_aware(true);
        if let Some(dc) = &opts.dc {
            policy = policy.prefer_datacenter(dc.clone());
        }
        // barstore retries failed requests itself, with backoff and a report of each
        // (Db::retry): the driver's own immediate retry on another node would replace the
        // coordinator's answer (an unavailable consistency level) with that node's
        let profile = ExecutionProfile::builder()
            .consistency(opts.consistency)
            .serial_consistency(Some(opts.serial_consistency))
            .request_timeout(Some(Duration::from_secs(30)))
            .load_balancing_policy(policy.build())
            .retry_policy(Arc::new(FallthroughRetryPolicy::new()))
            .build();
        let mut builder = SessionBuilder::new()
            .known_nodes(&target.hosts)
            .compression(Some(Compression::Lz4))
            .pool_size(PoolSize::PerShard(CONNECTIONS))
            .connection_timeout(Duration::from_secs(10))
            .default_execution_profile_handle(profile.into_handle());
        if let Some(user) = &opts.user {
            let password = opts.password.clone().unwrap_or_default();
            builder = builder.user(user.clone(), password.0);
        }
        if opts.tls {
            builder = builder.tls_context(Some(tls_context(
                opts.tls_ca.as_deref(),
                opts.tls_client.as_ref(),
            )?));
        }
        let session = runtime
            .block_on(builder.build())
            .map_err(|source| OpenError::Connect {
                hosts: target.hosts.join(","),
                hint: client_auth_hint(&source, opts.tls, opts.tls_client.is_some()),
                source: source.into(),
            })?;
        Ok(Cql {
            db: Db {
                target,
                opts,
                session,
                retries: Default::default(),
            },
            runtime,
            layout: tokio::sync::OnceCell::new(),
            manifest: tokio::sync::OnceCell::new(),
        })
    }
}

/// Adds what a failed TLS connection may mean about client certificates. A node that
/// requires one closes the connection during the handshake, and the driver reports
/// either the TLS alert or only the broken connection, so the hint goes on every TLS
/// failure that is not the node's own certificate.
pub(super) fn client_auth_hint(
    e: &scylla::errors::NewSessionError,
    tls: bool,
    presented: bool,
) -> String {
    if !tls || e.to_string().contains("certificate verify failed") {
        String::new()
    } else if presented {
        " (if the cluster checks client certificates, it did not accept this one)".into()
    } else {
        " (if the cluster requires a client certificate, give one and its key)".into()
    }
}

/// The TLS set-up: trust `ca` (else the system's roots), present `client` when given.
/// Messages name the files, never their content.
pub(super) fn tls_context(
    ca: Option<&std::path::Path>,
    client: Option<&ClientCert>,
) -> Result<openssl::ssl::SslContext, OpenError> {
    use openssl::ssl::{SslContextBuilder, SslFiletype, SslMethod, SslVerifyMode};
    let failed = |detail: String| move |source| OpenError::Tls { detail, source };
    let mut b =
        SslContextBuilder::new(SslMethod::tls()).map_err(failed("TLS set-up failed".into()))?;
    match ca {
        Some(path) => b.set_ca_file(path).map_err(failed(format!(
            "cannot use {} as a CA certificate",
            path.display()
        )))?,
        None => b
            .set_default_verify_paths()
            .map_err(failed("cannot load the system's CA certificates".into()))?,
    }
    if let Some(client) = client {
        b.set_certificate_chain_file(&client.cert)
            .map_err(failed(format!(
                "cannot use {} as a client certificate",
                client.cert.display()
            )))?;
        b.set_private_key_file(&client.key, SslFiletype::PEM)
            .map_err(failed(format!(
                "cannot use {} as a private key",
                client.key.display()
            )))?;
        b.check_private_key().map_err(|_| OpenError::KeyMismatch {
            key: client.key.clone(),
            cert: client.cert.clone(),
        })?;
    }
    b.set_verify(SslVerifyMode::PEER);
    Ok(b.build())
}
