//! TLS with rustls (ring provider), both ways.
//!
//! - `https` upstreams: Mozilla's root certificates built in (`webpki-roots`, so a container
//!   image without `ca-certificates` still verifies api.openai.com or api.anthropic.com) plus,
//!   per upstream, the certificates of a PEM file (`tls_ca_file`, for a private CA in front of
//!   vLLM or Ollama). The certificate chain and the host name are always verified; there is no
//!   switch to turn that off. ALPN offers `http/1.1`, the only protocol the pool speaks.
//! - Clients over TLS (`tls: {cert_file, key_file}`): [`TlsListener`] accepts TCP connections
//!   and runs each handshake in its own task (with a 10 s limit), so a client that stalls its
//!   handshake holds up no one else; only finished handshakes reach the HTTP server. The
//!   certificate is [`ServerTls`]: SIGHUP re-reads the files (a renewed certificate), and a bad
//!   pair is refused with the running one kept; connections already open keep theirs.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS client settings of one upstream.
///
/// # Errors
/// A message naming the file and what is wrong with it: unreadable, no PEM certificate in it,
/// or a certificate rustls does not accept as a trust anchor.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in read_certificates(path, "")? {
            roots.add(cert).map_err(|e| {
                format!(
                    "`{}`: a certificate is not usable as a CA: {e}",
                    path.display()
                )
            })?;
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The certificate and key the proxy presents to its clients.
///
/// # Errors
/// A message naming the file and what is wrong: unreadable, no certificate or key in it, or a
/// key that does not belong to the certificate.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let (cert_shown, key_shown) = (cert_file.display(), key_file.display());
    let certs = read_certificates(cert_file, "the certificate ")?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("cannot read a private key from `{key_shown}`: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!("`{cert_shown}` and `{key_shown}` are not a certificate and its key: {e}")
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The PEM certificates of `path`, at least one; `what` names the file in the read error
/// ("cannot read {what}`path`").
fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {what}`{shown}`: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`{shown}` is not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("`{shown}` holds no PEM certificate"));
    }
    Ok(certs)
}

/// The crypto provider of both directions.
fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate the proxy presents, re-readable from its files.
#[derive(Debug)]
pub struct ServerTls {
    cert_file: std::path::PathBuf,
    key_file: std::path::PathBuf,
    current: std::sync::RwLock<Arc<rustls::ServerConfig>>,
}

impl ServerTls {
    /// Reads the certificate chain and key.
    ///
    /// # Errors
    /// As [`server_config`].
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<ServerTls, String> {
        Ok(ServerTls {
            current: std::sync::RwLock::new(server_config(cert_file, key_file)?),
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
        })
    }

    /// Reads the files again; on success new handshakes use them, on failure the running
    /// certificate stays.
    ///
    /// # Errors
    /// As [`server_config`].
    pub fn reload(&self) -> Result<(), String> {
        let fresh = server_config(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    fn current(&self) -> Arc<rustls::ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Connections whose TLS handshake has finished, for `axum::serve`.
#[derive(Debug)]
pub struct TlsListener {
    done: mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` and shakes hands with `config`; each accepted socket gets
    /// `TCP_NODELAY` first (see [`super::server::set_nodelay`]). The accepting task ends when the
    /// listener is dropped.
    ///
    /// # Errors
    /// When the listener has no local address.
    pub fn new(
        listener: TcpListener,
        tls: Arc<ServerTls>,
        metrics: super::metrics::Metrics,
    ) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, done) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (mut tcp, peer) = tokio::select! {
                    () = tx.closed() => return,
                    r = listener.accept() => match r {
                        Ok(c) => c,
                        Err(e) => {
                            // Out of descriptors, usually: let others finish first.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                super::server::set_nodelay(&mut tcp);
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
                let (tx, metrics) = (tx.clone(), metrics.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            metrics.tls_handshake("ok");
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            metrics.tls_handshake("failed");
                            tracing::debug!(%peer, error = %e, "client TLS handshake failed");
                        }
                        Err(_) => {
                            metrics.tls_handshake("timeout");
                            tracing::debug!(%peer, "client TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Ok(TlsListener { done, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.done.recv().await {
            Some(c) => c,
            // The accepting task only ends once this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// The name the upstream's certificate must carry: the URL's host (a DNS name or an IP
/// address; brackets of an IPv6 literal removed).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string())
        .map_err(|e| format!("`{host}` cannot be checked against a certificate: {e}"))
}

/// A TCP connection to an upstream, in clear or through TLS.
#[derive(Debug)]
pub(crate) enum Stream {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn server_names_from_url_hosts() {
        assert!(matches!(
            server_name("api.openai.com").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(server_name("bad host").is_err());
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("glassbox-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let e = client_config(Some(&missing)).unwrap_err();
        assert!(
            e.starts_with(&format!("cannot read `{}`", missing.display())),
            "{e}"
        );
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(Some(&empty)).unwrap_err();
        assert_eq!(e, format!("`{}` holds no PEM certificate", empty.display()));
        // The built-in roots alone are enough to build a config.
        assert!(client_config(None).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
