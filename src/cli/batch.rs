//! `dtutil batch`: its arguments (clap), their help, and the grammar of `--from` /
//! `--to` locations.
//!
//! Grammar (checked in this order):
//! - `sql://SERVER/Folder/Sub`: an msdb folder on SERVER (any dtutil server form up to
//!   the first `/`, e.g. `sql://db1,1433/ETL` or `sql://host\INST/ETL`);
//!   `sql://SERVER` or `sql://SERVER/` is msdb's root folder.
//! - `SQL:Folder\Sub` (also `SQL;...`): an msdb folder on the server given with
//!   `--source-server` / `--dest-server` (the local default instance without one).
//! - `dts:Root\Folder`: a package store folder (SPEC 2, DTS), e.g. `dts:MSDB\ETL` or
//!   `"dts:File System\ETL"`.
//! - `\\ACCOUNT.file.core.windows.net\share\dir` or `https://ACCOUNT.file.core.windows.net/share/dir`:
//!   an Azure Files directory (credentials from the environment).
//! - anything with `*`, `?` or `[` in it: a glob over local files (`**` crosses
//!   directories); the folder tree kept is the one below the glob's fixed prefix.
//! - anything else: a local directory, read recursively (`*.dtsx`), created as needed
//!   as a destination.

use super::{clap_error, values};
use crate::error::{Error, Result};
use crate::package::ProtectionLevel;
use crate::plan::{BatchLocation, BatchPlan, Command, LocationKind, SecretSpec, SqlConnection};
use crate::store::{self, azfiles};
use clap::{CommandFactory, Parser};

/// Workers are for I/O, not cores: each spends most of a small package's time in its
/// file's and folder's syncs (or a server's round trips), so more of them than cores
/// keep the disk busy (measured in issue 12: 400 small packages, 2 cores).
const DEFAULT_JOBS: usize = 16;
const MAX_JOBS: usize = 256;
/// `--in-flight-bytes` when not given: with --jobs set for small packages, large ones
/// would otherwise multiply the memory (a few hundred MB at most this way).
const DEFAULT_IN_FLIGHT: &str = "256M";

