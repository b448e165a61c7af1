//! SQL: packages in SQL Server's `msdb` (issue 3). Placeholder until the TDS client lands.

use super::{SqlCredentials, Store, StoreError, StoreResult};

pub fn open(credentials: &SqlCredentials) -> StoreResult<Box<dyn Store>> {
    let _ = credentials;
    Err(StoreError::Unsupported(
        "the SQL location (msdb) is not yet supported by this build (see README, \"Not yet supported\"); FILE works".into(),
    ))
}
