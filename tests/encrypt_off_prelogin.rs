//! `DTUTIL_SQL_ENCRYPT=off` with a server that cannot encrypt (ENCRYPT_NOT_SUP): the
//! login goes without TLS at once. tiberius 0.13 alone would start TLS anyway (its
//! ClientHello, in a PRELOGIN packet, arriving where the server expects LOGIN7: the
//! msdb test server's "expected LOGIN7 (0x10), got packet type 0x12" in `make
//! bench-batch`), and dtutil then had to connect a second time.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One TDS packet: its type and payload (single-packet messages are all this sees).
fn packet(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut header = [0u8; 8];
    s.read_exact(&mut header).ok()?;
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut payload = vec![0u8; length.checked_sub(8)?];
    s.read_exact(&mut payload).ok()?;
    Some((header[0], payload))
}

/// A server without TLS: answers every PRELOGIN with ENCRYPT_NOT_SUP, notes the type
/// of the packet that comes next on each connection (none: the client hung up), and
/// hangs up itself.
fn server_that_cannot_encrypt() -> (u16, Arc<Mutex<Vec<Option<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let noted = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            if !matches!(packet(&mut s), Some((0x12, _))) {
                continue;
            }
            // VERSION, ENCRYPTION = NOT_SUP (2), end; then their data.
            let payload = [0u8, 0, 11, 0, 6, 1, 0, 17, 0, 1, 0xFF, 16, 0, 0, 0, 0, 0, 2];
            let mut reply = vec![0x04, 0x01, 0, (8 + payload.len()) as u8, 0, 0, 1, 0];
            reply.extend_from_slice(&payload);
            let _ = s.write_all(&reply);
            let next = packet(&mut s).map(|(ty, _)| ty);
            noted.lock().unwrap().push(next);
        }
    });
    (port, seen)
}

#[test]
fn encrypt_off_sends_no_tls_to_a_server_that_cannot_encrypt() {
    let (port, seen) = server_that_cannot_encrypt();
    let dir = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1,{port}");
    let env = common::owned(&[("DTUTIL_SQL_ENCRYPT", "off"), ("PW", "x")]);
    let args = [
        "/SQL",
        "p",
        "/SourceServer",
        &server,
        "/SourceUser",
        "sa",
        "/SourcePassword",
        "env:PW",
        "/EXISTS",
    ];
    let out = common::dtutil_clean(dir.path(), &env, &args);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains(&Some(0x10)),
        "no LOGIN7 reached the server: {seen:?}\n{}",
        common::shown(&out)
    );
    assert!(
        !seen.contains(&Some(0x12)),
        "a TLS handshake (in a PRELOGIN packet) was started after ENCRYPT_NOT_SUP: {seen:?}"
    );
}
