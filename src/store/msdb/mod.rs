//! SQL: packages in SQL Server's `msdb`, over TDS with tiberius (SPEC 2, issue 3).
//!
//! Everything goes through msdb's `sp_ssis_*` procedures, as SSMS does, so the SSIS
//! roles (db_ssisadmin, db_ssisltduser, db_ssisoperator) apply. Folder paths resolve
//! segment by segment from the root folder id with `sp_ssis_getfolder`; the server
//! compares names (case-insensitively under msdb's default collation).
//!
//! The store owns a small current-thread tokio runtime and one connection, reused for
//! every call and reopened after a connection-level failure.

mod connect;
mod driver_text;
mod kerberos;
#[cfg(unix)]
mod krb5_files;
// Windows's side of integrated authentication; compiled elsewhere for its unit tests.
pub mod path;
mod prelogin;
#[cfg(any(windows, test))]
#[cfg_attr(not(windows), allow(dead_code))]
mod sspi;

use super::{Entry, PackageMeta, SqlCredentials, Store, StoreConfig, StoreError, StoreResult};
use connect::{SqlClient, Target};
use std::collections::HashMap;
use std::sync::Mutex;
use tiberius::{Command, Row};
use uuid::Uuid;

pub use connect::{ConnectOptions, ServerAddr};

/// The id of msdb's root package folder.
pub const ROOT_FOLDER: Uuid = Uuid::nil();

/// Opens the msdb store of one server and connects to it (failing fast with a message
/// that says what to check).
pub fn open(credentials: &SqlCredentials, config: &StoreConfig) -> StoreResult<Box<dyn Store>> {
    Ok(Box::new(MsdbStore::open(
        credentials,
        &ConnectOptions::from_vars(&|name| config.var(name))?,
    )?))
}

pub struct MsdbStore {
    runtime: tokio::runtime::Runtime,
    target: Target,
    client: Mutex<Option<SqlClient>>,
    /// Folder ids seen by this store, by (parent id, lower-cased name): a batch run
    /// would otherwise look up every package's folder path again, one round trip per
    /// segment. Forgotten when this store deletes or renames a folder.
    folders: Mutex<HashMap<(Uuid, String), Uuid>>,
}

/// A procedure call's result sets.
type Results = Vec<Vec<Row>>;

