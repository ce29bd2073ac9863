//! Connections the mock can break on purpose. A fault such as "connection reset before any
//! byte" cannot be made from a handler, which only returns a response; it needs the socket.
//! [`Listener`] wraps every accepted TCP stream in a [`ControlledIo`] whose writes fail once
//! its [`Connection`] handle (reachable from the request as axum connect info) says so: the
//! response head never reaches the socket, and hyper drops the connection, which closes the
//! socket with a FIN (empty reply) or, with zero linger set, an RST (reset).
//!
//! The same wrapper bounds how long a write may wait for a client that does not read its
//! answer (`--idle-timeout`): only the socket sees that, hyper has no timer for it.

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
        Pin::new(&mut self.stream).poll_read(cx, buf)
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
