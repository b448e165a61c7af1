//! One package's way through any command: read → open once → re-protect → target
//! check → msdb metadata → write (→ verify for a move).
//!
//! Single dtutil actions ([`super`]) and `batch` both carry packages through these
//! steps; each caller keeps only its policy (asking before overwriting, skipping,
//! resuming) and how it reports. A package is scanned, and at level 3 decrypted, once:
//! [`prepare`] re-protects it and keeps what the package says about itself
//! ([`Facts`]), which the target check and msdb's columns then read. A package that
//! travels as it is gets opened only when one of those steps asks, and then once.

use crate::crypto::Algorithm;
use crate::package::target::{self, Runtime, Verdict};
use crate::package::ProtectionLevel;
use crate::package::{self, Facts, Options, PackageError, Target};
use crate::store::{NewFileMode, PackageMeta, Store, StoreError};
use sha2::Digest;
use std::cell::OnceCell;

/// What happens to a package on its way (passwords resolved).
#[derive(Debug, Clone, Copy)]
pub struct Recipe<'a> {
    /// Opens the source: a level 3 package, or its encrypted values.
    pub decrypt: Option<&'a str>,
    /// `None`: the bytes travel as they are, as dtutil's `/COPY` moves them.
    pub reprotect: Option<Reprotect<'a>>,
}

/// A re-protection (or a new package ID alone, with [`Target::Keep`]).
#[derive(Debug, Clone, Copy)]
pub struct Reprotect<'a> {
    pub target: Target<'a>,
    /// `None`: keep the package's own cipher.
    pub algorithm: Option<Algorithm>,
    pub regenerate_id: bool,
    /// Write a level 1 package whose user-key values will be blank.
    pub allow_lost_values: bool,
}

/// What a re-protection changed.
#[derive(Debug, Clone)]
pub struct Reprotected {
    pub level_before: ProtectionLevel,
    pub level_after: ProtectionLevel,
    /// Level 1 values written blank (labels, never values).
    pub lost_values: Vec<String>,
    pub new_id: Option<String>,
}

/// A package ready to be written.
pub struct Prepared<'a> {
    pub bytes: Vec<u8>,
    /// Set when the package was re-protected.
    pub reprotected: Option<Reprotected>,
    /// The facts of `bytes`, found at most once.
    facts: OnceCell<Result<Facts, PackageError>>,
    /// Opens `bytes` should a later step need its facts (they travelled as they were).
    opener: Option<&'a str>,
}

/// Re-protects the source as the recipe says, or takes it as it is.
pub fn prepare<'a>(source: Vec<u8>, recipe: &Recipe<'a>) -> Result<Prepared<'a>, PackageError> {
    let Some(reprotect) = recipe.reprotect else {
        return Ok(Prepared {
            bytes: source,
            reprotected: None,
            facts: OnceCell::new(),
            opener: recipe.decrypt,
        });
    };
    let options = Options {
        decrypt_password: recipe.decrypt,
        target: reprotect.target,
        algorithm: reprotect.algorithm,
        regenerate_id: reprotect.regenerate_id,
        allow_lost_values: reprotect.allow_lost_values,
    };
    // Handed over whole: the edits are made in its buffer, not in a second copy.
    let rewritten = package::rewrite_owned(source, &options)?;
    Ok(Prepared {
        bytes: rewritten.bytes,
        reprotected: Some(Reprotected {
            level_before: rewritten.level_before,
            level_after: rewritten.level_after,
            lost_values: rewritten.lost_values,
            new_id: rewritten.new_id,
        }),
        facts: OnceCell::from(rewritten.facts),
        opener: None,
    })
}

