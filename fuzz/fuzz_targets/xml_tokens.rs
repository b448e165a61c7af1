//! The scan's tokenizer against quick-xml on arbitrary bytes: the same tokens, spans,
//! attributes and errors (at the same positions), as `src/package/tokens_tests.rs`
//! checks on the fixtures.
//! Reading starts past a UTF-8 byte order mark, as the scan does.
#![no_main]

use dtutil::package::tokens::{Token, Tokens};
use libfuzzer_sys::fuzz_target;

#[path = "../../src/package/tokens_reference.rs"]
mod reference;

fuzz_target!(|data: &[u8]| {
    let from = if data.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    // A second byte order mark never reaches the tokenizer: the scan refuses a BOM past
    // the first before reading (xml::check_text), where quick-xml would skip it silently.
    if data[from..].starts_with(b"\xEF\xBB\xBF") {
        return;
    }
    let theirs = reference::quick_xml_reading(data, from);
    let ours = reference::tokens_reading(data, from);
    if ours != theirs {
        let at = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
        panic!(
            "read differently at item {at}:\n  quick-xml: {:?}\n  tokens:    {:?}",
            theirs.get(at),
            ours.get(at)
        );
    }
});
