//! [`ResponseFuture`]: reads and screens the request, calls the inner service, screens a
//! non-streamed answer or wraps a streamed one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use crate::ScreenBody;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Response future of [`Screen`](crate::Screen).
///
/// A request blocked by policy (or refused by the model gate, too large, malformed) resolves to
/// an error response in the API's own shape without the inner service being called.
pub struct ResponseFuture<B, E> {
    pub(crate) inner: BoxFuture<Result<Response<ScreenBody<B>>, E>>,
}

impl<B, E> std::fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<ScreenBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
