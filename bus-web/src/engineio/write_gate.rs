//! The write side of a lean WebSocket connection, shared by the session
//! and the connection actor so that the session can write a batch straight
//! to the socket.
//!
//! Most batches fit in the socket's send buffer. For those the session
//! encodes the frames and writes them with one non-blocking system call
//! ([`WriteGate::write_now`]): no message to the connection actor, no
//! future, no timer. Whatever the socket does not take at once stays in the
//! gate as *pending* bytes, and the connection actor writes them
//! asynchronously (with its write timeout) when the session sends it
//! `FlushPending`. The connection actor's own writes (pongs, close frames,
//! batches sent as `WriteFrames`) go through the gate too and take the
//! pending bytes first, so frames are never interleaved or reordered.
//!
//! Owns the write half of the socket and the order of writes; it must not
//! decide what is written (the session does) nor read (the reader does).

use std::io;
use std::sync::{Arc, Mutex};

use actix_codec::Encoder as _;
use actix_http::ws;
use bytes::{Buf as _, BytesMut};
use tokio::net::tcp::OwnedWriteHalf;

use super::packet::{encoded_len, into_frame, Frame, Packet};

/// The socket's write half and who may write to it now.
#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    /// Set once the `101` answer is written; taken (the write side shut
    /// down) when the connection ends.
    writer: Option<Arc<OwnedWriteHalf>>,
    /// The connection actor is writing: the session must not write
    /// directly until it is done.
    busy: bool,
    /// Bytes that must go out before anything else (the tail of a batch
    /// the socket did not take at once): while there are any, the session
    /// queues behind them rather than writing.
    pending: BytesMut,
    /// A write failed or the connection ended: nothing is written any more.
    closed: bool,
}

/// What [`WriteGate::write_now`] did with a batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteNow {
    /// The socket took the whole batch.
    Written,
    /// Some or all of the batch is pending: the connection actor must
    /// write it (send it `FlushPending`).
    Pending,
    /// The connection is gone (a write failed or it ended).
    Closed,
}

impl WriteGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the gate the socket's write half (the `101` answer is out).
    pub(crate) fn open(&self, writer: OwnedWriteHalf) {
        let mut state = self.lock();
        if !state.closed {
            state.writer = Some(Arc::new(writer));
        }
    }

    /// Writes `bytes` now if nothing else is being written, as far as the
    /// socket takes them without waiting; the rest becomes pending.
    pub(crate) fn write_now(&self, mut bytes: BytesMut) -> WriteNow {
        let mut state = self.lock();
        if state.closed {
            return WriteNow::Closed;
        }
        let writer = match &state.writer {
            Some(writer) if !state.busy && state.pending.is_empty() => writer.clone(),
            // Not accepted yet, or the actor is writing or has bytes to
            // write: queue behind them.
            _ => {
                state.pending.unsplit(bytes);
                return WriteNow::Pending;
            }
        };
        while !bytes.is_empty() {
            match writer.try_write(&bytes) {
                Ok(0) => {
                    state.close();
                    return WriteNow::Closed;
                }
                Ok(n) => bytes.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    state.pending = bytes;
                    return WriteNow::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    tracing::debug!(%error, "websocket write failed");
                    state.close();
                    return WriteNow::Closed;
                }
            }
        }
        WriteNow::Written
    }

    /// The connection actor starts a write of `bytes`: returns the writer
    /// and everything to write (pending bytes first), and holds the gate
    /// until [`end`](Self::end). `None` once the connection is gone.
    pub(crate) fn begin(&self, bytes: BytesMut) -> Option<(Arc<OwnedWriteHalf>, BytesMut)> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        let writer = state.writer.clone()?;
        let mut all = std::mem::take(&mut state.pending);
        all.unsplit(bytes);
        state.busy = true;
        Some((writer, all))
    }

    /// The connection actor's write ended (`ok`: completely). Whatever the
    /// session queued meanwhile is pending, so it still goes out before any
    /// direct write (its `FlushPending` writes it next).
    pub(crate) fn end(&self, ok: bool) {
        let mut state = self.lock();
        state.busy = false;
        if !ok {
            state.close();
        }
    }

    /// The connection ended: drop the write half (shutting the socket's
    /// write side down once no write holds it) and any pending bytes.
    pub(crate) fn close(&self) {
        self.lock().close();
    }
}