impl MsdbStore {
    /// Connects with the given options (`open` reads them from the environment).
    pub fn open(credentials: &SqlCredentials, options: &ConnectOptions) -> StoreResult<Self> {
        let target = Target::new(credentials, options)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Failed(format!("cannot start the network runtime: {e}")))?;
        let client = runtime.block_on(target.connect())?;
        Ok(Self {
            runtime,
            target,
            client: Mutex::new(Some(client)),
            folders: Mutex::new(HashMap::new()),
        })
    }

    /// The server as named by the user.
    pub fn server(&self) -> &str {
        &self.target.server
    }

    /// Runs one procedure. `doing` names the operation for error messages.
    fn call(&self, command: Command<'_>, doing: &str) -> StoreResult<Results> {
        self.call_with_status(command, doing)
            .map(|(results, _)| results)
    }

    /// As [`call`](Self::call), with the procedure's RETURN status.
    fn call_with_status(&self, command: Command<'_>, doing: &str) -> StoreResult<(Results, i32)> {
        let mut guard = self.client.lock().unwrap_or_else(|p| p.into_inner());
        self.runtime.block_on(async {
            if guard.is_none() {
                *guard = Some(self.target.connect().await?);
            }
            let client = guard.as_mut().expect("connected above");
            let result = match command.exec(client).await {
                Ok(stream) => stream.into_command_result().await,
                Err(e) => Err(e),
            };
            match result {
                Ok(result) => {
                    let status = result.return_code() as i32;
                    Ok((result.into_iter().collect(), status))
                }
                Err(e) => {
                    // A server error leaves the connection usable; anything else
                    // (I/O, timeout, protocol) may leave it mid-response: reconnect
                    // next time.
                    if !matches!(e, tiberius::error::Error::Server(_)) {
                        *guard = None;
                    }
                    Err(self.target.error(e, doing))
                }
            }
        })
    }

    fn proc<'a>(name: &str) -> Command<'a> {
        Command::new(format!("msdb.dbo.{name}"))
    }

    fn describe_folder(&self, path: &str) -> String {
        format!(
            "msdb folder `{}` on {}",
            path::display(path),
            self.target.server
        )
    }

    /// The id of a child folder, if it exists.
    fn child_folder(&self, parent: Uuid, name: &str, doing: &str) -> StoreResult<Option<Uuid>> {
        // msdb compares folder names case-insensitively.
        let key = (parent, name.to_lowercase());
        if let Some(id) = self.folder_cache().get(&key) {
            return Ok(Some(*id));
        }
        let mut cmd = Self::proc("sp_ssis_getfolder");
        cmd.bind_param("@name", name.to_string());
        cmd.bind_param("@parentfolderid", parent);
        let results = self.call(cmd, doing)?;
        let id = first_row(&results).and_then(|row| row.get::<Uuid, _>(0));
        if let Some(id) = id {
            self.folder_cache().insert(key, id);
        }
        Ok(id)
    }

    fn folder_cache(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, String), Uuid>> {
        self.folders.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves a folder path from the root, segment by segment; `Ok(None)` when a
    /// segment is missing.
    fn resolve(&self, segments: &[String], doing: &str) -> StoreResult<Option<Uuid>> {
        let mut id = ROOT_FOLDER;
        for segment in segments {
            match self.child_folder(id, segment, doing)? {
                Some(child) => id = child,
                None => return Ok(None),
            }
        }
        Ok(Some(id))
    }

    /// As [`resolve`](Self::resolve), with a missing folder as `NotFound`.
    fn folder_id(&self, path: &str, doing: &str) -> StoreResult<Uuid> {
        self.resolve(&path::folder_segments(path)?, doing)?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{} does not exist (create it with /FC SQL;ParentPath;Name)",
                    self.describe_folder(path)
                ))
            })
    }

    /// The package's folder id and name; `NotFound` when the folder is missing.
    fn package_location(&self, path: &str, doing: &str) -> StoreResult<Option<(Uuid, String)>> {
        let (folders, name) = path::package_parts(path)?.ok_or_else(|| {
            StoreError::Failed(format!(
                "`{path}` names no package: give Folder\\Name (a package in the root folder is just Name)"
            ))
        })?;
        Ok(self.resolve(&folders, doing)?.map(|id| (id, name)))
    }

    fn missing_package(&self, path: &str) -> StoreError {
        StoreError::NotFound(format!("{} does not exist", self.describe(path)))
    }

    fn get_package(&self, folder: Uuid, name: &str, doing: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut cmd = Self::proc("sp_ssis_getpackage");
        cmd.bind_param("@name", name.to_string());
        cmd.bind_param("@folderid", folder);
        let results = self.call(cmd, doing)?;
        Ok(first_row(&results).map(|row| {
            row.get::<&[u8], _>(0)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        }))
    }

    /// The sub-folders and packages of a folder, each by name as msdb returns them.
    fn list(&self, folder: Uuid, doing: &str) -> StoreResult<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut cmd = Self::proc("sp_ssis_listfolders");
        cmd.bind_param("@parentfolderid", folder);
        for row in self.call(cmd, doing)?.iter().flatten() {
            // Columns: folderid, parentfolderid, foldername. Skip the folder itself
            // (the root lists itself when asked for NULL).
            if row.get::<Uuid, _>(0) == Some(folder) {
                continue;
            }
            if let Some(name) = row.get::<&str, _>(2) {
                crate::store::path::check_name(name, doing)?;
                entries.push(Entry {
                    name: name.to_string(),
                    is_folder: true,
                });
            }
        }
        let mut cmd = Self::proc("sp_ssis_listpackages");
        cmd.bind_param("@folderid", folder);
        for row in self.call(cmd, doing)?.iter().flatten() {
            if let Some(name) = row.get::<&str, _>(0) {
                crate::store::path::check_name(name, doing)?;
                entries.push(Entry {
                    name: name.to_string(),
                    is_folder: false,
                });
            }
        }
        Ok(entries)
    }
}

