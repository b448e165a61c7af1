//! Which SSIS runtime can run a package (SPEC 8). An Azure-SSIS IR runs SQL Server
//! 2017's runtime: it upgrades older packages when it loads them, cannot load newer
//! ones, and cannot open AES-256 values (written by 2019+ tools).

use super::Facts;
use serde::Serialize;

/// A SQL Server release whose SSIS runtime is the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Runtime {
    /// The product's major version (11 = 2012 ... 16 = 2022).
    pub major: u32,
    pub year: u32,
}

const RELEASES: &[(u32, u32)] = &[
    (9, 2005),
    (10, 2008),
    (11, 2012),
    (12, 2014),
    (13, 2016),
    (14, 2017),
    (15, 2019),
    (16, 2022),
];

/// AES-256 package values need the 2019 runtime or later.
const AES_MAJOR: u32 = 15;

impl Runtime {
    /// `2012|2014|2016|2017|2019|2022` (the releases a target can be).
    pub fn parse(year: &str) -> Option<Self> {
        let year: u32 = year.trim().parse().ok()?;
        RELEASES
            .iter()
            .find(|(major, y)| *y == year && *major >= 11)
            .map(|&(major, year)| Self { major, year })
    }

    fn of_major(major: u32) -> Option<Self> {
        RELEASES
            .iter()
            .find(|(m, _)| *m == major)
            .map(|&(major, year)| Self { major, year })
    }
}

/// What a target runtime will make of a package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub target: Option<Runtime>,
    /// Reasons the target cannot load it (nothing is written when there are any).
    pub refusals: Vec<String>,
    /// Things the target will do on its own (upgrade at load time).
    pub notes: Vec<String>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.refusals.is_empty()
    }
}

/// The release that saved a package: its LastModifiedProductVersion, or else what
/// its format implies (2 = 2005, 3 = 2008, 6 = 2012, 8 = 2016).
fn saved_by(info: &Facts) -> Option<Runtime> {
    let from_version = info
        .last_modified_product_version
        .as_deref()
        .and_then(|v| v.split('.').next()?.parse().ok())
        .and_then(Runtime::of_major);
    let from_format = || {
        let major = match info.format? {
            2 => 9,
            3 => 10,
            6 => 11,
            8 => 13,
            _ => return None,
        };
        Runtime::of_major(major)
    };
    from_version.or_else(from_format)
}

/// Judges a package as it will be written (the facts of the output, as seen with its
/// password so a level 3 package shows what is inside; an [`super::Info`] serves).
pub fn judge<'a>(info: impl Into<std::borrow::Cow<'a, Facts>>, target: Runtime) -> Verdict {
    let info = info.into();
    let mut verdict = Verdict {
        target: Some(target),
        ..Verdict::default()
    };
    if target.major < AES_MAJOR && info.algorithms.iter().any(|a| a == "aes256") {
        verdict.refusals.push(format!(
            "it holds AES-256 values, which the SQL Server {} runtime cannot open (they need 2019 or later); re-encrypt with --algorithm 3des",
            target.year
        ));
    }
    match saved_by(&info) {
        Some(saved) if saved.major > target.major => verdict.refusals.push(format!(
            "it was saved by SQL Server {} tools (version {}), newer than the SQL Server {} runtime can load",
            saved.year,
            saved.major,
            target.year
        )),
        Some(saved) if saved.major < target.major => verdict.notes.push(format!(
            "the SQL Server {} runtime will upgrade it from SQL Server {} when it loads it",
            target.year, saved.year
        )),
        Some(_) => {}
        None => verdict
            .notes
            .push("its release could not be told (no product version or format visible)".into()),
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Info;

    fn info(version: Option<&str>, format: Option<u32>, algorithms: &[&str]) -> Info {
        Info {
            last_modified_product_version: version.map(str::to_string),
            format,
            algorithms: algorithms.iter().map(|a| a.to_string()).collect(),
            ..Info::default()
        }
    }

    #[test]
    fn azure_ssis_ir_2017() {
        let t = Runtime::parse("2017").unwrap();
        assert!(judge(&info(Some("14.0.3002.68"), Some(8), &["3des"]), t).ok());
        let newer = judge(&info(Some("15.0.2000.180"), Some(8), &[]), t);
        assert!(!newer.ok() && newer.refusals[0].contains("2019"));
        let aes = judge(&info(Some("14.0.1"), Some(8), &["aes256"]), t);
        assert!(aes.refusals[0].contains("--algorithm 3des"));
        let older = judge(&info(None, Some(3), &[]), t);
        assert!(older.ok() && older.notes[0].contains("2008"));
        assert!(judge(
            &info(Some("15.0.1"), None, &["aes256"]),
            Runtime::parse("2019").unwrap()
        )
        .ok());
        assert!(Runtime::parse("2005").is_none() && Runtime::parse("2018").is_none());
    }
}
