//! The msdb model: the two tables and the `sp_ssis_*` procedures, with the semantics of
//! the procedure bodies that ship in msdb (SQL Server 2008 and later). Pure: no I/O except
//! the optional JSON persistence, so every rule here is unit-tested.
//!
//! Faithful points (each follows the public procedure text; where this fixture adds a
//! rule, the comment says so):
//! - `sp_ssis_getpackage` returns one column, `packagedata` (image); no row when missing.
//!   A reader without rights gets 14586 (that is the number the procedure raises).
//! - `sp_ssis_checkexists` returns `SELECT TOP 1 1` (an unnamed int column, one row when
//!   the package exists, none otherwise) and RETURN 0.
//! - `sp_ssis_listpackages` columns: name, id, description, createdate, folderid,
//!   an unnamed `datalength(packagedata)`, vermajor, verminor, verbuild, vercomments, verid.
//! - `sp_ssis_listfolders`: folderid, parentfolderid, foldername ordered by foldername;
//!   `sp_ssis_getfolder`: folderid, foldername, parentfolderid, and the parent's foldername.
//! - Write checks: db_ssisadmin or sysadmin may do anything; db_ssisltduser may write
//!   only packages it owns (ownersid = its SID) and may add folders; db_ssisoperator reads.
//!   Violations raise 14307 (and 14591 for folder creation/rename, as msdb does).
//! - `sp_ssis_deletefolder` refuses the root (14307) and a folder with packages or
//!   subfolders (14593).
//! - Added here: `sp_ssis_addfolder`/`sp_ssis_renamefolder` refuse a sibling with the same
//!   name with 14591 (msdb's own text for that case; SPEC 2 lists it as "folder exists").

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::value::{self, names_equal, SqlDateTime, SqlError, Value};

pub const ROOT_FOLDER: Uuid = Uuid::nil();
pub const MAINTENANCE_PLANS: Uuid = Uuid::from_u128(0x08aa12d5_8f98_4dab_a4fc_980b150a5dc8);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    pub folderid: Uuid,
    pub parentfolderid: Option<Uuid>,
    pub foldername: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub id: Uuid,
    pub description: Option<String>,
    pub createdate: SqlDateTime,
    pub folderid: Uuid,
    #[serde(with = "hex_bytes")]
    pub ownersid: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub packagedata: Vec<u8>,
    pub packageformat: i32,
    pub packagetype: i32,
    pub vermajor: i32,
    pub verminor: i32,
    pub verbuild: i32,
    pub vercomments: Option<String>,
    pub verid: Uuid,
    pub isencrypted: bool,
    #[serde(default, with = "opt_hex_bytes")]
    pub readrolesid: Option<Vec<u8>>,
    #[serde(default, with = "opt_hex_bytes")]
    pub writerolesid: Option<Vec<u8>>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::value::hex_encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::value::hex_decode(&s).ok_or_else(|| serde::de::Error::custom("bad hex"))
    }
}

mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&super::value::hex_encode(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => super::value::hex_decode(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("bad hex")),
            None => Ok(None),
        }
    }
}

/// Both tables. `Default` is a fresh msdb: the root folder and `Maintenance Plans`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Msdb {
    pub folders: Vec<Folder>,
    pub packages: Vec<Package>,
}

impl Default for Msdb {
    fn default() -> Msdb {
        Msdb {
            folders: vec![
                Folder {
                    folderid: ROOT_FOLDER,
                    parentfolderid: None,
                    foldername: String::new(),
                },
                Folder {
                    folderid: MAINTENANCE_PLANS,
                    parentfolderid: Some(ROOT_FOLDER),
                    foldername: "Maintenance Plans".into(),
                },
            ],
            packages: Vec::new(),
        }
    }
}

impl Msdb {
    /// Loads `path` if it exists, else a fresh msdb.
    pub fn load(path: &Path) -> std::io::Result<Msdb> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Msdb::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes atomically: a temporary file beside the target, fsync, rename over it, so a
    /// crash never leaves a half-written store.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let tmp: PathBuf = {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".tmp{}", std::process::id()));
            path.with_file_name(name)
        };
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    }
}

/// The msdb roles this fixture knows, plus the server role sysadmin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    pub sysadmin: bool,
    pub ssis_admin: bool,
    pub ssis_ltduser: bool,
    pub ssis_operator: bool,
}

impl Roles {
    pub fn parse(list: &str) -> Result<Roles, String> {
        let mut r = Roles::default();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "sysadmin" => r.sysadmin = true,
                "db_ssisadmin" => r.ssis_admin = true,
                "db_ssisltduser" => r.ssis_ltduser = true,
                "db_ssisoperator" => r.ssis_operator = true,
                other => return Err(format!("unknown role '{other}' (known: sysadmin, db_ssisadmin, db_ssisltduser, db_ssisoperator)")),
            }
        }
        Ok(r)
    }

    fn admin(&self) -> bool {
        self.sysadmin || self.ssis_admin
    }

    fn any_ssis(&self) -> bool {
        self.sysadmin || self.ssis_admin || self.ssis_ltduser || self.ssis_operator
    }
}

/// Who is calling: the login name, its SID (what `SUSER_SID()` returns) and its roles.
#[derive(Clone, Debug)]
pub struct Caller {
    pub login: String,
    pub sid: Vec<u8>,
    pub roles: Roles,
}

impl Caller {
    pub fn new(login: &str, roles: Roles) -> Caller {
        Caller {
            login: login.to_string(),
            sid: login_sid(login),
            roles,
        }
    }
}

