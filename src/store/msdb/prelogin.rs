//! Whether a server can encrypt at all, asked before a `DTUTIL_SQL_ENCRYPT=off` login.
//!
//! tiberius 0.13 starts TLS when it asked for ENCRYPT_OFF and the server answered
//! ENCRYPT_NOT_SUP (its table gives `On`; MS-TDS 2.2.6.5 gives no encryption at all;
//! tiberius issue #320). A server that cannot encrypt then receives a TLS ClientHello
//! where the LOGIN7 belongs and drops the connection, so every such login used to cost a
//! failed connection, logged by the server, before the retry without TLS. Here a
//! connection of its own carries one PRELOGIN and ends: the server's answer decides the
//! level tiberius is given. It is kept for the process (a batch connects many times).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tiberius::{Config, SqlBrowser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PRELOGIN: u8 = 0x12;
const ENCRYPT_OFF: u8 = 0x00;
const ENCRYPT_NOT_SUP: u8 = 0x02;
const OPTION_VERSION: u8 = 0x00;
const OPTION_ENCRYPTION: u8 = 0x01;
const OPTION_END: u8 = 0xFF;

static ANSWERS: Mutex<Option<HashMap<String, bool>>> = Mutex::new(None);

/// True when the server named `server` (as `config` reaches it) answered that it cannot
/// encrypt; false when it can, or when it could not be asked (the login then finds out).
pub(super) async fn server_cannot_encrypt(server: &str, config: &Config, limit: Duration) -> bool {
    let known = |answers: &mut Option<HashMap<String, bool>>| {
        answers
            .get_or_insert_with(HashMap::new)
            .get(server)
            .copied()
    };
    if let Some(known) = known(&mut ANSWERS.lock().unwrap_or_else(|e| e.into_inner())) {
        return known;
    }
    let Ok(Some(answer)) = tokio::time::timeout(limit, ask(config)).await else {
        return false;
    };
    let cannot = answer == ENCRYPT_NOT_SUP;
    ANSWERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(server.to_string(), cannot);
    cannot
}

/// `config` asking for no TLS at all (ENCRYPT_NOT_SUP).
pub(super) fn without_tls(config: &Config) -> Config {
    let mut config = config.clone();
    config.encryption(tiberius::EncryptionLevel::NotSupported);
    config
}

async fn ask(config: &Config) -> Option<u8> {
    let mut tcp = TcpStream::connect_named(config).await.ok()?;
    tcp.write_all(&request()).await.ok()?;
    let mut header = [0u8; 8];
    tcp.read_exact(&mut header).await.ok()?;
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut payload = vec![0u8; length.checked_sub(8)?];
    tcp.read_exact(&mut payload).await.ok()?;
    encryption_answer(&payload)
}

/// A PRELOGIN packet with the two options every server reads: VERSION and ENCRYPTION
/// (ENCRYPT_OFF, as the login that follows asks).
fn request() -> Vec<u8> {
    let options = [
        OPTION_VERSION,
        0,
        11,
        0,
        6,
        OPTION_ENCRYPTION,
        0,
        17,
        0,
        1,
        OPTION_END,
    ];
    let data = [0, 0, 0, 0, 0, 0, ENCRYPT_OFF];
    let length = (8 + options.len() + data.len()) as u16;
    let mut packet = vec![PRELOGIN, 0x01];
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 1, 0]);
    packet.extend_from_slice(&options);
    packet.extend_from_slice(&data);
    packet
}

/// The ENCRYPTION byte of a PRELOGIN answer's payload (MS-TDS 2.2.6.5).
fn encryption_answer(payload: &[u8]) -> Option<u8> {
    let mut at = 0;
    while let Some(&token) = payload.get(at) {
        if token == OPTION_END {
            return None;
        }
        let field = payload.get(at + 1..at + 5)?;
        if token == OPTION_ENCRYPTION {
            let offset = usize::from(u16::from_be_bytes([field[0], field[1]]));
            return payload.get(offset).copied();
        }
        at += 5;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_read_from_its_option() {
        // VERSION, ENCRYPTION (NOT_SUP), MARS, end; then their data.
        let payload = [
            0, 0, 16, 0, 6, 1, 0, 22, 0, 1, 4, 0, 23, 0, 1, 0xFF, 16, 0, 0, 0, 0, 0, 2, 0,
        ];
        assert_eq!(encryption_answer(&payload), Some(ENCRYPT_NOT_SUP));
        assert_eq!(encryption_answer(&[0xFF]), None);
        assert_eq!(encryption_answer(&[1, 0, 200, 0, 1, 0xFF]), None);
        assert_eq!(encryption_answer(&[1, 0]), None);
    }

    #[test]
    fn the_request_is_one_whole_prelogin_packet() {
        let packet = request();
        assert_eq!(packet[0], PRELOGIN);
        assert_eq!(
            usize::from(u16::from_be_bytes([packet[2], packet[3]])),
            packet.len()
        );
        assert_eq!(encryption_answer(&packet[8..]), Some(ENCRYPT_OFF));
    }
}
