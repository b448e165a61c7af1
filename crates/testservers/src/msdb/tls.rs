//! TLS for TDS. Two protocol facts shape this file (SPEC 7, MS-TDS 2.2.6.5):
//! - During the handshake, TLS records travel inside TDS PRELOGIN packets (type 0x12);
//!   clients reject any other packet type there. After the handshake, TLS records flow
//!   directly over TCP and carry TDS packets inside. [`PreloginFramed`] does the framing
//!   and is switched to pass-through once the handshake is done.
//! - TLS 1.3 session tickets sent after the handshake break tiberius (the client reads
//!   them as TDS data): the server is capped at TLS 1.2, which sends none afterwards.
//!
//! rustls rejects a self-signed CA certificate used as the server certificate, so a CA
//! and a separate leaf for `localhost`/`127.0.0.1` are generated (rcgen).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::tds::pkt;

/// A generated CA (its PEM is what clients trust) and the server config using a leaf it
/// signed.
pub struct ServerTls {
    pub ca_pem: String,
    /// TDS 7.x: TLS inside PRELOGIN packets, TLS 1.2 only.
    pub config: Arc<rustls::ServerConfig>,
    /// TDS 8.0 (strict): TLS 1.2 or 1.3 straight over TCP, ALPN `tds/8.0` (MS-TDS 1.7).
    pub strict_config: Arc<rustls::ServerConfig>,
}

/// The ALPN protocol id of TDS 8.0.
pub const TDS8_ALPN: &[u8] = b"tds/8.0";

pub fn generate() -> Result<ServerTls, String> {
    // A name of its own per server: OpenSSL finds an issuer by name, and a client that
    // trusts the CAs of two servers must not try the other one's key.
    let ca_name = format!(
        "msdb-testserver test CA {}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let crate::certs::Generated { ca_pem, chain, key } = crate::certs::generate(&ca_name)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(|x| x.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key.clone_key())
        .map_err(|x| x.to_string())?;
    // No PRELOGIN framing in TDS 8.0, so TLS 1.3 (and its session tickets) is fine.
    // A client without ALPN is taken as TDS 8.0 too (MS-TDS 1.7).
    let mut strict_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|x| x.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|x| x.to_string())?;
    strict_config.alpn_protocols = vec![TDS8_ALPN.to_vec()];
    Ok(ServerTls {
        ca_pem,
        config: Arc::new(config),
        strict_config: Arc::new(strict_config),
    })
}

/// Wraps the TCP stream for the TLS handshake: reads unwrap PRELOGIN packets, writes are
/// collected and sent as one PRELOGIN message per flush (one TLS flight per message).
pub struct PreloginFramed<S> {
    inner: S,
    pub passthrough: bool,
    // Read side: header bytes gathered so far, then payload bytes left in this packet.
    hdr: [u8; 8],
    hdr_len: usize,
    payload_left: usize,
    // Write side: the pending flight, then the framed bytes being written out.
    pending: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
}

impl<S> PreloginFramed<S> {
    pub fn new(inner: S) -> PreloginFramed<S> {
        PreloginFramed {
            inner,
            passthrough: false,
            hdr: [0; 8],
            hdr_len: 0,
            payload_left: 0,
            pending: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PreloginFramed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.passthrough {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        loop {
            if this.payload_left > 0 {
                // Never read past this packet's payload: what follows may already be
                // raw TLS once the handshake completes.
                let want = this.payload_left.min(buf.remaining());
                let mut sub = ReadBuf::new(buf.initialize_unfilled_to(want));
                match Pin::new(&mut this.inner).poll_read(cx, &mut sub) {
                    Poll::Ready(Ok(())) => {
                        let n = sub.filled().len();
                        if n == 0 {
                            return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                        }
                        buf.advance(n);
                        this.payload_left -= n;
                        return Poll::Ready(Ok(()));
                    }
                    other => return other,
                }
            }
            while this.hdr_len < 8 {
                let mut sub = ReadBuf::new(&mut this.hdr[this.hdr_len..]);
                match Pin::new(&mut this.inner).poll_read(cx, &mut sub) {
                    Poll::Ready(Ok(())) => {
                        let n = sub.filled().len();
                        if n == 0 {
                            // EOF between packets: report EOF to rustls.
                            return Poll::Ready(Ok(()));
                        }
                        this.hdr_len += n;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if this.hdr[0] != pkt::PRELOGIN {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "expected a PRELOGIN packet carrying TLS handshake data, got type {:#04x}",
                        this.hdr[0]
                    ),
                )));
            }
            let len = u16::from_be_bytes([this.hdr[2], this.hdr[3]]) as usize;
            this.payload_left = len.saturating_sub(8);
            this.hdr_len = 0;
        }
    }
}

impl<S: AsyncWrite + Unpin> PreloginFramed<S> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.out[self.out_pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.out_pos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PreloginFramed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.passthrough {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        this.pending.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.pending.is_empty() && this.out.is_empty() {
            // One PRELOGIN message: 4096-byte packets, END_OF_MESSAGE on the last.
            let chunks: Vec<Vec<u8>> = this.pending.chunks(4096 - 8).map(<[u8]>::to_vec).collect();
            let n = chunks.len();
            for (i, c) in chunks.iter().enumerate() {
                let len = (c.len() + 8) as u16;
                this.out.extend_from_slice(&[
                    pkt::PRELOGIN,
                    if i + 1 == n { 1 } else { 0 },
                    (len >> 8) as u8,
                    len as u8,
                    0,
                    0,
                    (i + 1) as u8,
                    0,
                ]);
                this.out.extend_from_slice(c);
            }
            this.pending.clear();
        }
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