/// A stable 16-byte SID per login name (SQL logins have 16-byte SIDs), so owners survive a
/// restart with `--data`. FNV-1a over the lower-cased name, twice with different seeds.
pub fn login_sid(login: &str) -> Vec<u8> {
    let name = login.to_lowercase();
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in name.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    let mut out = fnv(0xcbf2_9ce4_8422_2325).to_be_bytes().to_vec();
    out.extend_from_slice(&fnv(0x6c62_272e_07bb_0142).to_be_bytes());
    out
}

/// Column types this fixture sends; the TDS layer maps each to a wire type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// nvarchar(n), n in characters.
    NVarChar(u16),
    Guid,
    Int,
    Bit,
    DateTime,
    /// varbinary(n).
    VarBinary(u16),
    /// The legacy `image` type, sent with a text pointer as SQL Server does.
    Image,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    pub nullable: bool,
}

impl Column {
    pub fn new(name: &str, ty: ColType, nullable: bool) -> Column {
        Column {
            name: name.to_string(),
            ty,
            nullable,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// What a procedure call produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcOutcome {
    pub result_sets: Vec<ResultSet>,
    pub return_status: i32,
    pub error: Option<SqlError>,
    /// Rows touched by the procedure's INSERT/UPDATE/DELETE, reported in a DONEINPROC
    /// when the procedure does not SET NOCOUNT ON.
    pub rows_affected: Option<u64>,
    /// The procedure body ran (arguments bound); only then is there a RETURN status.
    pub ran: bool,
}

/// A call argument: positional (`name` None) or named (`@name = value`).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<String>,
    pub value: Value,
}

impl Arg {
    pub fn named(name: &str, value: Value) -> Arg {
        Arg {
            name: Some(name.to_string()),
            value,
        }
    }
    pub fn positional(value: Value) -> Arg {
        Arg { name: None, value }
    }
}

#[derive(Clone, Copy)]
enum PType {
    Sysname,
    NVarChar1024,
    Guid,
    Int,
    DateTime,
    Image,
}

struct Param {
    name: &'static str,
    ty: PType,
    /// `= NULL` default in the procedure signature.
    optional: bool,
}

const fn p(name: &'static str, ty: PType) -> Param {
    Param {
        name,
        ty,
        optional: false,
    }
}

struct ProcDef {
    name: &'static str,
    params: &'static [Param],
}

const PROCS: &[ProcDef] = &[
    ProcDef {
        name: "sp_ssis_putpackage",
        params: &[
            p("name", PType::Sysname),
            p("id", PType::Guid),
            p("description", PType::NVarChar1024),
            p("createdate", PType::DateTime),
            p("folderid", PType::Guid),
            p("packagedata", PType::Image),
            p("packageformat", PType::Int),
            p("packagetype", PType::Int),
            p("vermajor", PType::Int),
            p("verminor", PType::Int),
            p("verbuild", PType::Int),
            p("vercomments", PType::NVarChar1024),
            p("verid", PType::Guid),
        ],
    },
    ProcDef {
        name: "sp_ssis_getpackage",
        params: &[p("name", PType::Sysname), p("folderid", PType::Guid)],
    },
    ProcDef {
        name: "sp_ssis_deletepackage",
        params: &[p("name", PType::Sysname), p("folderid", PType::Guid)],
    },
    ProcDef {
        name: "sp_ssis_checkexists",
        params: &[p("name", PType::Sysname), p("folderid", PType::Guid)],
    },
    ProcDef {
        name: "sp_ssis_listpackages",
        params: &[p("folderid", PType::Guid)],
    },
    ProcDef {
        name: "sp_ssis_listfolders",
        params: &[Param {
            name: "parentfolderid",
            ty: PType::Guid,
            optional: true,
        }],
    },
    ProcDef {
        name: "sp_ssis_getfolder",
        params: &[p("name", PType::Sysname), p("parentfolderid", PType::Guid)],
    },
    ProcDef {
        name: "sp_ssis_addfolder",
        params: &[
            p("parentfolderid", PType::Guid),
            p("name", PType::Sysname),
            Param {
                name: "folderid",
                ty: PType::Guid,
                optional: true,
            },
        ],
    },
    ProcDef {
        name: "sp_ssis_deletefolder",
        params: &[p("folderid", PType::Guid)],
    },
    ProcDef {
        name: "sp_ssis_renamefolder",
        params: &[p("folderid", PType::Guid), p("name", PType::Sysname)],
    },
];

/// Is `name` (already stripped of `msdb.dbo.`) one of the procedures?
pub fn is_procedure(name: &str) -> bool {
    PROCS.iter().any(|d| d.name.eq_ignore_ascii_case(name))
}

/// The name of procedure `proc`'s parameter at `index`, for messages.
pub fn param_name(proc: &str, index: usize) -> Option<&'static str> {
    let def = PROCS.iter().find(|d| d.name.eq_ignore_ascii_case(proc))?;
    def.params.get(index).map(|p| p.name)
}

