//! `https` upstreams over real TLS on loopback: a TLS front (rustls, certificates made by rcgen
//! for each run) before the demo's mock model server. Screening works through it, streamed and
//! not; the upstream's certificate must chain to a trusted CA (the built-in roots or the
//! upstream's `tls_ca_file`) and name the URL's host, else the client gets a 502 that says the
//! TLS handshake failed and why. And clients over TLS to the proxy itself (`tls:`): screened
//! answers through it, a stalled handshake holds up no one, bad certificate files are refused
//! at start-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use glassbox::demo::mock::MockUpstream;
use glassbox::proxy::Config;
use proxy_support::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA and a server certificate it signed for `names`.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The chain and the key as PEM, for the proxy's `tls:` files.
    chain_pem: String,
    key_pem: String,
}

fn pki(names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "glassbox test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    Pki {
        chain_pem: format!("{}{}", leaf.pem(), ca_cert.pem()),
        key_pem: key.serialize_pem(),
        ca_pem: ca_cert.pem(),
        chain: vec![leaf.der().clone(), ca_cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// A TLS front on an ephemeral port that passes the decrypted bytes to `backend`. Reports the
/// SNI name of each completed handshake; a failed handshake (the proxy refused the
/// certificate) reports `None`.
async fn tls_front(pki: &Pki, backend: SocketAddr) -> (SocketAddr, mpsc::Receiver<Option<String>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    let _ = tx.send(None).await;
                    return;
                };
                let sni = tls.get_ref().1.server_name().map(str::to_string);
                let _ = tx.send(Some(sni.unwrap_or_default())).await;
                let mut plain = tokio::net::TcpStream::connect(backend).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (addr, rx)
}

fn mock_addr(mock: &MockUpstream) -> SocketAddr {
    mock.url()
        .trim_start_matches("http://")
        .parse()
        .expect("mock url is http://ip:port")
}

/// A proxy whose one upstream is `url`, with `ca` as its `tls_ca_file` when given.
async fn proxy(mock: MockUpstream, url: &str, ca: Option<&PathBuf>) -> Harness {
    let mut yaml = format!("upstreams:\n  u:\n    url: {url}\n");
    if let Some(ca) = ca {
        yaml.push_str(&format!("    tls_ca_file: {}\n", ca.display()));
    }
    let mut config = Config::parse(&yaml, "test.yaml").expect("test config is valid");
    config.listen = ([127, 0, 0, 1], 0).into();
    start_with(mock, config).await
}

/// A proxy whose upstream is `https://localhost:PORT`: a TLS front with a certificate for
/// `names` before a fresh mock. With `trust_ca`, the test CA is the upstream's `tls_ca_file`
/// (in a [`TempDir`], removed when the returned guard is dropped).
async fn https_setup(
    names: &[&str],
    trust_ca: bool,
) -> (Harness, mpsc::Receiver<Option<String>>, TempDir) {
    let pki = pki(names);
    let dir = TempDir::new();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let mock = MockUpstream::start().await.unwrap();
    let (front, handshakes) = tls_front(&pki, mock_addr(&mock)).await;
    let url = format!("https://localhost:{}", front.port());
    let h = proxy(mock, &url, trust_ca.then_some(&ca)).await;
    (h, handshakes, dir)
}

#[tokio::test]
async fn an_https_upstream_with_a_private_ca_is_screened_end_to_end() {
    let (h, mut handshakes, _dir) = https_setup(&["localhost"], true).await;

    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("m", false, "the deploy config?"),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.text());
    let text = got.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("Rotate both"),
        "the mock's answer came through: {text}"
    );
    assert!(
        !text.contains("AKIA2OGYBAH6TKXB3XLM"),
        "and was screened: {text}"
    );
    assert_eq!(
        handshakes.recv().await.unwrap().as_deref(),
        Some("localhost")
    );

    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("m", true, "the deploy config?"),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.partial);
    let body = got.body.expect("the stream ended cleanly");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    assert!(!body.contains("AKIA2OGYBAH6TKXB3XLM"), "{body}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_502_that_says_so() {
    // No tls_ca_file: the test CA is not among the built-in roots.
    let (h, mut handshakes, _dir) = https_setup(&["localhost"], false).await;
    let got = post_json(&h, "/v1/chat/completions", &[], &chat("m", false, "hi")).await;
    assert_eq!(got.status, 502, "{}", got.text());
    let msg = got.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("upstream `u`") && msg.contains("TLS handshake failed"),
        "{msg}"
    );
    assert!(msg.contains("UnknownIssuer"), "{msg}");
    assert_eq!(
        handshakes.recv().await.unwrap(),
        None,
        "no session was made"
    );
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let (h, _, _dir) = https_setup(&["models.example"], true).await;
    let got = post_json(&h, "/v1/chat/completions", &[], &chat("m", false, "hi")).await;
    assert_eq!(got.status, 502, "{}", got.text());
    let msg = got.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("TLS handshake failed"), "{msg}");
    assert!(msg.contains("not valid for name"), "{msg}");
}

/// A proxy serving TLS with a certificate for `localhost`, and the PKI (its CA for clients).
async fn tls_proxy() -> (Harness, Pki, TempDir) {
    let pki = pki(&["localhost"]);
    let dir = TempDir::new();
    std::fs::write(dir.path().join("cert.pem"), &pki.chain_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &pki.key_pem).unwrap();
    let mock = MockUpstream::start().await.unwrap();
    let yaml = format!(
        "tls:\n  cert_file: cert.pem\n  key_file: key.pem\nupstreams:\n  m:\n    url: {}\n",
        mock.url()
    );
    std::fs::write(dir.path().join("g.yaml"), yaml).unwrap();
    let mut config = Config::load(&dir.path().join("g.yaml")).expect("valid");
    config.listen = ([127, 0, 0, 1], 0).into();
    (start_with(mock, config).await, pki, dir)
}