#[derive(clap::Parser)]
#[command(
    name = "dtutil batch",
    bin_name = "dtutil batch",
    about = "Copies (and re-protects) a whole tree of SSIS packages in one run",
    after_help = "LOCATIONS (--from / --to):\n  DIR                      a local directory, recursive (*.dtsx); created as a destination\n  'GLOB'                   local files, e.g. 'pkgs/**/*.dtsx' (source only)\n  sql://SERVER/Folder      an msdb folder on SERVER (host, host,port, host\\instance)\n  SQL:Folder\\Sub           an msdb folder on --source-server / --dest-server\n  dts:Root\\Folder          a package store folder (MsDtsSrvr.ini.xml roots)\n  \\\\ACCOUNT.file.core.windows.net\\share\\dir (or https://...)   an Azure Files directory\n\nThe folder tree below the source is kept at the destination (folders are created).\nPasswords: env:NAME, file:PATH or the text. Azure credentials come from the environment.\nExit code: 0 when every package succeeded, 1 otherwise, 6 for a command-line error."
)]
struct Cli {
    /// The source tree (see LOCATIONS).
    #[arg(long, value_name = "SOURCE")]
    from: String,
    /// The destination root (see LOCATIONS).
    #[arg(long, value_name = "DEST")]
    to: String,
    /// SQL Server of a SQL:... source.
    #[arg(long)]
    source_server: Option<String>,
    /// SQL login for the source (without one: integrated authentication).
    #[arg(long)]
    source_user: Option<String>,
    /// Password of --source-user (env:NAME, file:PATH or the text).
    #[arg(long)]
    source_password: Option<String>,
    /// SQL Server of a SQL:... destination.
    #[arg(long)]
    dest_server: Option<String>,
    /// SQL login for the destination.
    #[arg(long)]
    dest_user: Option<String>,
    /// Password of --dest-user.
    #[arg(long)]
    dest_password: Option<String>,
    /// Re-protect every package: LEVEL[;PASSWORD], LEVEL 0, 2, 3 or 5 (5 for msdb).
    #[arg(long, value_name = "LEVEL[;PASSWORD]")]
    encrypt: Option<String>,
    /// The password the source packages are protected with.
    #[arg(long, value_name = "PASSWORD")]
    decrypt: Option<String>,
    /// Cipher for re-encrypted values: 3des or aes256 (default: each package's own).
    #[arg(long)]
    algorithm: Option<String>,
    /// Give every written package a new ID (as dtutil /I).
    #[arg(long)]
    regenerate_ids: bool,
    /// Replace packages that exist at the destination.
    #[arg(long, conflicts_with = "skip_existing")]
    overwrite: bool,
    /// Keep packages that exist at the destination (counted as success).
    #[arg(long)]
    skip_existing: bool,
    /// Packages in flight at once; each worker keeps its own connections. Set for
    /// I/O, not for cores; large packages are held back by --in-flight-bytes.
    #[arg(long, default_value_t = DEFAULT_JOBS)]
    jobs: usize,
    /// The packages in flight together hold at most this many bytes (K, M, G): a
    /// worker waits while a package would not fit beside them (one larger package
    /// goes alone). Memory is about 1.2x this, more for a huge sensitive value.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_IN_FLIGHT)]
    in_flight_bytes: String,
    /// Read and check everything, print the plan (a table, or JSON with --json), write nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON lines (one per package, then a summary) instead of text.
    #[arg(long)]
    json: bool,
    /// Write a JSON report of every package here (default with --resume: that file).
    #[arg(long, value_name = "PATH")]
    report: Option<String>,
    /// Skip packages this earlier report shows done whose source is unchanged.
    #[arg(long, value_name = "REPORT")]
    resume: Option<String>,
    /// Stop starting packages after the first failure.
    #[arg(long)]
    fail_fast: bool,
    /// Follow symbolic links in a local source (a link loop is reported, not entered
    /// again). Without it links are skipped, never opened.
    #[arg(long)]
    follow_links: bool,
    /// Write user-key (level 1) packages with their unreadable values blank.
    #[arg(long)]
    allow_lost_sensitive: bool,
    /// Fail packages the SQL Server runtime of this release (2012-2022) cannot load.
    #[arg(long, value_name = "YEAR")]
    target_version: Option<String>,
    /// The package store's MsDtsSrvr.ini.xml for dts: locations (default:
    /// DTUTIL_STORE_CONFIG, then the per-user file).
    #[arg(long, value_name = "PATH")]
    store_config: Option<String>,
    /// dts: roots are this Azure-SSIS IR's package stores (resource id or S/RG/F/IR;
    /// default: DTUTIL_IR).
    #[arg(long, value_name = "ID")]
    ir: Option<String>,
    /// Also run `dtutil assess`'s rules (for the Azure-SSIS IR, or --target-version) on
    /// every package and write the findings into the report.
    #[arg(long)]
    assess: bool,
}

/// `dtutil assess` names its msdb login `--sql-user`; a batch has two sides, so the
/// same words are told which option each side takes (clap alone would suggest
/// `--dest-user`, the wrong side for a `--from sql://` source).
fn refuse_assess_login_names(args: &[String]) -> Result<()> {
    for arg in args.iter().skip(1) {
        let name = arg.split('=').next().unwrap_or(arg);
        let Some(what) = name.strip_prefix("--sql-") else {
            continue;
        };
        if !matches!(what, "user" | "password" | "server") {
            continue;
        }
        return Err(Error::command_line(format!(
            "unexpected argument '{name}': dtutil batch names the login of each side: --source-{what} for --from sql://..., --dest-{what} for --to sql://... (dtutil assess takes --source-{what} too)"
        )));
    }
    Ok(())
}

/// `dtutil batch --help` / `dtutil /H batch`.
pub(super) fn help() -> String {
    Cli::command().render_long_help().to_string()
}

/// Its clap command (the options it knows).
pub(super) fn command() -> clap::Command {
    Cli::command()
}