/// Binds arguments to the signature as SQL Server does: positional first, then named;
/// errors 119, 8144, 8145, 201 as SQL Server raises them.
fn bind(def: &ProcDef, args: Vec<Arg>) -> Result<Vec<Value>, SqlError> {
    let mut vals: Vec<Option<Value>> = vec![None; def.params.len()];
    let mut seen_named = false;
    for (i, a) in args.into_iter().enumerate() {
        match a.name {
            None => {
                if seen_named {
                    return Err(SqlError::new(
                        119,
                        15,
                        1,
                        format!("Must pass parameter number {} and subsequent parameters as '@name = value'. After the form '@name = value' has been used, all subsequent parameters must be passed in the form '@name = value'.", i + 1),
                    ));
                }
                if i >= def.params.len() {
                    return Err(SqlError::new(
                        8144,
                        16,
                        2,
                        format!(
                            "Procedure or function {} has too many arguments specified.",
                            def.name
                        ),
                    ));
                }
                vals[i] = Some(a.value);
            }
            Some(n) => {
                seen_named = true;
                let n = n.trim_start_matches('@');
                let Some(idx) = def
                    .params
                    .iter()
                    .position(|p| p.name.eq_ignore_ascii_case(n))
                else {
                    return Err(SqlError::new(
                        8145,
                        16,
                        2,
                        format!("@{n} is not a parameter for procedure {}.", def.name),
                    ));
                };
                vals[idx] = Some(a.value);
            }
        }
    }
    let mut out = Vec::with_capacity(vals.len());
    for (param, v) in def.params.iter().zip(vals) {
        let v = match v {
            Some(v) => v,
            None if param.optional => Value::Null,
            None => {
                return Err(SqlError::new(
                    201,
                    16,
                    4,
                    format!(
                    "Procedure or function '{}' expects parameter '@{}', which was not supplied.",
                    def.name, param.name
                ),
                ))
            }
        };
        let v = match param.ty {
            PType::Sysname => value::to_string(v, 128)?,
            PType::NVarChar1024 => value::to_string(v, 1024)?,
            PType::Guid => value::to_guid(v)?,
            PType::Int => value::to_int(v)?,
            PType::DateTime => value::to_datetime(v)?,
            PType::Image => value::to_image(v)?,
        };
        out.push(v);
    }
    Ok(out)
}

fn s(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}
fn g(v: &Value) -> Option<Uuid> {
    match v {
        Value::Guid(g) => Some(*g),
        _ => None,
    }
}
fn i(v: &Value) -> Option<i32> {
    match v {
        Value::Int(i) => Some(*i as i32),
        _ => None,
    }
}
fn opt_str(o: &Option<String>) -> Value {
    o.clone().map(Value::Str).unwrap_or(Value::Null)
}

fn err_14307(name: &str) -> SqlError {
    SqlError::new(
        14307,
        16,
        1,
        format!("Access to Integration Services package '{name}' is denied."),
    )
}

fn err_14586(name: &str) -> SqlError {
    SqlError::new(
        14586,
        16,
        1,
        format!("Only the owner of DTS Package '{name}' or a member of the sysadmin role may create new versions of it."),
    )
}

fn err_14591(name: &str) -> SqlError {
    SqlError::new(
        14591,
        16,
        1,
        format!("SSIS folder '{name}' already exists in the specified parent folder."),
    )
}

fn err_14593(name: &str) -> SqlError {
    SqlError::new(
        14593,
        16,
        1,
        format!("SSIS folder '{name}' contains packages and/or other folders. You must drop these first."),
    )
}

fn not_null(column: &str, table: &str, verb: &str) -> SqlError {
    SqlError::new(
        515,
        16,
        2,
        format!("Cannot insert the value NULL into column '{column}', table 'msdb.dbo.{table}'; column does not allow nulls. {verb} fails."),
    )
}

/// Line numbers in errors point at the RAISERROR in the real procedure bodies roughly;
/// clients print them but nothing depends on them.
const ERR_LINE: i32 = 1;

impl Msdb {
    /// Runs procedure `name` (case-insensitive, without schema prefix). Returns whether
    /// the store changed, so the caller persists only then.
    pub fn call(&mut self, caller: &Caller, name: &str, args: Vec<Arg>) -> (ProcOutcome, bool) {
        let Some(def) = PROCS.iter().find(|d| d.name.eq_ignore_ascii_case(name)) else {
            let e = SqlError::new(62, 16, 62, "");
            let e = SqlError {
                number: 2812,
                message: format!("Could not find stored procedure '{name}'."),
                ..e
            };
            return (
                ProcOutcome {
                    error: Some(e),
                    ..Default::default()
                },
                false,
            );
        };
        // EXECUTE on the sp_ssis_* procedures is granted to the three SSIS roles only.
        if !caller.roles.any_ssis() {
            let e = SqlError::new(
                229,
                14,
                5,
                format!(
                    "The EXECUTE permission was denied on the object '{}', database 'msdb', schema 'dbo'.",
                    def.name
                ),
            );
            return (
                ProcOutcome {
                    error: Some(e),
                    ..Default::default()
                },
                false,
            );
        }
        let vals = match bind(def, args) {
            Ok(v) => v,
            Err(e) => {
                return (
                    ProcOutcome {
                        error: Some(e.in_proc(def.name, 0)),
                        ..Default::default()
                    },
                    false,
                )
            }
        };
        let mut changed = false;
        let r = match def.name {
            "sp_ssis_putpackage" => self.putpackage(caller, &vals, &mut changed),
            "sp_ssis_getpackage" => self.getpackage(caller, &vals),
            "sp_ssis_deletepackage" => self.deletepackage(caller, &vals, &mut changed),
            "sp_ssis_checkexists" => Ok(self.checkexists(&vals)),
            "sp_ssis_listpackages" => Ok(self.listpackages(&vals)),
            "sp_ssis_listfolders" => Ok(self.listfolders(&vals)),
            "sp_ssis_getfolder" => Ok(self.getfolder(&vals)),
            "sp_ssis_addfolder" => self.addfolder(caller, &vals, &mut changed),
            "sp_ssis_deletefolder" => self.deletefolder(caller, &vals, &mut changed),
            "sp_ssis_renamefolder" => self.renamefolder(caller, &vals, &mut changed),
            _ => unreachable!("every PROCS entry is dispatched"),
        };
        let out = match r {
            Ok(o) => ProcOutcome { ran: true, ..o },
            Err(e) => ProcOutcome {
                error: Some(e.in_proc(def.name, ERR_LINE)),
                return_status: 1,
                ran: true,
                ..Default::default()
            },
        };
        (out, changed)
    }