/// A TLS client configuration that trusts `ca_pem` only.
fn client_trusting(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// One request over TLS to `addr`, trusting `ca_pem`: status and body.
async fn https_post(addr: SocketAddr, ca_pem: &str, body: &serde_json::Value) -> (u16, String) {
    use http_body_util::BodyExt;
    let config = client_trusting(ca_pem);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .expect("the proxy's certificate verifies");
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::post("/v1/chat/completions")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    let res = tokio::time::timeout(std::time::Duration::from_secs(30), send.send_request(req))
        .await
        .expect("an answer within 30 s")
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn clients_reach_the_proxy_over_tls_and_get_screened_answers() {
    let (h, pki, _dir) = tls_proxy().await;
    // A client that opens a connection and never starts its handshake holds up no one.
    let stalled = tokio::net::TcpStream::connect(h.proxy.addr).await.unwrap();

    let (status, body) = https_post(
        h.proxy.addr,
        &pki.ca_pem,
        &chat("m", false, "the deploy config?"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Rotate both") && !body.contains("AKIA2OGYBAH6TKXB3XLM"),
        "{body}"
    );
    let (status, body) = https_post(
        h.proxy.addr,
        &pki.ca_pem,
        &chat("m", true, "the deploy config?"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.trim_end().ends_with("data: [DONE]") && !body.contains("AKIA2OGYBAH6TKXB3XLM"),
        "{body}"
    );

    // The stalled connection is still waiting for its handshake (its 10 s limit has not run
    // out): the requests above were not queued behind it.
    let mut buf = [0u8; 1];
    assert!(
        matches!(stalled.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the stalled connection was already closed: the answers waited for its handshake limit"
    );

    // Plain HTTP to the TLS port gets no answer.
    let plain = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        h.client
            .get(format!("http://{}/healthz", h.proxy.addr).parse().unwrap()),
    )
    .await
    .expect("the proxy closes a plain-HTTP connection");
    assert!(plain.is_err(), "{plain:?}");

    // /metrics counts the handshakes: the two requests' and the plain-HTTP one that failed (it
    // is counted by its own task, so allow it a moment).
    let m = &h.state.metrics;
    let count = |r: &str| m.counter("glassbox_tls_handshakes_total", &[("result", r)]);
    assert_eq!(count("ok"), 2);
    for _ in 0..100 {
        if count("failed") == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count("failed"), 1);
    assert_eq!(
        count("timeout"),
        0,
        "the stalled client is within its limit"
    );
}

#[test]
fn bad_tls_files_are_refused_at_start_up() {
    let dir = TempDir::new();
    let (a, b) = (pki(&["localhost"]), pki(&["localhost"]));
    std::fs::write(dir.path().join("cert.pem"), &a.chain_pem).unwrap();
    std::fs::write(dir.path().join("other-key.pem"), &b.key_pem).unwrap();
    for (cert, key, words) in [
        (
            "missing.pem",
            "other-key.pem",
            "cannot read the certificate",
        ),
        ("cert.pem", "cert.pem", "cannot read a private key"),
        (
            "cert.pem",
            "other-key.pem",
            "are not a certificate and its key",
        ),
    ] {
        let yaml = format!(
            "tls:\n  cert_file: {cert}\n  key_file: {key}\nupstreams:\n  m:\n    url: http://127.0.0.1:9\n"
        );
        std::fs::write(dir.path().join("g.yaml"), yaml).unwrap();
        let e = Config::load(&dir.path().join("g.yaml")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("tls"), "{e}");
        assert!(e.to_string().contains(words), "{cert} {key}: {e}");
    }
}

/// Whether a TLS handshake with the proxy succeeds when trusting `ca_pem` only.
async fn trusts(addr: SocketAddr, ca_pem: &str) -> bool {
    let config = client_trusting(ca_pem);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .is_ok()
}

/// A renewed certificate is picked up by a reload (what SIGHUP runs); a bad pair is refused
/// and the running certificate kept.
#[tokio::test]
async fn a_renewed_certificate_is_picked_up_on_reload_and_a_bad_one_refused() {
    let (h, old, dir) = tls_proxy().await;
    let tls = h.proxy.tls.as_ref().expect("serving TLS");
    assert!(trusts(h.proxy.addr, &old.ca_pem).await);

    let new = pki(&["localhost"]);
    std::fs::write(dir.path().join("cert.pem"), &new.chain_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &new.key_pem).unwrap();
    assert!(
        trusts(h.proxy.addr, &old.ca_pem).await,
        "files alone change nothing"
    );
    let m = &h.state.metrics;
    let reloads = |r: &str| m.counter("glassbox_certificate_reloads_total", &[("result", r)]);
    glassbox::proxy::reload_certificate(tls, m);
    assert_eq!((reloads("applied"), reloads("rejected")), (1, 0));
    assert!(trusts(h.proxy.addr, &new.ca_pem).await);
    assert!(
        !trusts(h.proxy.addr, &old.ca_pem).await,
        "the old certificate is gone"
    );

    std::fs::write(dir.path().join("key.pem"), &old.key_pem).unwrap();
    let e = tls.reload().expect_err("a key of another certificate");
    assert!(e.contains("are not a certificate and its key"), "{e}");
    glassbox::proxy::reload_certificate(tls, m);
    assert_eq!((reloads("applied"), reloads("rejected")), (1, 1));
    assert!(
        trusts(h.proxy.addr, &new.ca_pem).await,
        "the running certificate stays"
    );
}
