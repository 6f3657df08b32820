//! A one-shot reply channel between the worker threads and the caller's future, with no async
//! runtime: the worker fills a slot and wakes the waker; the caller's `Drop` marks the request
//! cancelled so the queue can skip its windows.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sent: bool,
    sender_gone: bool,
}

struct Shared<T> {
    slot: Mutex<Slot<T>>,
    receiver_gone: AtomicBool,
}

/// The sending half, kept by the worker side.
pub(crate) struct ReplySender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half: a future of the value. Dropping it cancels the request.
pub(crate) struct ReplyReceiver<T> {
    shared: Arc<Shared<T>>,
}

pub(crate) fn channel<T>() -> (ReplySender<T>, ReplyReceiver<T>) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot {
            value: None,
            waker: None,
            sent: false,
            sender_gone: false,
        }),
        receiver_gone: AtomicBool::new(false),
    });
    (
        ReplySender {
            shared: shared.clone(),
        },
        ReplyReceiver { shared },
    )
}

impl<T> ReplySender<T> {
    /// Whether the caller went away (its future was dropped).
    pub(crate) fn is_cancelled(&self) -> bool {
        self.shared.receiver_gone.load(Ordering::Acquire)
    }

    /// Delivers the value (the first send wins; later sends are ignored).
    pub(crate) fn send(&self, value: T) {
        let waker = {
            let Ok(mut slot) = self.shared.slot.lock() else {
                return;
            };
            if slot.sent {
                return;
            }
            slot.sent = true;
            slot.value = Some(value);
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether a value was already sent.
    pub(crate) fn is_sent(&self) -> bool {
        self.shared.slot.lock().map(|s| s.sent).unwrap_or(true)
    }
}

impl<T> Drop for ReplyReceiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
    }
}

/// What the receiver yields when the sender was dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Disconnected;

impl<T> Future for ReplyReceiver<T> {
    type Output = Result<T, Disconnected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Ok(mut slot) = self.shared.slot.lock() else {
            return Poll::Ready(Err(Disconnected));
        };
        if let Some(v) = slot.value.take() {
            return Poll::Ready(Ok(v));
        }
        if slot.sent || slot.sender_gone {
            return Poll::Ready(Err(Disconnected));
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for ReplySender<T> {
    fn drop(&mut self) {
        // Wake a waiting receiver so it sees the disconnection.
        let waker = self.shared.slot.lock().ok().and_then(|mut s| {
            s.sender_gone = true;
            s.waker.take()
        });
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Runs a future to completion on the current thread (for synchronous callers such as
/// `glassbox scan`, benches and tests).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