/// How long a creator waits for another dtutil's lock on the same new package.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl MsdbStore {
    /// Takes an exclusive session application lock, asking again while another session
    /// holds it (each request answers at once: `@LockTimeout = 0`).
    fn lock(&self, resource: &str, doing: &str) -> StoreResult<()> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            let mut cmd = Self::proc("sp_getapplock");
            cmd.bind_param("@Resource", resource.to_string());
            cmd.bind_param("@LockMode", "Exclusive");
            cmd.bind_param("@LockOwner", "Session");
            cmd.bind_param("@LockTimeout", 0i32);
            let (_, status) = self.call_with_status(cmd, doing)?;
            match status {
                0 | 1 => return Ok(()),
                -1 if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                _ => {
                    return Err(StoreError::Failed(format!(
                        "{doing}: another dtutil writing or moving the same package held its lock (sp_getapplock returned {status}) for {} s; nothing done",
                        LOCK_WAIT.as_secs()
                    )))
                }
            }
        }
    }

    fn unlock(&self, resource: &str, doing: &str) -> StoreResult<()> {
        let mut cmd = Self::proc("sp_releaseapplock");
        cmd.bind_param("@Resource", resource.to_string());
        cmd.bind_param("@LockOwner", "Session");
        self.call(cmd, doing).map(|_| ())
    }

    /// Runs `f` holding the package's session application lock. No msdb procedure
    /// writes or deletes a package only when it is absent or unchanged, so every dtutil
    /// that writes or moves a package takes this lock around its look and its change:
    /// of two racing creators exactly one finds the name free, and a writer waits while
    /// `/MOVE` checks and deletes its source. A writer that takes no lock (SSMS,
    /// another tool) is not held back: docs/msdb.md says so.
    fn with_package_lock<T>(
        &self,
        folder: Uuid,
        name: &str,
        doing: &str,
        f: impl FnOnce() -> StoreResult<T>,
    ) -> StoreResult<T> {
        let resource: String = format!("dtutil package {folder} {}", name.to_lowercase())
            .chars()
            .take(255)
            .collect();
        self.lock(&resource, doing)?;
        let result = f();
        // Should the release fail, the lock goes when this process's session ends.
        let _ = self.unlock(&resource, doing);
        result
    }

    fn put(
        &self,
        folder: Uuid,
        name: String,
        bytes: &[u8],
        meta: &PackageMeta,
        doing: &str,
    ) -> StoreResult<()> {
        let created = now();
        let mut cmd = Self::proc("sp_ssis_putpackage");
        cmd.bind_param("@name", name);
        cmd.bind_param("@id", guid_or_new(meta.id.as_deref()));
        cmd.bind_param("@description", meta.description.clone());
        cmd.bind_param("@createdate", tiberius::ToSql::to_sql(&created));
        cmd.bind_param("@folderid", folder);
        cmd.bind_param("@packagedata", bytes);
        cmd.bind_param("@packageformat", meta.package_format);
        cmd.bind_param("@packagetype", meta.package_type);
        cmd.bind_param("@vermajor", meta.version_major);
        cmd.bind_param("@verminor", meta.version_minor);
        cmd.bind_param("@verbuild", meta.version_build);
        cmd.bind_param("@vercomments", meta.version_comments.clone());
        cmd.bind_param("@verid", guid_or_new(meta.version_guid.as_deref()));
        self.call(cmd, doing)?;
        Ok(())
    }

    fn delete_row(&self, folder: Uuid, name: String, doing: &str) -> StoreResult<()> {
        let mut cmd = Self::proc("sp_ssis_deletepackage");
        cmd.bind_param("@name", name);
        cmd.bind_param("@folderid", folder);
        self.call(cmd, doing)?;
        Ok(())
    }
}

fn first_row(results: &Results) -> Option<&Row> {
    results.iter().flatten().next()
}

/// A GUID from the package (`{...}` or bare), or a new one.
fn guid_or_new(value: Option<&str>) -> Uuid {
    value
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(Uuid::new_v4)
}

/// Now, as `sp_ssis_putpackage`'s `@createdate`. UTC: the local offset cannot be read
/// soundly on every platform, and msdb only displays it.
fn now() -> time::PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc();
    time::PrimitiveDateTime::new(now.date(), now.time())
}

impl Store for MsdbStore {
    fn describe(&self, path: &str) -> String {
        format!(
            "msdb package `{}` on {}",
            path::display(path).trim_start_matches('\\'),
            self.target.server
        )
    }

