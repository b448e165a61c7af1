//! The store factory: a [`Location`] becomes a [`Store`] here and nowhere else.
//!
//! Adding a location is one new backend module plus one variant and one line in
//! [`open`] (CONTRIBUTING.md, "How to add a location").

use super::{azfiles, dts, file::FileStore, msdb, SqlCredentials, Store, StoreConfig, StoreResult};

/// Where packages are.
#[derive(Debug, Clone)]
pub enum Location {
    /// The local (or a mounted) file system.
    File,
    /// An Azure Files account, over its REST API; the path names the account (any path
    /// on it: the store serves every share of that account).
    AzureFiles(String),
    /// msdb on a SQL Server.
    Sql(SqlCredentials),
    /// The package store (SPEC 2, DTS): its top-level folders are stores of the kinds
    /// above. The connection's server, when given, overrides its msdb roots' servers.
    PackageStore(SqlCredentials),
}

impl Location {
    /// Where a FILE path lives: the Azure Files share it names
    /// (`\\ACCOUNT.file.core.windows.net\SHARE\...` or the https form), else the local
    /// file system. The one place that tells the two apart.
    pub fn file_path(path: &str) -> Self {
        if azfiles::is_azure_files_path(path) {
            Self::AzureFiles(path.to_string())
        } else {
            Self::File
        }
    }
}

/// Opens the store for a location (a network store connects, or checks its
/// credentials, now).
pub fn open(location: &Location, config: &StoreConfig) -> StoreResult<Box<dyn Store>> {
    match location {
        Location::File => Ok(Box::new(FileStore)),
        Location::AzureFiles(path) => Ok(Box::new(azfiles::open(path, config)?)),
        Location::Sql(credentials) => msdb::open(credentials, config),
        Location::PackageStore(credentials) => dts::open(credentials, config),
    }
}
