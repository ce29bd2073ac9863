//! Connections the mock can break on purpose. A fault such as "connection reset before any
//! byte" cannot be made from a handler, which only returns a response; it needs the socket.
//! [`Listener`] wraps every accepted TCP stream in a [`ControlledIo`] whose writes fail once
//! its [`Connection`] handle (reachable from the request as axum connect info) says so: the
//! response head never reaches the socket, and hyper drops the connection, which closes the
//! socket with a FIN (empty reply) or, with zero linger set, an RST (reset).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

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
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream whose writes fail once its connection is marked broken.
#[derive(Debug)]
pub struct ControlledIo {
    stream: TcpStream,
    state: Arc<AtomicU8>,
}

/// The handle a request holds to break its own connection.
#[derive(Debug, Clone)]
pub struct Connection(Arc<AtomicU8>);

impl Connected<IncomingStream<'_, Listener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        Connection(stream.io().state.clone())
    }
}

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
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.broken() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(error) = self.broken() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
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