    fn read(&self, path: &str) -> StoreResult<Vec<u8>> {
        let doing = format!("reading {}", self.describe(path));
        let (folder, name) = self
            .package_location(path, &doing)?
            .ok_or_else(|| self.missing_package(path))?;
        self.get_package(folder, &name, &doing)?
            .ok_or_else(|| self.missing_package(path))
    }

    fn write(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        let doing = format!("writing {}", self.describe(path));
        let (folders, name) = path::package_parts(path)?.ok_or_else(|| {
            StoreError::Failed(format!(
                "`{path}` names no package: give Folder\\Name (a package in the root folder is just Name)"
            ))
        })?;
        let folder = self.resolve(&folders, &doing)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "cannot write {}: {} does not exist (create it first with /FC SQL;ParentPath;Name)",
                self.describe(path),
                self.describe_folder(&crate::store::path::relative(&folders))
            ))
        })?;
        self.with_package_lock(folder, &name, &doing, || {
            self.put(folder, name.clone(), bytes, meta, &doing)
        })
    }

    /// Checks and puts under the package's lock ([`MsdbStore::with_package_lock`]).
    fn write_new(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        let doing = format!("writing {}", self.describe(path));
        let Some((folder, name)) = self.package_location(path, &doing)? else {
            // A missing folder: the plain write says so.
            return self.write(path, bytes, meta);
        };
        self.with_package_lock(folder, &name, &doing, || {
            if self.exists(path)? {
                return Err(StoreError::Exists(format!(
                    "{} exists",
                    self.describe(path)
                )));
            }
            self.put(folder, name.clone(), bytes, meta, &doing)
        })
    }

    fn exists(&self, path: &str) -> StoreResult<bool> {
        let doing = format!("looking for {}", self.describe(path));
        let Some((folder, name)) = self.package_location(path, &doing)? else {
            return Ok(false);
        };
        let mut cmd = Self::proc("sp_ssis_checkexists");
        cmd.bind_param("@name", name);
        cmd.bind_param("@folderid", folder);
        Ok(first_row(&self.call(cmd, &doing)?).is_some())
    }

    /// The row as `sp_ssis_listpackages` shows it: its id, version id, length and
    /// creation date (which `sp_ssis_putpackage` sets on every write). A server reached
    /// by two names (an IP and a host name, a package store root) shows one row.
    fn stamp(&self, path: &str) -> StoreResult<Option<String>> {
        let doing = format!("looking for {}", self.describe(path));
        let Some((folder, name)) = self.package_location(path, &doing)? else {
            return Ok(None);
        };
        let mut cmd = Self::proc("sp_ssis_listpackages");
        cmd.bind_param("@folderid", folder);
        for row in self.call(cmd, &doing)?.iter().flatten() {
            let same_name = row
                .try_get::<&str, _>(0)
                .ok()
                .flatten()
                .is_some_and(|n| n.to_lowercase() == name.to_lowercase());
            if !same_name {
                continue;
            }
            let id = row.try_get::<Uuid, _>(1).ok().flatten();
            let created = row.try_get::<time::PrimitiveDateTime, _>(3).ok().flatten();
            let length = row
                .try_get::<i32, _>(5)
                .ok()
                .flatten()
                .map(i64::from)
                .or_else(|| row.try_get::<i64, _>(5).ok().flatten());
            let verid = row.try_get::<Uuid, _>(10).ok().flatten();
            // Without its creation date a row is not told apart from the same package
            // version on another server: no stamp rather than a wrong one.
            if created.is_none() {
                return Ok(None);
            }
            return Ok(Some(format!(
                "msdb row {id:?} {verid:?} created {created:?} {length:?} bytes"
            )));
        }
        Ok(None)
    }

    fn delete(&self, path: &str) -> StoreResult<()> {
        let doing = format!("deleting {}", self.describe(path));
        let (folder, name) = self
            .package_location(path, &doing)?
            .ok_or_else(|| self.missing_package(path))?;
        self.delete_row(folder, name, &doing)
    }

    /// Looks and deletes under the package's lock ([`MsdbStore::with_package_lock`]):
    /// a dtutil writing the same name meanwhile waits, then writes a new package.
    fn delete_if(&self, path: &str, approve: &mut dyn FnMut() -> bool) -> StoreResult<bool> {
        let doing = format!("deleting {}", self.describe(path));
        let (folder, name) = self
            .package_location(path, &doing)?
            .ok_or_else(|| self.missing_package(path))?;
        self.with_package_lock(folder, &name, &doing, || {
            if !approve() {
                return Ok(false);
            }
            self.delete_row(folder, name.clone(), &doing).map(|()| true)
        })
    }

    fn same_package(&self, a: &str, b: &str) -> bool {
        path::same(a, b)
    }

    /// msdb's default collation (SQL_Latin1_General_CP1_CI_AS) compares names
    /// case-insensitively; sp_ssis_putpackage updates a row without renaming it.
    fn case_insensitive(&self) -> bool {
        true
    }

    /// The server as named, case and blanks aside (server names ignore case, as DNS
    /// and SQL Server instance names do): a move between two servers under one name
    /// is no move onto itself.
    fn place(&self) -> String {
        format!("msdb on {}", self.target.server.trim().to_lowercase())
    }

    fn has_msdb_metadata(&self) -> bool {
        true
    }

    fn secure_storage(&self, _path: &str) -> bool {
        true
    }

    fn folder_create(&self, parent: &str, name: &str) -> StoreResult<()> {
        let full = crate::store::path::join(&path::display(parent), name);
        let doing = format!("create {}", self.describe_folder(&full));
        path::check_name_length(name)?;
        let parent_id = self.folder_id(parent, &doing)?;
        let mut cmd = Self::proc("sp_ssis_addfolder");
        cmd.bind_param("@parentfolderid", parent_id);
        cmd.bind_param("@name", name.trim().to_string());
        cmd.bind_param("@folderid", Uuid::new_v4());
        self.call(cmd, &doing)?;
        Ok(())
    }

    fn folder_delete(&self, parent: &str, name: &str) -> StoreResult<()> {
        let full = crate::store::path::join(&path::display(parent), name);
        let doing = format!("delete {}", self.describe_folder(&full));
        let id = self.folder_id(&full, &doing)?;
        if id == ROOT_FOLDER {
            return Err(StoreError::Failed(
                "the root folder of msdb cannot be deleted".into(),
            ));
        }
        let mut cmd = Self::proc("sp_ssis_deletefolder");
        cmd.bind_param("@folderid", id);
        self.folder_cache().clear();
        self.call(cmd, &doing)?;
        Ok(())
    }

    fn folder_exists(&self, path: &str) -> StoreResult<bool> {
        let doing = format!("looking for {}", self.describe_folder(path));
        Ok(self
            .resolve(&path::folder_segments(path)?, &doing)?
            .is_some())
    }

    fn folder_rename(&self, parent: &str, old: &str, new: &str) -> StoreResult<()> {
        let full = crate::store::path::join(&path::display(parent), old);
        let doing = format!("rename {} to `{new}`", self.describe_folder(&full));
        path::check_name_length(new)?;
        let id = self.folder_id(&full, &doing)?;
        if id == ROOT_FOLDER {
            return Err(StoreError::Failed(
                "the root folder of msdb cannot be renamed".into(),
            ));
        }
        let mut cmd = Self::proc("sp_ssis_renamefolder");
        self.folder_cache().clear();
        cmd.bind_param("@folderid", id);
        cmd.bind_param("@name", new.trim().to_string());
        self.call(cmd, &doing)?;
        Ok(())
    }

    fn folder_list(&self, path: &str) -> StoreResult<Vec<Entry>> {
        let doing = format!("listing {}", self.describe_folder(path));
        let id = self.folder_id(path, &doing)?;
        self.list(id, &doing)
    }
}

#[cfg(test)]
mod tests {
    use super::guid_or_new;

    #[test]
    fn guids_from_packages() {
        let braced = "{6A2E4B1C-98C5-4C8E-A1F8-3C2E7E5B9D10}";
        assert_eq!(
            guid_or_new(Some(braced)).to_string(),
            "6a2e4b1c-98c5-4c8e-a1f8-3c2e7e5b9d10"
        );
        assert_ne!(guid_or_new(None), guid_or_new(None));
        assert_ne!(guid_or_new(Some("not a guid")), uuid::Uuid::nil());
    }
}