    fn find_package(&self, name: &str, folder: Option<Uuid>) -> Option<usize> {
        let folder = folder?;
        self.packages
            .iter()
            .position(|p| p.folderid == folder && names_equal(&p.name, name))
    }

    fn putpackage(
        &mut self,
        caller: &Caller,
        v: &[Value],
        changed: &mut bool,
    ) -> Result<ProcOutcome, SqlError> {
        let name = s(&v[0]).unwrap_or_default().to_string();
        let pkgname = if v[0].is_null() { "(null)" } else { &name };
        if let Some(idx) = self.find_package(&name, g(&v[4])) {
            let row = &self.packages[idx];
            // writerolesid is never set by this fixture (no sp_ssis_setpackageroles), so
            // the default rule applies: admins, or the owner when it is a db_ssisltduser.
            if !caller.roles.admin() && (row.ownersid != caller.sid || !caller.roles.ssis_ltduser) {
                return Err(err_14307(pkgname));
            }
            let new = self.package_from(v, row.ownersid.clone(), "UPDATE")?;
            let row = &mut self.packages[idx];
            // The procedure's UPDATE sets neither the name nor these columns: a row
            // found case-insensitively keeps its name's own case.
            let (name, ownersid, isencrypted, readrolesid, writerolesid) = (
                row.name.clone(),
                row.ownersid.clone(),
                row.isencrypted,
                row.readrolesid.clone(),
                row.writerolesid.clone(),
            );
            *row = Package {
                name,
                ownersid,
                isencrypted,
                readrolesid,
                writerolesid,
                ..new
            };
        } else {
            if !caller.roles.admin() && !caller.roles.ssis_ltduser {
                return Err(err_14307(pkgname));
            }
            let new = self.package_from(v, caller.sid.clone(), "INSERT")?;
            self.packages.push(new);
        }
        *changed = true;
        // putpackage runs with SET NOCOUNT ON: no row count.
        Ok(ProcOutcome::default())
    }

    fn package_from(
        &self,
        v: &[Value],
        ownersid: Vec<u8>,
        verb: &str,
    ) -> Result<Package, SqlError> {
        let req_s = |i: usize, col: &str| {
            s(&v[i])
                .map(str::to_string)
                .ok_or_else(|| not_null(col, "sysssispackages", verb))
        };
        let req_g =
            |i: usize, col: &str| g(&v[i]).ok_or_else(|| not_null(col, "sysssispackages", verb));
        let req_i = |i: usize, col: &str| {
            self::i(&v[i]).ok_or_else(|| not_null(col, "sysssispackages", verb))
        };
        Ok(Package {
            name: req_s(0, "name")?,
            id: req_g(1, "id")?,
            description: s(&v[2]).map(str::to_string),
            createdate: match &v[3] {
                Value::DateTime(d) => *d,
                _ => return Err(not_null("createdate", "sysssispackages", verb)),
            },
            folderid: req_g(4, "folderid")?,
            ownersid,
            packagedata: match &v[5] {
                Value::Bin(b) => b.clone(),
                _ => return Err(not_null("packagedata", "sysssispackages", verb)),
            },
            packageformat: req_i(6, "packageformat")?,
            packagetype: req_i(7, "packagetype")?,
            vermajor: req_i(8, "vermajor")?,
            verminor: req_i(9, "verminor")?,
            verbuild: req_i(10, "verbuild")?,
            vercomments: s(&v[11]).map(str::to_string),
            verid: req_g(12, "verid")?,
            // The procedure does not set isencrypted; the column's default (0) applies.
            isencrypted: false,
            readrolesid: None,
            writerolesid: None,
        })
    }

    fn getpackage(&self, caller: &Caller, v: &[Value]) -> Result<ProcOutcome, SqlError> {
        let name = s(&v[0]).unwrap_or_default();
        let idx = self.find_package(name, g(&v[1]));
        if let Some(idx) = idx {
            let row = &self.packages[idx];
            let r = &caller.roles;
            if !r.admin() && !r.ssis_operator && (!r.ssis_ltduser || row.ownersid != caller.sid) {
                return Err(err_14586(name));
            }
        }
        let rows = idx
            .map(|i| vec![vec![Value::Bin(self.packages[i].packagedata.clone())]])
            .unwrap_or_default();
        let n = rows.len() as u64;
        Ok(ProcOutcome {
            result_sets: vec![ResultSet {
                columns: vec![Column::new("packagedata", ColType::Image, false)],
                rows,
            }],
            rows_affected: Some(n),
            ..Default::default()
        })
    }