/// Parses `batch ...` (the subcommand name first).
pub(super) fn parse(args: &[String]) -> Result<Command> {
    refuse_assess_login_names(args)?;
    let c = Cli::try_parse_from(args).map_err(clap_error)?;
    let from = BatchLocation::parse(&c.from, "--from")?;
    let to = BatchLocation::parse(&c.to, "--to")?;
    if matches!(to, BatchLocation::Glob { .. }) {
        return Err(Error::command_line(format!(
            "--to `{}`: a destination is a directory, not a glob",
            c.to
        )));
    }
    let side = |server: Option<String>,
                user: Option<String>,
                password: Option<String>,
                loc: &BatchLocation,
                who: &str|
     -> Result<SqlConnection> {
        if password.is_some() && user.is_none() {
            return Err(Error::command_line(format!(
                "--{who}-password needs --{who}-user as well; without a user, integrated authentication is used"
            )));
        }
        values::login_name(&format!("--{who}-user"), user.as_deref())?;
        let sqlish = matches!(loc, BatchLocation::Sql { .. } | BatchLocation::Dts { .. });
        if !sqlish && (server.is_some() || user.is_some()) {
            return Err(Error::command_line(format!(
                "--{who}-server and --{who}-user apply to a SQL: or dts: location, not to {} `{}`",
                loc.kind(),
                loc.display(None)
            )));
        }
        if let (
            BatchLocation::Sql {
                server: Some(s), ..
            },
            Some(o),
        ) = (loc, &server)
        {
            return Err(Error::command_line(format!(
                "the server is given twice: `{s}` in the sql:// URL and `{o}` with --{who}-server; give one"
            )));
        }
        Ok(SqlConnection {
            server,
            user,
            password: password.as_deref().map(SecretSpec::parse),
        })
    };
    let source_sql = side(
        c.source_server,
        c.source_user,
        c.source_password,
        &from,
        "source",
    )?;
    let dest_sql = side(c.dest_server, c.dest_user, c.dest_password, &to, "dest")?;
    let encrypt = match c.encrypt.as_deref() {
        None => None,
        Some(spec) => {
            let (level, password) = values::encrypt_spec(spec)?;
            if level == ProtectionLevel::ServerStorage
                && !matches!(to, BatchLocation::Sql { .. } | BatchLocation::Dts { .. })
            {
                return Err(Error::command_line(
                    "--encrypt: protection level 5 (ServerStorage) is only for msdb destinations; use 0, 2 or 3",
                ));
            }
            Some((level, password))
        }
    };
    let algorithm = c
        .algorithm
        .as_deref()
        .map(values::algorithm_name)
        .transpose()?;
    if c.jobs == 0 || c.jobs > MAX_JOBS {
        return Err(Error::command_line(format!(
            "--jobs must be 1 to {MAX_JOBS}, not {}",
            c.jobs
        )));
    }
    Ok(Command::Batch(Box::new(BatchPlan {
        from,
        to,
        source_sql,
        dest_sql,
        encrypt,
        decrypt: c.decrypt.as_deref().map(SecretSpec::parse),
        algorithm,
        regenerate_ids: c.regenerate_ids,
        overwrite: c.overwrite,
        skip_existing: c.skip_existing,
        jobs: c.jobs,
        in_flight_bytes: values::byte_size("--in-flight-bytes", &c.in_flight_bytes)?,
        dry_run: c.dry_run,
        json: c.json,
        report: c.report,
        resume: c.resume,
        fail_fast: c.fail_fast,
        follow_links: c.follow_links,
        allow_lost_sensitive: c.allow_lost_sensitive,
        target_version: c
            .target_version
            .as_deref()
            .map(values::target_year)
            .transpose()?,
        store_config: c.store_config,
        ir: c.ir,
        assess: c.assess,
    })))
}

