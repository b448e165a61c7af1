//! The EncryptedData / base64 / padding decoder: a real-shaped package whose one
//! encrypted node has fuzzed Salt, IV, algorithm and CipherValue.
#![no_main]

use dtutil::package::{rewrite, Options, Target};
use dtutil::package::ProtectionLevel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.splitn(4, '\u{1}');
    let salt = fields.next().unwrap_or("");
    let iv = fields.next().unwrap_or("");
    let alg = fields.next().unwrap_or("tripledes-cbc");
    let cipher = fields.next().unwrap_or("");
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
    };
    let package = format!(
        "<?xml version=\"1.0\"?><DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:DTSID=\"{{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}}\" DTS:ProtectionLevel=\"2\"><DTS:Property DTS:Name=\"PackageFormatVersion\">8</DTS:Property><EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\" Salt=\"{}\" IV=\"{}\" xmlns=\"http://www.w3.org/2001/04/xmlenc#\"><EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#{}\" /><CipherData><CipherValue>{}</CipherValue></CipherData></EncryptedData></DTS:Executable>",
        esc(salt), esc(iv), esc(alg), esc(cipher)
    );
    let options = Options {
        decrypt_password: Some("pw"),
        target: Target::Level {
            level: ProtectionLevel::DontSaveSensitive,
            password: None,
        },
        algorithm: None,
        regenerate_id: false,
        allow_lost_values: false,
    };
    let _ = rewrite(package.as_bytes(), &options);
});