    fn deletepackage(
        &mut self,
        caller: &Caller,
        v: &[Value],
        changed: &mut bool,
    ) -> Result<ProcOutcome, SqlError> {
        let name = s(&v[0]).unwrap_or_default();
        let mut n = 0;
        if let Some(idx) = self.find_package(name, g(&v[1])) {
            let row = &self.packages[idx];
            if !caller.roles.admin() && (row.ownersid != caller.sid || !caller.roles.ssis_ltduser) {
                return Err(err_14307(name));
            }
            self.packages.remove(idx);
            *changed = true;
            n = 1;
        }
        Ok(ProcOutcome {
            rows_affected: Some(n),
            ..Default::default()
        })
    }

    fn checkexists(&self, v: &[Value]) -> ProcOutcome {
        let found = self
            .find_package(s(&v[0]).unwrap_or_default(), g(&v[1]))
            .is_some();
        ProcOutcome {
            result_sets: vec![ResultSet {
                columns: vec![Column::new("", ColType::Int, false)],
                rows: if found {
                    vec![vec![Value::Int(1)]]
                } else {
                    vec![]
                },
            }],
            // SET NOCOUNT ON in the procedure.
            ..Default::default()
        }
    }

    fn listpackages(&self, v: &[Value]) -> ProcOutcome {
        let folder = g(&v[0]);
        let mut pk: Vec<&Package> = self
            .packages
            .iter()
            .filter(|p| Some(p.folderid) == folder)
            .collect();
        pk.sort_by_key(|p| p.name.to_lowercase());
        let rows: Vec<Vec<Value>> = pk
            .iter()
            .map(|p| {
                vec![
                    Value::Str(p.name.clone()),
                    Value::Guid(p.id),
                    opt_str(&p.description),
                    Value::DateTime(p.createdate),
                    Value::Guid(p.folderid),
                    Value::Int(p.packagedata.len() as i64),
                    Value::Int(p.vermajor.into()),
                    Value::Int(p.verminor.into()),
                    Value::Int(p.verbuild.into()),
                    opt_str(&p.vercomments),
                    Value::Guid(p.verid),
                ]
            })
            .collect();
        let n = rows.len() as u64;
        ProcOutcome {
            result_sets: vec![ResultSet {
                columns: vec![
                    Column::new("name", ColType::NVarChar(128), false),
                    Column::new("id", ColType::Guid, false),
                    Column::new("description", ColType::NVarChar(1024), true),
                    Column::new("createdate", ColType::DateTime, false),
                    Column::new("folderid", ColType::Guid, false),
                    Column::new("", ColType::Int, true),
                    Column::new("vermajor", ColType::Int, false),
                    Column::new("verminor", ColType::Int, false),
                    Column::new("verbuild", ColType::Int, false),
                    Column::new("vercomments", ColType::NVarChar(1024), true),
                    Column::new("verid", ColType::Guid, false),
                ],
                rows,
            }],
            rows_affected: Some(n),
            ..Default::default()
        }
    }

    fn listfolders(&self, v: &[Value]) -> ProcOutcome {
        let parent = g(&v[0]);
        let mut f: Vec<&Folder> = self
            .folders
            .iter()
            .filter(|f| f.parentfolderid == parent)
            .collect();
        f.sort_by_key(|f| f.foldername.to_lowercase());
        let rows: Vec<Vec<Value>> = f
            .iter()
            .map(|f| {
                vec![
                    Value::Guid(f.folderid),
                    f.parentfolderid.map(Value::Guid).unwrap_or(Value::Null),
                    Value::Str(f.foldername.clone()),
                ]
            })
            .collect();
        let n = rows.len() as u64;
        ProcOutcome {
            result_sets: vec![ResultSet {
                columns: folder_columns(),
                rows,
            }],
            rows_affected: Some(n),
            ..Default::default()
        }
    }

    fn getfolder(&self, v: &[Value]) -> ProcOutcome {
        let name = s(&v[0]).unwrap_or_default();
        let parent = g(&v[1]);
        let rows: Vec<Vec<Value>> = self
            .folders
            .iter()
            .filter(|f| {
                !v[0].is_null() && f.parentfolderid == parent && names_equal(&f.foldername, name)
            })
            .map(|f| {
                let pname = f
                    .parentfolderid
                    .and_then(|p| self.folders.iter().find(|x| x.folderid == p))
                    .map(|x| Value::Str(x.foldername.clone()))
                    .unwrap_or(Value::Null);
                vec![
                    Value::Guid(f.folderid),
                    Value::Str(f.foldername.clone()),
                    f.parentfolderid.map(Value::Guid).unwrap_or(Value::Null),
                    pname,
                ]
            })
            .collect();
        let n = rows.len() as u64;
        ProcOutcome {
            result_sets: vec![ResultSet {
                columns: vec![
                    Column::new("folderid", ColType::Guid, false),
                    Column::new("foldername", ColType::NVarChar(128), false),
                    Column::new("parentfolderid", ColType::Guid, true),
                    Column::new("foldername", ColType::NVarChar(128), true),
                ],
                rows,
            }],
            rows_affected: Some(n),
            ..Default::default()
        }
    }

    fn sibling_exists(&self, parent: Option<Uuid>, name: &str, except: Option<Uuid>) -> bool {
        self.folders.iter().any(|f| {
            f.parentfolderid == parent
                && names_equal(&f.foldername, name)
                && Some(f.folderid) != except
        })
    }

