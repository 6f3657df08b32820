//! Upstream connections: reused across requests, a connection the upstream closed while it was
//! idle is replaced without the client seeing an error, and is closed on the proxy's side too
//! without waiting for another request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proxy_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const ANSWER: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},"finish_reason":"stop"}]}"#;

/// What the test upstream does with a connection after each answer.
#[derive(Clone, Copy, PartialEq)]
enum AfterAnswer {
    /// Keeps it open for the next request.
    KeepOpen,
    /// Shuts it down and drops it (without a `Connection: close` header, as an upstream whose
    /// keep-alive timer ran out), then reports on `closed`.
    Close,
    /// Waits until the proxy has put the connection back in its pool, shuts down its sending
    /// half (a keep-alive timer running out), then reads until the proxy closes the connection
    /// too, and reports that on `closed`.
    HalfCloseAndWait,
}

/// A bare HTTP/1.1 upstream answering every request with [`ANSWER`]; counts the connections it
/// accepts.
async fn counting_upstream(
    after: AfterAnswer,
) -> (std::net::SocketAddr, Arc<AtomicUsize>, mpsc::Receiver<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel(16);
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Read one request: the head, then `content-length` bytes of body.
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let n = s.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while buf.len() < head_end + len {
                        let n = s.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    buf.drain(..head_end + len);
                    let res = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}",
                        ANSWER.len()
                    );
                    s.write_all(res.as_bytes()).await.unwrap();
                    match after {
                        AfterAnswer::KeepOpen => {}
                        AfterAnswer::Close => {
                            let _ = s.shutdown().await;
                            drop(s);
                            let _ = tx.send(()).await;
                            return;
                        }
                        AfterAnswer::HalfCloseAndWait => {
                            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                            let _ = s.shutdown().await;
                            while s.read(&mut chunk).await.is_ok_and(|n| n > 0) {}
                            let _ = tx.send(()).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, accepted, rx)
}

async fn proxy_to(up: std::net::SocketAddr) -> Harness {
    start_yaml(&format!(
        "upstreams:\n  u:\n    url: http://{up}\nroutes:\n  - path: /v1/chat/completions\n    upstream: u\n    screen: false\n"
    ))
    .await
}

/// Request `i` through the proxy got the upstream's answer.
async fn assert_answered(h: &Harness, i: usize) {
    let got = post_json(h, "/v1/chat/completions", &[], &chat("m", false, "hi")).await;
    assert_eq!(got.status, 200, "request {i}: {}", got.text());
    assert_eq!(
        got.json()["choices"][0]["message"]["content"],
        "Hello there."
    );
}

#[tokio::test]
async fn one_connection_serves_requests_one_after_another() {
    let (up, accepted, _) = counting_upstream(AfterAnswer::KeepOpen).await;
    let h = proxy_to(up).await;
    for i in 0..5 {
        assert_answered(&h, i).await;
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the pooled connection was reused"
    );
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced() {
    let (up, accepted, mut closed) = counting_upstream(AfterAnswer::Close).await;
    let h = proxy_to(up).await;
    for i in 0..5 {
        assert_answered(&h, i).await;
        // The upstream has shut the connection the proxy keeps idle.
        closed.recv().await.unwrap();
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        5,
        "a new connection each time"
    );
}

/// An upstream that closes an idle keep-alive connection (uvicorn's default keep-alive is 5 s)
/// must not leave the proxy's end in CLOSE_WAIT until the next request: the pool's sweeper
/// closes it within about a second. Before the sweeper, nothing polled an idle connection and
/// this waited for the whole bound.
#[tokio::test]
async fn a_connection_the_upstream_closed_is_closed_without_another_request() {
    let (up, _, mut closed) = counting_upstream(AfterAnswer::HalfCloseAndWait).await;
    let h = proxy_to(up).await;
    assert_answered(&h, 0).await;
    tokio::time::timeout(std::time::Duration::from_secs(20), closed.recv())
        .await
        .expect("the proxy closed its end of the idle connection")
        .unwrap();
    // And the next request gets a new connection and its answer.
    assert_answered(&h, 1).await;
}

/// What reaches the upstream is an origin-server request: origin-form target and a `Host`
/// header (uvicorn's h11, behind vLLM, and Go's net/http, behind Ollama, answer 400 without
/// one). The client's own `Host` (the proxy's address) is not passed on.
#[tokio::test]
async fn the_upstream_gets_an_origin_form_request_with_its_host() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    let (tx, mut heads) = mpsc::channel::<String>(4);
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the proxy closed before a whole head");
            buf.extend_from_slice(&chunk[..n]);
        }
        let res = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}",
            ANSWER.len()
        );
        s.write_all(res.as_bytes()).await.unwrap();
        tx.send(String::from_utf8_lossy(&buf).into_owned())
            .await
            .unwrap();
    });
    let h = proxy_to(up).await;
    assert_answered(&h, 0).await;
    let head = heads.recv().await.unwrap().to_ascii_lowercase();
    let mut lines = head.lines();
    assert_eq!(
        lines.next(),
        Some("post /v1/chat/completions http/1.1"),
        "{head}"
    );
    let hosts: Vec<&str> = lines.filter_map(|l| l.strip_prefix("host:")).collect();
    assert_eq!(hosts, [format!(" {up}")], "{head}");
}