/// A `sql://` server that holds a `user:password@` or a pasted `;Password=`, with
/// both replaced: only the host is echoed.
fn shown_without_secrets(server: &str) -> String {
    let after_at = server.rsplit('@').next().unwrap_or(server);
    // The host ends at the first `;`, `?`, `&` or `=`: what follows may be a password.
    let (host, tail) = match after_at.find([';', '?', '&', '=']) {
        Some(cut) => (
            &after_at[..cut],
            format!("{}<redacted>", &after_at[cut..cut + 1]),
        ),
        None => (after_at, String::new()),
    };
    let user = if server.contains('@') {
        "<redacted>@"
    } else {
        ""
    };
    format!("{user}{host}{tail}")
}

/// A store folder with a `key=value` pair naming a secret after it: a URL's query
/// (`sql://h/F?user=etl&password=...`, the postgres and JDBC habit) or a pair pasted
/// from a connection string (`sql://h/F;Password=...`). Refused, not dropped: dropping
/// it would sign in otherwise than the user meant without saying so, and the password
/// would still be in the shell's history and the process list, which only the user
/// can clear. Only what comes before the query or pair is echoed.
fn refuse_secret_in_folder(option: &str, raw: &str, path: &str) -> Result<()> {
    if !BatchLocation::carries_a_password(path) {
        return Ok(());
    }
    // Before the first pair's `=` at the latest, so no value is shown.
    let cut = raw.len() - path.len() + path.find(['?', ';', '&', '=']).unwrap_or(0);
    let shown = &raw[..cut];
    Err(Error::command_line(format!(
        "{option} `{shown}...`: a password in the location (a `?password=` query or a `;Password=` setting) is not supported and not shown (it would show in process lists and logs); give the user with --source-user/--dest-user (--sql-user for assess) and the password with --source-password/--dest-password (--sql-password), as env:NAME or file:PATH"
    )))
}

/// The grammar lives with the command line; the type is the plan's.
impl BatchLocation {
    /// Parses `--from` / `--to`; `option` names it in messages.
    pub fn parse(raw: &str, option: &str) -> Result<Self> {
        let raw_t = raw.trim();
        if raw_t.is_empty() {
            return Err(Error::command_line(format!("{option} is empty")));
        }
        let folder = |kind: LocationKind, path: &str| -> Result<String> {
            refuse_secret_in_folder(option, raw_t, path)?;
            let names = values::store_path_names(&format!("{option} `{raw}`"), kind, path)?;
            Ok(store::path::relative(names))
        };
        if let Some(rest) = strip_ci(raw_t, "sql://") {
            let (server, path) = match rest.split_once('/') {
                Some((s, f)) => (s, f),
                None => (rest, ""),
            };
            if server.trim().is_empty() {
                return Err(Error::command_line(format!(
                    "{option} `{raw}`: no server: use sql://SERVER/Folder (or SQL:Folder with --source-server/--dest-server)"
                )));
            }
            if server.contains(['@', ';']) || BatchLocation::carries_a_password(server) {
                // Never echoed whole: a `user:password@` or a pasted `;Password=`.
                return Err(Error::command_line(format!(
                    "{option} `sql://{}/...`: a user, password or connection-string setting in the server name is not supported (it would show in process lists and logs); give the user with --source-user/--dest-user (--sql-user for assess) and the password with --source-password/--dest-password (--sql-password), as env:NAME or file:PATH",
                    shown_without_secrets(server.trim())
                )));
            }
            return Ok(BatchLocation::Sql {
                server: Some(server.trim().to_string()),
                folder: folder(LocationKind::Sql, path)?,
            });
        }
        if let Some(rest) = strip_ci(raw_t, "sql:").or_else(|| strip_ci(raw_t, "sql;")) {
            return Ok(BatchLocation::Sql {
                server: None,
                folder: folder(LocationKind::Sql, rest)?,
            });
        }
        if let Some(rest) = strip_ci(raw_t, "dts:").or_else(|| strip_ci(raw_t, "dts;")) {
            return Ok(BatchLocation::Dts {
                folder: folder(LocationKind::Dts, rest)?,
            });
        }
        if let store::Location::AzureFiles(_) = store::Location::file_path(raw_t) {
            let p = azfiles::AzPath::parse(raw_t)
                .map_err(|e| Error::command_line(format!("{option}: {}", e.to_string().trim())))?;
            if has_glob(&p.segments.join("/")) {
                return Err(Error::command_line(format!(
                    "{option} `{raw}`: globs are for local files; give an Azure Files directory"
                )));
            }
            return Ok(BatchLocation::Azure {
                raw: raw_t.to_string(),
                unc: p.display(&p.segments),
            });
        }
        Ok(BatchLocation::local(raw_t))
    }
}