    fn addfolder(
        &mut self,
        caller: &Caller,
        v: &[Value],
        changed: &mut bool,
    ) -> Result<ProcOutcome, SqlError> {
        let name = s(&v[1]).unwrap_or_default().to_string();
        if !caller.roles.admin() && !caller.roles.ssis_ltduser {
            return Err(err_14591(&name));
        }
        if v[1].is_null() {
            return Err(not_null("foldername", "sysssispackagefolders", "INSERT"));
        }
        let parent = g(&v[0]);
        if self.sibling_exists(parent, &name, None) {
            return Err(err_14591(&name));
        }
        let folderid = g(&v[2]).unwrap_or_else(Uuid::new_v4);
        self.folders.push(Folder {
            folderid,
            parentfolderid: parent,
            foldername: name,
        });
        *changed = true;
        Ok(ProcOutcome {
            rows_affected: Some(1),
            ..Default::default()
        })
    }

    fn deletefolder(
        &mut self,
        caller: &Caller,
        v: &[Value],
        changed: &mut bool,
    ) -> Result<ProcOutcome, SqlError> {
        let id = g(&v[0]);
        if id == Some(ROOT_FOLDER) {
            return Err(err_14307("00000000-0000-0000-0000-000000000000"));
        }
        let name = self
            .folders
            .iter()
            .find(|f| Some(f.folderid) == id)
            .map(|f| f.foldername.clone());
        if let Some(name) = &name {
            if !caller.roles.admin() && !caller.roles.ssis_ltduser {
                return Err(err_14307(name));
            }
        }
        let shown = name.clone().unwrap_or_else(|| "(null)".into());
        if self.packages.iter().any(|p| Some(p.folderid) == id) {
            return Err(err_14593(&shown));
        }
        if id.is_some() && self.folders.iter().any(|f| f.parentfolderid == id) {
            return Err(err_14593(&shown));
        }
        let before = self.folders.len();
        self.folders.retain(|f| Some(f.folderid) != id);
        let n = (before - self.folders.len()) as u64;
        *changed = n > 0;
        Ok(ProcOutcome {
            rows_affected: Some(n),
            ..Default::default()
        })
    }

    fn renamefolder(
        &mut self,
        caller: &Caller,
        v: &[Value],
        changed: &mut bool,
    ) -> Result<ProcOutcome, SqlError> {
        let name = s(&v[1]).unwrap_or_default().to_string();
        if !caller.roles.admin() && !caller.roles.ssis_ltduser {
            return Err(err_14591(&name));
        }
        let id = g(&v[0]);
        if v[1].is_null() {
            return Err(not_null("foldername", "sysssispackagefolders", "UPDATE"));
        }
        let Some(idx) = self.folders.iter().position(|f| Some(f.folderid) == id) else {
            return Ok(ProcOutcome {
                rows_affected: Some(0),
                ..Default::default()
            });
        };
        if self.sibling_exists(self.folders[idx].parentfolderid, &name, id) {
            return Err(err_14591(&name));
        }
        self.folders[idx].foldername = name;
        *changed = true;
        Ok(ProcOutcome {
            rows_affected: Some(1),
            ..Default::default()
        })
    }
}

fn folder_columns() -> Vec<Column> {
    vec![
        Column::new("folderid", ColType::Guid, false),
        Column::new("parentfolderid", ColType::Guid, true),
        Column::new("foldername", ColType::NVarChar(128), false),
    ]
}

