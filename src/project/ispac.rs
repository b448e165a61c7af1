//! The checks an `.ispac` (a zip) passes before any entry is inflated.

use crate::error::Error;
use std::io::Read;
use std::path::Path;

type Zip<'a> = zip::ZipArchive<std::io::Cursor<&'a [u8]>>;

/// The .ispac's zip directory (nothing inflated).
pub fn open<'a>(raw: &'a [u8], path: &Path) -> Result<Zip<'a>, Error> {
    zip::ZipArchive::new(std::io::Cursor::new(raw)).map_err(|e| {
        Error::cannot_load(format!(
            "`{}`: not a valid .ispac (zip): {e}",
            path.display()
        ))
    })
}

/// An entry's name from its stored bytes: `Ok` when they are UTF-8 and the zip reader
/// reads the same name (no CP437 decoding, no differing Unicode path field), else
/// `Err` with a lossy form for messages. A name is never silently re-encoded.
pub fn entry_name<R: Read>(f: &zip::read::ZipFile<'_, R>) -> Result<String, String> {
    let raw = f.name_raw();
    let shown = || String::from_utf8_lossy(raw).into_owned();
    let Ok(text) = std::str::from_utf8(raw) else {
        return Err(shown());
    };
    match f.name() {
        Ok(read) if read == text => Ok(text.to_string()),
        _ => Err(shown()),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Inflates the entries that are read one at a time, each bounded, with a running
/// total over all of them: an entry's bytes are dropped once processed, so memory
/// holds one entry (and the results) rather than the whole project.
pub struct Inflater<'a> {
    zip: Zip<'a>,
    path: &'a Path,
    total: u64,
}

impl<'a> Inflater<'a> {
    pub fn new(raw: &'a [u8], path: &'a Path) -> Result<Self, Error> {
        Ok(Self {
            zip: open(raw, path)?,
            path,
            total: 0,
        })
    }

    pub fn inflate(&mut self, index: usize, name: &str) -> Result<Vec<u8>, Error> {
        let path = self.path;
        let mut f = self
            .zip
            .by_index(index)
            .map_err(|e| Error::cannot_load(format!("`{}`: entry {index}: {e}", path.display())))?;
        let limit = crate::package::xml::MAX_PACKAGE_BYTES as u64;
        let mut bytes = Vec::new();
        (&mut f)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::cannot_load(format!("`{}`: `{name}`: {e}", path.display())))?;
        if bytes.len() as u64 > limit {
            return Err(Error::cannot_load(format!(
                "`{}`: `{name}` inflates to more than {} MiB",
                path.display(),
                limit >> 20
            )));
        }
        self.total += bytes.len() as u64;
        if self.total > MAX_UNCOMPRESSED {
            return Err(Error::cannot_load(format!(
                "`{}`: its packages and project files inflate to more than {} MiB in all; a real project is far smaller (a zip bomb?)",
                path.display(),
                MAX_UNCOMPRESSED >> 20
            )));
        }
        Ok(bytes)
    }
}

/// What the entries that are read (packages, parameters, connection managers, the
/// manifest) may inflate to together: one package's bound.
pub const MAX_UNCOMPRESSED: u64 = crate::package::xml::MAX_PACKAGE_BYTES as u64;

/// Refuses what no tool that builds an .ispac writes and only an attack needs: two
/// entries of one name (the zip reader would keep only the last) and entries that share
/// bytes (one compressed stream named many times inflates many times over).
pub fn refuse_hostile_layout(zip: &mut Zip<'_>, raw: &[u8], path: &Path) -> Result<(), Error> {
    if zip.has_duplicate_names() {
        let mut seen = std::collections::HashSet::new();
        let mut dups: Vec<String> = central_directory_names(raw)
            .into_iter()
            .filter(|n| !seen.insert(n.clone()))
            .map(|n| format!("`{}`", String::from_utf8_lossy(&n)))
            .collect();
        dups.dedup();
        return Err(Error::cannot_load(format!(
            "`{}`: the .ispac names more than one entry {}; a tool would read only one of them, so it is refused (rebuild the .ispac)",
            path.display(),
            if dups.is_empty() { "the same".to_string() } else { dups.join(", ") }
        )));
    }
    let overlapping = zip.has_overlapping_entries().map_err(|e| {
        Error::cannot_load(format!(
            "`{}`: not a valid .ispac (zip): {e}",
            path.display()
        ))
    })?;
    if overlapping {
        return Err(Error::cannot_load(format!(
            "`{}`: entries of the .ispac share their bytes (overlapping zip entries, as zip bombs use); refused",
            path.display()
        )));
    }
    Ok(())
}

/// Every entry name of the central directory as stored, duplicates included (the zip
/// reader keeps one entry per name). Best effort: empty when the directory cannot be
/// walked here (zip64 counts).
fn central_directory_names(raw: &[u8]) -> Vec<Vec<u8>> {
    let u16_at = |i: usize| {
        raw.get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |i: usize| {
        raw.get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let tail_start = raw.len().saturating_sub(22 + 65_535);
    let Some(eocd) =
        memchr::memmem::rfind(&raw[tail_start..], b"PK\x05\x06").map(|i| tail_start + i)
    else {
        return Vec::new();
    };
    let (Some(count), Some(mut at)) = (u16_at(eocd + 10), u32_at(eocd + 16)) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for _ in 0..count {
        if raw.get(at..at + 4) != Some(b"PK\x01\x02") {
            break;
        }
        let (Some(n), Some(x), Some(c)) = (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32))
        else {
            break;
        };
        let Some(name) = raw.get(at + 46..at + 46 + n) else {
            break;
        };
        names.push(name.to_vec());
        at += 46 + n + x + c;
    }
    names
}
