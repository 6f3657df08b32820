//! Upstream HTTP/1 connections driven by the task that uses them.
//!
//! A hyper client connection is a future that reads the socket and hands each decoded body
//! chunk to the response body through a channel that holds one chunk. Run as a task of its own
//! (hyper-util's pooled client), every chunk costs a wake-up of that task and one of the task
//! reading the body, usually across the two worker threads, and the reader gets one chunk per
//! wake-up: a burst of SSE events that arrived in one socket read still left the proxy one
//! write per event. Here the connection future is polled by whoever holds the exchange: the
//! forwarding future while it waits for the response head, then the response body
//! ([`UpstreamBody`](super::upstream::UpstreamBody)) each time it is polled. Every chunk of one
//! socket read is then handed over within one poll of the body, with no other task involved,
//! and the screen layer sends them on as one frame.
//!
//! A connection goes back to the pool when its response body has ended with the connection
//! still open; a body dropped before its end drops (closes) its connection, as a request cannot
//! be sent on a connection with half a response unread. Once a second a sweeper task (started
//! with the pool's first idle connection, ended when the pool is dropped) polls the connections
//! idle for longer than that: one the upstream closed (an upstream whose keep-alive timer ran
//! out) is closed on this side too, and one idle past the pool's timeout is closed, also when no
//! request comes; without it both sat in CLOSE_WAIT holding a descriptor until the next
//! checkout. One the upstream closes between two sweeps is found out when it is checked out
//! (its connection future finishes before it accepts a request), and a request that was never
//! sent on it is retried on another connection, as hyper-util does.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tower::Service as _;

use super::tls::{self, Stream};

type Connection = http1::Connection<TokioIo<Stream>, Full<Bytes>>;

/// How often the sweeper looks at idle connections, and how long one must have been idle for
/// it to be looked at (a connection in use is driven by its request).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Why a request got no response head.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The TCP connection could not be made.
    Connect(String),
    /// The TLS handshake failed (certificate not trusted, wrong host name, no common protocol).
    Tls(String),
    /// The connection broke, or the upstream answered something that is not HTTP/1.
    Broken(String),
}

/// One upstream connection: the request sender and the connection future that does its I/O.
pub(crate) struct Conn {
    send: http1::SendRequest<Full<Bytes>>,
    /// `None` once the connection future finished (closed or failed).
    io: Option<Connection>,
}

impl Conn {
    /// Lets the connection read and write what it can (registering `cx` for more); `false`
    /// once it has finished.
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(io) = &mut self.io {
            if let Poll::Ready(r) = Pin::new(io).poll(cx) {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "upstream connection ended");
                }
                self.io = None;
            }
        }
        self.io.is_some()
    }

    fn reusable(&self) -> bool {
        self.io.is_some() && !self.send.is_closed()
    }
}

/// Idle connections to one upstream, and how to make new ones.
pub(crate) struct Pool {
    connector: HttpConnector,
    /// For `https` upstreams.
    tls: Option<tokio_rustls::TlsConnector>,
    /// Most recently used last.
    idle: Mutex<VecDeque<(Conn, Instant)>>,
    max_idle: usize,
    idle_timeout: Duration,
    /// Whether the sweeper task has been started.
    sweeping: AtomicBool,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max_idle", &self.max_idle)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool making connections with `connector`, through TLS when `tls` is given.
    pub(crate) fn new(
        mut connector: HttpConnector,
        tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
        max_idle: usize,
        idle_timeout: Duration,
    ) -> Self {
        // The connector makes the TCP connection for https URLs too; TLS goes on top here.
        connector.enforce_http(false);
        Pool {
            connector,
            tls: tls.map(tokio_rustls::TlsConnector::from),
            idle: Mutex::new(VecDeque::new()),
            max_idle,
            idle_timeout,
            sweeping: AtomicBool::new(false),
        }
    }

    /// Sends `req` on an idle connection or a new one and waits for the response head,
    /// driving the connection meanwhile. The connection comes back with the response: its
    /// body is read by polling both ([`Conn::drive`]), and [`Pool::put`] takes it back after.
    ///
    /// `req`'s URI is absolute (it names the upstream to connect to); the request goes out in
    /// origin form (`POST /v1/chat/completions`) with a `Host` header from the URI's authority,
    /// as HTTP/1.1 requires of a request to an origin server (uvicorn's h11 and Go's net/http
    /// refuse one without `Host`). hyper's connection API, unlike hyper-util's client, sends the
    /// URI as given and adds no `Host`.
    pub(crate) async fn request(
        &self,
        mut req: Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Conn), RequestError> {
        let target = req.uri().clone();
        to_origin_form(&mut req);
        loop {
            let (mut conn, reused) = match self.checkout() {
                Some(c) => (c, true),
                None => (self.connect(&target).await?, false),
            };
            let ready = poll_fn(|cx| {
                let alive = conn.drive(cx);
                match conn.send.poll_ready(cx) {
                    Poll::Pending if !alive => Poll::Ready(Err(None)),
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(r) => Poll::Ready(r.map_err(Some)),
                }
            })
            .await;
            if let Err(e) = ready {
                if reused {
                    // Closed while idle: try the next one.
                    continue;
                }
                let why = e.map_or_else(
                    || "the connection closed before the request was sent".to_string(),
                    |e| error_chain(&e),
                );
                return Err(RequestError::Broken(why));
            }
            let mut sent = std::pin::pin!(conn.send.try_send_request(req));
            let res = poll_fn(|cx| {
                conn.drive(cx);
                sent.as_mut().poll(cx)
            })
            .await;
            match res {
                Ok(res) => return Ok((res, conn)),
                Err(mut e) => match e.take_message() {
                    // Never written on a connection the upstream had closed: another one.
                    Some(r) if reused => req = r,
                    _ => return Err(RequestError::Broken(error_chain(e.error()))),
                },
            }
        }
    }