impl GateState {
    fn close(&mut self) {
        self.closed = true;
        self.writer = None;
        self.pending = BytesMut::new();
    }
}

/// Writes all of `bytes` to `writer`, waiting for the socket to take them.
pub(crate) async fn write_all(writer: &OwnedWriteHalf, mut bytes: BytesMut) -> io::Result<()> {
    while !bytes.is_empty() {
        writer.writable().await?;
        match writer.try_write(&bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes.advance(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Encodes one WebSocket message (server side: unmasked).
pub(crate) fn encode_message(message: ws::Message, out: &mut BytesMut) -> bool {
    ws::Codec::new().encode(message, out).is_ok()
}

/// Encodes a batch of Engine.IO packets as WebSocket frames, one buffer.
pub(crate) fn encode_batch(packets: Vec<Packet>) -> BytesMut {
    // Sized once: each frame's data plus at most a 10-byte header.
    let size: usize = packets.iter().map(|p| encoded_len(p) + 10).sum();
    let mut bytes = BytesMut::with_capacity(size);
    for packet in packets {
        let message = match into_frame(packet) {
            Frame::Text(text) => ws::Message::Text(text),
            Frame::Binary(data) => ws::Message::Binary(data),
        };
        encode_message(message, &mut bytes);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::AsyncReadExt as _;

    async fn pair() -> (tokio::net::TcpStream, OwnedWriteHalf) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_read, write) = server.into_split();
        // The read half is dropped: only the write side is used here.
        (client, write)
    }

    #[actix_rt::test]
    async fn a_batch_is_written_at_once_when_the_socket_takes_it() {
        let (mut client, write) = pair().await;
        let gate = WriteGate::default();
        gate.open(write);
        assert_eq!(
            gate.write_now(BytesMut::from(&b"hello"[..])),
            WriteNow::Written
        );
        let mut buf = [0u8; 5];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
    }

    #[actix_rt::test]
    async fn bytes_written_before_the_socket_is_open_wait_their_turn() {
        let (mut client, write) = pair().await;
        let gate = WriteGate::default();
        assert_eq!(
            gate.write_now(BytesMut::from(&b"first "[..])),
            WriteNow::Pending
        );
        gate.open(write);
        let (writer, all) = gate.begin(BytesMut::from(&b"second"[..])).unwrap();
        // The session may not write while the actor holds the gate.
        assert_eq!(
            gate.write_now(BytesMut::from(&b" third"[..])),
            WriteNow::Pending
        );
        write_all(&writer, all).await.unwrap();
        gate.end(true);
        // Still held: " third" is pending and goes next.
        let (writer, all) = gate.begin(BytesMut::new()).unwrap();
        write_all(&writer, all).await.unwrap();
        gate.end(true);
        assert_eq!(gate.write_now(BytesMut::from(&b"!"[..])), WriteNow::Written);
        let mut buf = [0u8; 19];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"first second third!");
    }

    #[actix_rt::test]
    async fn what_the_socket_cannot_take_now_is_left_for_the_actor() {
        let (mut client, write) = pair().await;
        let gate = WriteGate::default();
        gate.open(write);
        // Far more than a loopback socket buffers while nobody reads.
        let big = BytesMut::from(&vec![7u8; 64 << 20][..]);
        assert_eq!(gate.write_now(big), WriteNow::Pending);
        assert_eq!(gate.write_now(BytesMut::from(&b"x"[..])), WriteNow::Pending);
        let (writer, all) = gate.begin(BytesMut::new()).unwrap();
        let reading = tokio::spawn(async move {
            let mut total = 0usize;
            let mut buf = vec![0u8; 1 << 16];
            let mut last = 0u8;
            while total < (64 << 20) + 1 {
                let n = client.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed early");
                total += n;
                last = buf[n - 1];
            }
            (total, last)
        });
        write_all(&writer, all).await.unwrap();
        gate.end(true);
        let (total, last) = reading.await.unwrap();
        assert_eq!(total, (64 << 20) + 1);
        assert_eq!(last, b'x');
    }

    #[actix_rt::test]
    async fn a_closed_gate_writes_nothing() {
        let (_client, write) = pair().await;
        let gate = WriteGate::default();
        gate.open(write);
        gate.close();
        assert_eq!(
            gate.write_now(BytesMut::from(&b"late"[..])),
            WriteNow::Closed
        );
        assert!(gate.begin(BytesMut::new()).is_none());
    }
}