impl Prepared<'_> {
    /// What the package as written says about itself.
    pub fn facts(&self) -> Result<&Facts, &PackageError> {
        self.facts
            .get_or_init(|| package::inspect(&self.bytes, self.opener).map(|i| Facts::from(&i)))
            .as_ref()
    }

    /// `--target-version`: what that runtime makes of the package as written.
    pub fn check_target(&self, runtime: Runtime) -> Result<Verdict, PackageError> {
        let facts = self.facts().map_err(Clone::clone)?;
        Ok(target::judge(facts, runtime))
    }

    /// The protection level of the package as it will be written, where it is known.
    pub fn level_written(&self) -> Option<u32> {
        match &self.reprotected {
            Some(done) => Some(done.level_after.number()),
            None => self.facts().ok().and_then(|f| f.protection_level),
        }
    }

    /// SSIS saves a ServerStorage (level 5) package only where SQL Server's roles
    /// guard it, since its sensitive values are kept in the clear; anywhere else it
    /// refuses (DTS_E_SERVERSTORAGEDISALLOWED). So do we, before anything is written,
    /// for a package taken out of that storage (`from_secure_storage`), and for one from
    /// a file going to an Azure Files share or a package store (review user3 F10): only
    /// a local file copied to a local file is not loaded, its values were in the clear
    /// there already.
    /// `Err` says why and what to do; re-protecting it (level 0, 2 or 3) on the way
    /// is the way out, so `fix` names that option in the caller's terms.
    pub fn check_server_storage(
        &self,
        from_secure_storage: bool,
        store: &dyn Store,
        path: &str,
        fix: &str,
    ) -> Result<(), String> {
        if store.secure_storage(path) || (!from_secure_storage && store.plain_local_file()) {
            return Ok(());
        }
        // A level that cannot be read may be ServerStorage for SSIS: kept where it is.
        if let (true, None, Err(e @ PackageError::Unsupported(_))) =
            (from_secure_storage, &self.reprotected, self.facts())
        {
            return Err(format!(
                "its protection level cannot be read ({e}), and a package taken from SQL Server may be ServerStorage (level 5), whose sensitive values are in the clear; {} is not in SQL Server: nothing written",
                store.describe(path)
            ));
        }
        if self.level_written() != Some(ProtectionLevel::ServerStorage.number()) {
            return Ok(());
        }
        Err(format!(
            "protection level 5 (ServerStorage) keeps the sensitive values in the clear for SQL Server's roles to guard; {} is not in SQL Server, so they would be written readable by anyone who can read it (SSIS refuses this save: DTS_E_SERVERSTORAGEDISALLOWED); nothing written. Re-protect it on the way: {fix}",
            store.describe(path)
        ))
    }

    /// msdb files a package under its id, version and type, which a package encrypted
    /// as a whole (level 3) keeps inside the encryption: without its password the row
    /// would get a made-up id (a new one on every copy) and version 1.0.0. dtutil loads
    /// a package it puts into msdb, which needs the password; so it is asked for here,
    /// before anything is written. `Err`: why, in the caller's terms (`give`).
    pub fn check_msdb_columns(
        &self,
        store: &dyn Store,
        path: &str,
        give: &str,
    ) -> Result<(), String> {
        let Ok(facts) = self.facts() else {
            return Ok(());
        };
        let sealed =
            facts.protection_level == Some(ProtectionLevel::EncryptAllWithPassword.number());
        if !sealed || facts.package_id.is_some() || !store.secure_storage(path) {
            return Ok(());
        }
        Err(format!(
            "it is encrypted as a whole with a password (level 3, EncryptAllWithPassword), so its id, version and type, which {} files it under, cannot be read without the password; give it with {give} (the package is stored as it is); nothing written",
            store.describe(path)
        ))
    }

    /// The columns msdb files the package with (defaults when it cannot be read).
    pub fn msdb_meta(&self) -> PackageMeta {
        match self.facts() {
            Ok(facts) => msdb_meta(facts),
            Err(_) => PackageMeta::default(),
        }
    }

    /// Writes the package; `with_meta` when the destination files msdb's columns.
    /// `new_mode`: the permission bits a new file gets (where the store has them).
    pub fn write(
        &self,
        store: &dyn Store,
        path: &str,
        with_meta: bool,
        new_mode: NewFileMode,
    ) -> Result<(), StoreError> {
        store.write(path, &self.bytes, &self.meta(with_meta, new_mode))
    }

    /// As [`Self::write`], creating the package only when nothing has its name
    /// ([`Store::write_new`]): of two racing writers exactly one succeeds.
    pub fn write_new(
        &self,
        store: &dyn Store,
        path: &str,
        with_meta: bool,
        new_mode: NewFileMode,
    ) -> Result<(), StoreError> {
        store.write_new(path, &self.bytes, &self.meta(with_meta, new_mode))
    }

    fn meta(&self, with_meta: bool, new_mode: NewFileMode) -> PackageMeta {
        let mut meta = if with_meta {
            self.msdb_meta()
        } else {
            PackageMeta::default()
        };
        meta.file_mode = new_mode;
        meta
    }

    /// Whether the destination reads back identical (a move deletes its source only then).
    pub fn written_intact(&self, store: &dyn Store, path: &str) -> Result<bool, StoreError> {
        Ok(store.read(path)? == self.bytes)
    }

    pub fn sha256(&self) -> String {
        hex_sha256(&self.bytes)
    }
}

fn msdb_meta(facts: &Facts) -> PackageMeta {
    let version: Vec<i32> = facts
        .version
        .as_deref()
        .unwrap_or("1.0.0")
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    PackageMeta {
        id: facts.package_id.clone(),
        description: facts.description.clone(),
        version_major: version.first().copied().unwrap_or(1),
        version_minor: version.get(1).copied().unwrap_or(0),
        version_build: version.get(2).copied().unwrap_or(0),
        version_comments: None,
        version_guid: facts.version_guid.clone(),
        package_format: if facts.format == Some(2) { 2 } else { 3 },
        package_type: facts.package_type.unwrap_or(0) as i32,
        is_encrypted: matches!(facts.protection_level, Some(3) | Some(4)),
        ..PackageMeta::default()
    }
}

/// The bytes are no SSIS package at all (not XML, another root, over the bounds), as
/// opposed to one that needs a password or a user key: one rule for every copy that
/// must carry packages only (`batch`, and `/COPY` / `/MOVE` into msdb, the package
/// store or Azure Files).
pub fn is_not_a_package(error: &PackageError) -> bool {
    matches!(
        error,
        PackageError::Malformed { .. }
            | PackageError::NotAPackage(_)
            | PackageError::TooLarge(_)
            | PackageError::TooDeep(_)
    )
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
