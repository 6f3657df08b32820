//! Streaming end to end: text reaches the client while the upstream is still answering (no
//! buffering beyond the hold-back), on screened and pass-through routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use glassbox::proxy::Config;
use http_body_util::BodyExt;
use proxy_support::*;
use tokio::sync::{mpsc, Notify};

/// An upstream that sends the first event, then waits for `go` before finishing.
async fn gated_upstream(go: Arc<Notify>) -> std::net::SocketAddr {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move || {
            let go = go.clone();
            async move {
                let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
                tokio::spawn(async move {
                    let ev = |t: &str| {
                        Bytes::from(format!(
                            "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{t}\"}},\"finish_reason\":null}}]}}\n\n"
                        ))
                    };
                    let _ = tx.send(Ok(ev("Hello and welcome. "))).await;
                    go.notified().await;
                    let _ = tx.send(Ok(ev("Goodbye."))).await;
                    let _ = tx.send(Ok(Bytes::from("data: [DONE]\n\n"))).await;
                });
                let body = axum::body::Body::new(ChannelBody(rx));
                ([(http::header::CONTENT_TYPE, "text/event-stream")], body)
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    addr
}

/// A body fed by a channel.
struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|o| o.map(|r| r.map(http_body::Frame::data)))
    }
}

#[tokio::test]
async fn text_arrives_before_the_upstream_finishes() {
    for screen in [true, false] {
        let go = Arc::new(Notify::new());
        let up = gated_upstream(go.clone()).await;
        let yaml = format!(
            "upstreams:\n  g:\n    url: http://{up}\nroutes:\n  - path: /v1/chat/completions\n    upstream: g\n    screen: {screen}\n"
        );
        let mut config = Config::parse(&yaml, "t.yaml").unwrap();
        config.listen = ([127, 0, 0, 1], 0).into();
        let h = start_with(
            glassbox::demo::mock::MockUpstream::start().await.unwrap(),
            config,
        )
        .await;
        let req = http::Request::post(format!("http://{}/v1/chat/completions", h.proxy.addr))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from(
                chat("m", true, "hi").to_string(),
            )))
            .unwrap();
        let res = h.client.request(req).await.unwrap();
        let mut body = res.into_body();
        let mut seen = String::new();
        // The upstream is blocked until we have seen its first words: a proxy that buffered
        // the stream would never deliver them. (The screened stream may hold back the last
        // word, "welcome.", which could still become an e-mail address; nothing more.)
        let first = tokio::time::timeout(Duration::from_secs(20), async {
            while !seen.contains("Hello and") {
                let f = body.frame().await.expect("stream open").expect("no error");
                if let Ok(d) = f.into_data() {
                    seen.push_str(&String::from_utf8_lossy(&d));
                }
            }
        })
        .await;
        assert!(
            first.is_ok(),
            "screen={screen}: first words not released while the upstream waits: {seen:?}"
        );
        go.notify_one();
        while let Some(f) = body.frame().await {
            if let Ok(d) = f.unwrap().into_data() {
                seen.push_str(&String::from_utf8_lossy(&d));
            }
        }
        assert!(
            seen.contains("Goodbye.") && seen.ends_with("data: [DONE]\n\n"),
            "screen={screen}: {seen}"
        );
    }
}