/// The tables' columns, for plain SELECTs.
pub fn table_columns(table: Table) -> Vec<Column> {
    match table {
        Table::Folders => folder_columns(),
        Table::Packages => vec![
            Column::new("name", ColType::NVarChar(128), false),
            Column::new("id", ColType::Guid, false),
            Column::new("description", ColType::NVarChar(1024), true),
            Column::new("createdate", ColType::DateTime, false),
            Column::new("folderid", ColType::Guid, false),
            Column::new("ownersid", ColType::VarBinary(85), false),
            Column::new("packagedata", ColType::Image, false),
            Column::new("packageformat", ColType::Int, false),
            Column::new("packagetype", ColType::Int, false),
            Column::new("vermajor", ColType::Int, false),
            Column::new("verminor", ColType::Int, false),
            Column::new("verbuild", ColType::Int, false),
            Column::new("vercomments", ColType::NVarChar(1024), true),
            Column::new("verid", ColType::Guid, false),
            Column::new("isencrypted", ColType::Bit, false),
            Column::new("readrolesid", ColType::VarBinary(85), true),
            Column::new("writerolesid", ColType::VarBinary(85), true),
        ],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Packages,
    Folders,
}

impl Msdb {
    /// All rows of a table, in `table_columns` order.
    pub fn table_rows(&self, table: Table) -> Vec<Vec<Value>> {
        let bin = |o: &Option<Vec<u8>>| o.clone().map(Value::Bin).unwrap_or(Value::Null);
        match table {
            Table::Folders => self
                .folders
                .iter()
                .map(|f| {
                    vec![
                        Value::Guid(f.folderid),
                        f.parentfolderid.map(Value::Guid).unwrap_or(Value::Null),
                        Value::Str(f.foldername.clone()),
                    ]
                })
                .collect(),
            Table::Packages => self
                .packages
                .iter()
                .map(|p| {
                    vec![
                        Value::Str(p.name.clone()),
                        Value::Guid(p.id),
                        opt_str(&p.description),
                        Value::DateTime(p.createdate),
                        Value::Guid(p.folderid),
                        Value::Bin(p.ownersid.clone()),
                        Value::Bin(p.packagedata.clone()),
                        Value::Int(p.packageformat.into()),
                        Value::Int(p.packagetype.into()),
                        Value::Int(p.vermajor.into()),
                        Value::Int(p.verminor.into()),
                        Value::Int(p.verbuild.into()),
                        opt_str(&p.vercomments),
                        Value::Guid(p.verid),
                        Value::Bit(p.isencrypted),
                        bin(&p.readrolesid),
                        bin(&p.writerolesid),
                    ]
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> Caller {
        Caller::new("admin", Roles::parse("db_ssisadmin").unwrap())
    }

    fn put_args(name: &str, folder: Uuid, data: &[u8]) -> Vec<Arg> {
        vec![
            Arg::named("name", Value::Str(name.into())),
            Arg::named(
                "id",
                Value::Str("11111111-2222-3333-4444-555555555555".into()),
            ),
            Arg::named("description", Value::Null),
            Arg::named("createdate", Value::Str("2024-01-02T03:04:05".into())),
            Arg::named("folderid", Value::Guid(folder)),
            Arg::named("packagedata", Value::Bin(data.to_vec())),
            Arg::named("packageformat", Value::Int(3)),
            Arg::named("packagetype", Value::Int(5)),
            Arg::named("vermajor", Value::Int(1)),
            Arg::named("verminor", Value::Int(2)),
            Arg::named("verbuild", Value::Int(3)),
            Arg::named("vercomments", Value::Str("c".into())),
            Arg::named("verid", Value::Guid(Uuid::from_u128(7))),
        ]
    }

    fn call(db: &mut Msdb, who: &Caller, name: &str, args: Vec<Arg>) -> ProcOutcome {
        db.call(who, name, args).0
    }

    fn err(o: &ProcOutcome) -> i32 {
        o.error.as_ref().map(|e| e.number).unwrap_or(0)
    }

    #[test]
    fn fresh_msdb_has_root_and_maintenance_plans() {
        let mut db = Msdb::default();
        let o = call(&mut db, &admin(), "sp_ssis_listfolders", vec![]);
        assert_eq!(
            o.result_sets[0].rows,
            vec![vec![
                Value::Guid(ROOT_FOLDER),
                Value::Null,
                Value::Str(String::new())
            ]]
        );
        let o = call(
            &mut db,
            &admin(),
            "SP_SSIS_LISTFOLDERS",
            vec![Arg::positional(Value::Str(
                "00000000-0000-0000-0000-000000000000".into(),
            ))],
        );
        assert_eq!(
            o.result_sets[0].rows[0][2],
            Value::Str("Maintenance Plans".into())
        );
    }

    #[test]
    fn put_get_update_keeps_owner_and_delete() {
        let mut db = Msdb::default();
        let ltd = Caller::new("ltd", Roles::parse("db_ssisltduser").unwrap());
        let o = call(
            &mut db,
            &ltd,
            "sp_ssis_putpackage",
            put_args("P", MAINTENANCE_PLANS, b"abc"),
        );
        assert!(o.error.is_none(), "{o:?}");
        // Case-insensitive name, trailing blanks ignored.
        let o = call(
            &mut db,
            &admin(),
            "sp_ssis_getpackage",
            vec![
                Arg::positional(Value::Str("p ".into())),
                Arg::positional(Value::Guid(MAINTENANCE_PLANS)),
            ],
        );
        assert_eq!(
            o.result_sets[0].rows,
            vec![vec![Value::Bin(b"abc".to_vec())]]
        );
        // The admin overwrites it: owner stays ltd.
        let o = call(
            &mut db,
            &admin(),
            "sp_ssis_putpackage",
            put_args("p", MAINTENANCE_PLANS, b"xyz"),
        );
        assert!(o.error.is_none());
        assert_eq!(db.packages.len(), 1);
        assert_eq!(db.packages[0].ownersid, ltd.sid);
        assert_eq!(db.packages[0].packagedata, b"xyz");
        // The UPDATE does not set the name: it keeps the case it was created with.
        assert_eq!(db.packages[0].name, "P");
        assert_eq!(
            db.packages[0].createdate.format(),
            "2024-01-02 03:04:05.000"
        );
        // Another ltduser may neither overwrite, read nor delete it.
        let other = Caller::new("other", Roles::parse("db_ssisltduser").unwrap());
        let o = call(
            &mut db,
            &other,
            "sp_ssis_putpackage",
            put_args("P", MAINTENANCE_PLANS, b"no"),
        );
        assert_eq!(err(&o), 14307);
        assert_eq!(o.return_status, 1);
        assert_eq!(
            o.error.as_ref().unwrap().message,
            "Access to Integration Services package 'P' is denied."
        );
        let ga = vec![
            Arg::named("name", Value::Str("P".into())),
            Arg::named("folderid", Value::Guid(MAINTENANCE_PLANS)),
        ];
        assert_eq!(
            err(&call(&mut db, &other, "sp_ssis_getpackage", ga.clone())),
            14586
        );
        assert_eq!(
            err(&call(&mut db, &other, "sp_ssis_deletepackage", ga.clone())),
            14307
        );
        // An operator reads but cannot write or delete.
        let op = Caller::new("op", Roles::parse("db_ssisoperator").unwrap());
        assert_eq!(
            err(&call(&mut db, &op, "sp_ssis_getpackage", ga.clone())),
            0
        );
        assert_eq!(
            err(&call(
                &mut db,
                &op,
                "sp_ssis_putpackage",
                put_args("P", MAINTENANCE_PLANS, b"no")
            )),
            14307
        );
        assert_eq!(
            err(&call(
                &mut db,
                &op,
                "sp_ssis_putpackage",
                put_args("New", MAINTENANCE_PLANS, b"no")
            )),
            14307
        );
        assert_eq!(
            err(&call(&mut db, &op, "sp_ssis_deletepackage", ga.clone())),
            14307
        );
        // checkexists: one unnamed int row.
        let o = call(&mut db, &op, "sp_ssis_checkexists", ga.clone());
        assert_eq!(o.result_sets[0].rows, vec![vec![Value::Int(1)]]);
        // The owner deletes it.
        assert_eq!(
            err(&call(&mut db, &ltd, "sp_ssis_deletepackage", ga.clone())),
            0
        );
        let o = call(&mut db, &op, "sp_ssis_checkexists", ga.clone());
        assert!(o.result_sets[0].rows.is_empty());
        let o = call(&mut db, &op, "sp_ssis_getpackage", ga);
        assert!(o.result_sets[0].rows.is_empty() && o.error.is_none());
    }

    #[test]
    fn folders_add_exists_not_empty_root_rename() {
        let mut db = Msdb::default();
        let a = admin();
        let add = |parent: Uuid, name: &str| {
            vec![
                Arg::named("parentfolderid", Value::Guid(parent)),
                Arg::named("name", Value::Str(name.into())),
            ]
        };
        assert_eq!(
            err(&call(
                &mut db,
                &a,
                "sp_ssis_addfolder",
                add(ROOT_FOLDER, "F")
            )),
            0
        );
        let o = call(&mut db, &a, "sp_ssis_addfolder", add(ROOT_FOLDER, "f"));
        assert_eq!(err(&o), 14591);
        assert_eq!(o.error.unwrap().procedure, "sp_ssis_addfolder");
        let o = call(
            &mut db,
            &a,
            "sp_ssis_getfolder",
            vec![
                Arg::positional(Value::Str("F".into())),
                Arg::positional(Value::Guid(ROOT_FOLDER)),
            ],
        );
        let row = &o.result_sets[0].rows[0];
        let fid = match row[0] {
            Value::Guid(g) => g,
            _ => panic!(),
        };
        assert_eq!(row[3], Value::Str(String::new()));
        // Not empty: a subfolder, then a package.
        assert_eq!(
            err(&call(&mut db, &a, "sp_ssis_addfolder", add(fid, "Sub"))),
            0
        );
        let del = vec![Arg::named("folderid", Value::Guid(fid))];
        let o = call(&mut db, &a, "sp_ssis_deletefolder", del.clone());
        assert_eq!(err(&o), 14593);
        assert_eq!(
            o.error.unwrap().message,
            "SSIS folder 'F' contains packages and/or other folders. You must drop these first."
        );
        // Root refused.
        let o = call(
            &mut db,
            &a,
            "sp_ssis_deletefolder",
            vec![Arg::positional(Value::Guid(ROOT_FOLDER))],
        );
        assert_eq!(err(&o), 14307);
        // Rename, and the operator may not.
        let op = Caller::new("op", Roles::parse("db_ssisoperator").unwrap());
        let ren = vec![
            Arg::positional(Value::Guid(fid)),
            Arg::positional(Value::Str("G".into())),
        ];
        assert_eq!(
            err(&call(&mut db, &op, "sp_ssis_renamefolder", ren.clone())),
            14591
        );
        assert_eq!(err(&call(&mut db, &a, "sp_ssis_renamefolder", ren)), 0);
        assert!(db.folders.iter().any(|f| f.foldername == "G"));
        assert_eq!(
            err(&call(&mut db, &op, "sp_ssis_deletefolder", del.clone())),
            14307
        );
    }

    #[test]
    fn binding_errors_and_permissions() {
        let mut db = Msdb::default();
        let a = admin();
        assert_eq!(
            err(&call(
                &mut db,
                &a,
                "sp_ssis_getpackage",
                vec![Arg::named("name", Value::Str("x".into()))]
            )),
            201
        );
        assert_eq!(
            err(&call(
                &mut db,
                &a,
                "sp_ssis_getpackage",
                vec![Arg::named("bogus", Value::Null)]
            )),
            8145
        );
        assert_eq!(
            err(&call(
                &mut db,
                &a,
                "sp_ssis_listpackages",
                vec![Arg::positional(Value::Null), Arg::positional(Value::Null)]
            )),
            8144
        );
        assert_eq!(
            err(&call(
                &mut db,
                &a,
                "sp_ssis_listpackages",
                vec![Arg::positional(Value::Str("zz".into()))]
            )),
            8169
        );
        assert_eq!(err(&call(&mut db, &a, "sp_ssis_nothing", vec![])), 2812);
        let nobody = Caller::new("nobody", Roles::default());
        assert_eq!(
            err(&call(&mut db, &nobody, "sp_ssis_listfolders", vec![])),
            229
        );
        let mut args = put_args("P", ROOT_FOLDER, b"x");
        args[5] = Arg::named("packagedata", Value::Null);
        assert_eq!(err(&call(&mut db, &a, "sp_ssis_putpackage", args)), 515);
    }

    #[test]
    fn persistence_round_trips() {
        let dir = std::env::temp_dir().join(format!("msdb-model-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("msdb.json");
        let mut db = Msdb::default();
        call(
            &mut db,
            &admin(),
            "sp_ssis_putpackage",
            put_args("P", ROOT_FOLDER, &[0, 1, 2, 255]),
        );
        db.save(&path).unwrap();
        assert_eq!(Msdb::load(&path).unwrap(), db);
        assert_eq!(
            Msdb::load(&dir.join("missing.json")).unwrap(),
            Msdb::default()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