    /// Takes back a connection whose response has been read to its end.
    pub(crate) fn put(self: &Arc<Self>, conn: Conn) {
        if !conn.reusable() {
            return;
        }
        if !self.sweeping.swap(true, Ordering::Relaxed) {
            self.start_sweeper();
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while idle
            .front()
            .is_some_and(|(_, since)| now.duration_since(*since) >= self.idle_timeout)
        {
            idle.pop_front();
        }
        if idle.len() < self.max_idle {
            idle.push_back((conn, now));
        }
    }

    /// Spawns the task that sweeps this pool every [`SWEEP_EVERY`] until the pool is dropped.
    fn start_sweeper(self: &Arc<Self>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.sweeping.store(false, Ordering::Relaxed);
            return;
        };
        let pool = Arc::downgrade(self);
        rt.spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match pool.upgrade() {
                    Some(pool) => pool.sweep(),
                    None => return,
                }
            }
        });
    }

    /// Drops the idle connections that are past the idle timeout or that the upstream closed
    /// (polled once, with no waker: one that is still open is polled again when checked out).
    /// Connections idle for less than [`SWEEP_EVERY`] are left alone.
    fn sweep(&self) {
        let mut cx = Context::from_waker(Waker::noop());
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain_mut(|(conn, since)| {
            let idle_for = now.duration_since(*since);
            idle_for < SWEEP_EVERY
                || (idle_for < self.idle_timeout && conn.drive(&mut cx) && conn.reusable())
        });
    }

    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((conn, since)) = idle.pop_back() {
            if since.elapsed() < self.idle_timeout && conn.reusable() {
                return Some(conn);
            }
        }
        None
    }

    async fn connect(&self, uri: &Uri) -> Result<Conn, RequestError> {
        let tcp = self
            .connector
            .clone()
            .call(uri.clone())
            .await
            .map_err(|e| RequestError::Connect(error_chain(&e)))?
            .into_inner();
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let name =
                    tls::server_name(uri.host().unwrap_or_default()).map_err(RequestError::Tls)?;
                let s = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| RequestError::Tls(error_chain(&e)))?;
                Stream::Tls(Box::new(s))
            }
        };
        let io = TokioIo::new(stream);
        let (send, io) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| RequestError::Broken(error_chain(&e)))?;
        Ok(Conn { send, io: Some(io) })
    }
}

/// Rewrites an absolute request URI to origin form and sets `Host` from its authority (unless
/// the request has one).
fn to_origin_form<B>(req: &mut Request<B>) {
    let uri = req.uri();
    let host = uri.authority().and_then(|a| {
        // `user:pass@` never goes into `Host`.
        let hostport = a.as_str().rsplit('@').next().unwrap_or(a.as_str());
        http::HeaderValue::from_str(hostport).ok()
    });
    let origin = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    *req.uri_mut() = Uri::from(origin);
    if let Some(host) = host {
        req.headers_mut().entry(http::header::HOST).or_insert(host);
    }
}

/// The error and its sources, one line.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_out_in_origin_form_with_a_host_header() {
        for (uri, want_uri, want_host) in [
            (
                "http://127.0.0.1:8000/v1/chat/completions?x=1",
                "/v1/chat/completions?x=1",
                "127.0.0.1:8000",
            ),
            (
                "http://vllm.internal/v1/models",
                "/v1/models",
                "vllm.internal",
            ),
            ("http://user:pw@[::1]:9000", "/", "[::1]:9000"),
        ] {
            let mut req = Request::builder().uri(uri).body(()).unwrap();
            to_origin_form(&mut req);
            assert_eq!(req.uri().to_string(), want_uri);
            assert_eq!(req.headers()[http::header::HOST], want_host, "{uri}");
        }
        // A Host the configuration put there stays.
        let mut req = Request::builder()
            .uri("http://10.0.0.1/v1/models")
            .header("host", "models.example")
            .body(())
            .unwrap();
        to_origin_form(&mut req);
        assert_eq!(req.headers()[http::header::HOST], "models.example");
    }
}
