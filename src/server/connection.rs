//! Connections the mock can break on purpose. A fault such as "connection reset before any
//! byte" cannot be made from a handler, which only returns a response; it needs the socket.
//! [`Listener`] wraps every accepted TCP stream in a [`ControlledIo`] whose writes fail once
//! its [`Connection`] handle (reachable from the request as axum connect info) says so: the
//! response head never reaches the socket, and hyper drops the connection, which closes the
//! socket with a FIN (empty reply) or, with zero linger set, an RST (reset).
//!
//! The same wrapper bounds how long a write may wait for a client that does not read its
//! answer (`--idle-timeout`), and how long a kept-alive connection may wait, after an answer,
//! for the first byte of its next request (`--keep-alive-timeout`): only the socket sees
//! those, hyper has no timer for them (its header timer runs too, so the shorter one wins).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

const OPEN: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

/// A TCP listener whose connections can be broken on purpose.
#[derive(Debug)]
pub struct Listener(pub TcpListener);

impl axum::serve::Listener for Listener {
    type Io = ControlledIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        let io = ControlledIo {
            stream,
            state: Arc::new(AtomicU8::new(OPEN)),
            write_timeout: None,
            stalled: None,
            keep_alive: None,
            answered: false,
            waiting: None,
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream whose writes fail once its connection is marked broken, or once a write has
/// waited longer than the write timeout for the client to read.
#[derive(Debug)]
pub struct ControlledIo {
    stream: TcpStream,
    state: Arc<AtomicU8>,
    write_timeout: Option<Duration>,
    /// Running while a write waits for the socket; reset by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
    keep_alive: Option<Duration>,
    /// Bytes were written since the last bytes were read: the connection waits for its next
    /// request (or a long answer is still being written).
    answered: bool,
    /// Running while a read waits after an answer; reset by any byte read or written.
    waiting: Option<Pin<Box<Sleep>>>,
}

/// The handle a request holds to break its own connection.
#[derive(Debug, Clone)]
pub struct Connection(Arc<AtomicU8>);

impl Connection {
    /// Nothing more is written; the socket closes normally (the client sees an empty reply).
    pub fn close(&self) {
        self.0.store(CLOSE, Ordering::SeqCst);
    }

    /// Nothing more is written; the socket is reset (the client sees ECONNRESET).
    pub fn reset(&self) {
        self.0.store(RESET, Ordering::SeqCst);
    }
}

impl ControlledIo {
    /// The same stream, whose writes fail after waiting `timeout` for a client that does not
    /// read.
    pub fn with_write_timeout(mut self, timeout: Duration) -> ControlledIo {
        self.write_timeout = Some(timeout);
        self
    }

    /// The same stream, which reads end-of-stream once it has waited `timeout`, after an
    /// answer, without a byte of a next request. hyper then closes the connection (a read
    /// closed mid-answer, as during a long stream, is a half-close: the answer still goes out).
    pub fn with_keep_alive(mut self, timeout: Duration) -> ControlledIo {
        self.keep_alive = Some(timeout);
        self
    }

    /// Progress of a write: the answer is going out, and the keep-alive clock starts afresh.
    fn wrote<T>(&mut self, poll: &Poll<io::Result<T>>) {
        if matches!(poll, Poll::Ready(Ok(_))) {
            self.answered = true;
            self.waiting = None;
        }
    }

    /// The handle a request on this connection uses to break it.
    pub fn handle(&self) -> Connection {
        Connection(self.state.clone())
    }

    /// Turns a pending write into an error once it has waited longer than the write timeout;
    /// progress (a ready write) stops the clock.
    fn bounded<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let Some(timeout) = self.write_timeout else {
            return poll;
        };
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read its answer within --idle-timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// `Some(error)` once the connection is broken: the write fails, and hyper drops it.
    fn broken(&self) -> Option<io::Error> {
        match self.state.load(Ordering::SeqCst) {
            OPEN => None,
            state => {
                if state == RESET {
                    // Zero linger: closing the socket sends an RST instead of a FIN.
                    let _ = self.stream.set_zero_linger();
                }
                Some(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection broken on purpose (evalmock fault)",
                ))
            }
        }
    }
}

impl AsyncRead for ControlledIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.stream).poll_read(cx, buf);
        match (&poll, self.keep_alive) {
            (Poll::Ready(_), _) => {
                if buf.filled().len() > before {
                    self.answered = false;
                }
                self.waiting = None;
                poll
            }
            (Poll::Pending, Some(timeout)) if self.answered => {
                let waiting = self
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match waiting.as_mut().poll(cx) {
                    // End of stream: nothing more comes on this connection.
                    Poll::Ready(()) => Poll::Ready(Ok(())),
                    Poll::Pending => Poll::Pending,
                }
            }
            (Poll::Pending, _) => poll,
        }
    }
}

impl AsyncWrite for ControlledIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.broken() {
            return Poll::Ready(Err(error));
        }
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(&poll);
        self.bounded(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.broken() {
            return Poll::Ready(Err(error));
        }
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(&poll);
        self.bounded(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(error) = self.broken() {
            return Poll::Ready(Err(error));
        }
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.bounded(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A reset must not send a FIN first (the client would see a clean close): the socket
        // is only dropped, which with zero linger sends the RST.
        if self.state.load(Ordering::SeqCst) == RESET {
            let _ = self.stream.set_zero_linger();
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