fn has_glob(s: &str) -> bool {
    BatchLocation::has_glob(s)
}

fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use crate::plan::BatchLocation as Location;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn empty_names_in_store_locations_are_skipped_and_dots_refused() {
        let sql = |folder: &str| Location::Sql {
            server: Some("h".into()),
            folder: folder.into(),
        };
        assert_eq!(
            Location::parse("sql://h/A//B/", "--from").unwrap(),
            sql("A\\B")
        );
        assert_eq!(
            Location::parse("sql://h/ A / /B", "--from").unwrap(),
            sql("A\\B")
        );
        assert_eq!(
            Location::parse("dts:\\File System\\\\x\\", "--from").unwrap(),
            Location::Dts {
                folder: "File System\\x".into()
            }
        );
        for bad in [
            "sql://h/A/../B",
            "sql://h/A/.. ",
            "SQL: ..\\B",
            "dts:MSDB\\.",
            "dts:MSDB\\ . \\x",
        ] {
            let e = Location::parse(bad, "--from").unwrap_err();
            assert_eq!(e.exit, crate::error::ExitCode::CommandLine, "{bad}");
            assert!(e.message.contains("never escape"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("sql://db1,1433/ETL/Daily", "--from").unwrap(),
            Location::Sql {
                server: Some("db1,1433".into()),
                folder: "ETL\\Daily".into()
            }
        );
        assert_eq!(
            Location::parse("sql://host\\INST", "--from").unwrap(),
            Location::Sql {
                server: Some("host\\INST".into()),
                folder: "".into()
            }
        );
        assert_eq!(
            Location::parse("SQL:\\ETL\\Daily", "--from").unwrap(),
            Location::Sql {
                server: None,
                folder: "ETL\\Daily".into()
            }
        );
        assert_eq!(
            Location::parse("dts:File System\\ETL", "--to").unwrap(),
            Location::Dts {
                folder: "File System\\ETL".into()
            }
        );
        assert!(matches!(
            Location::parse(r"\\acct.file.core.windows.net\pkgs\etl", "--to").unwrap(),
            Location::Azure { unc, .. } if unc == r"\\acct.file.core.windows.net\pkgs\etl"
        ));
        assert!(matches!(
            Location::parse("https://acct.file.core.windows.net/pkgs/etl?sv=1&sig=x", "--to").unwrap(),
            Location::Azure { unc, .. } if unc == r"\\acct.file.core.windows.net\pkgs\etl"
        ));
        assert_eq!(
            Location::parse("/src/**/*.dtsx", "--from").unwrap(),
            Location::Glob {
                base: "/src".into(),
                pattern: v(&["**", "*.dtsx"]),
                raw: "/src/**/*.dtsx".into()
            }
        );
        assert_eq!(
            Location::parse("/src/pkgs", "--from").unwrap(),
            Location::Dir("/src/pkgs".into())
        );
        assert!(Location::parse("sql://h/A/../B", "--from").is_err());
        assert!(Location::parse("sql:///A", "--from").is_err());
        let e = Location::parse("sql://etl:PwLeak1@db1,1433/L5", "--from").unwrap_err();
        assert!(!e.message.contains("PwLeak1"), "{}", e.message);
        assert!(e.message.contains("--source-password"), "{}", e.message);
        assert!(
            e.message.contains("sql://<redacted>@db1,1433/"),
            "{}",
            e.message
        );
        let e = Location::parse("sql://db1;Password=PwLeak2/L5", "--to").unwrap_err();
        assert!(!e.message.contains("PwLeak2"), "{}", e.message);
    }
}
