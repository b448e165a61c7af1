//! The rules and the lists they need, as data, each with where it comes from.
//!
//! Sources (read 2026-12; see docs/assessment.md for what could not be confirmed):
//! - [DMA] "SSIS migration assessment rules", MicrosoftDocs/azure-docs
//!   `articles/data-factory/scenario-ssis-migration-rules.md` (commit 06886ecd): rule
//!   numbers and titles, quoted exactly so they can be searched for.
//! - [IR] "Built-in and preinstalled components on Azure-SSIS Integration Runtime",
//!   azure-docs `articles/data-factory/built-in-preinstalled-components-ssis-integration-runtime.md`
//!   (commit 03e5750a): providers, drivers, connection managers, components, tasks.
//! - [EE] "Provision Enterprise Edition for the Azure-SSIS Integration Runtime",
//!   azure-docs `articles/data-factory/how-to-configure-azure-ssis-ir-enterprise-edition.md`,
//!   and "Integration Services features supported by the editions of SQL Server",
//!   MicrosoftDocs/sql-docs `docs/integration-services/integration-services-features-supported-by-the-editions-of-sql-server.md`
//!   (ms.date 11/27/2025): the Enterprise-only components.
//! - [LOG] "Integration Services (SSIS) logging", sql-docs
//!   `docs/integration-services/performance/integration-services-ssis-logging.md`:
//!   the five log providers' ProgIDs and ClassIDs.
//! - [CFG] `DTSConfigurationType` (Microsoft.SqlServer.Dts.Runtime.Wrapper, learn.microsoft.com):
//!   configuration type numbers.

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// SARIF's `level`.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Self::Info => "note",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// Where a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only when the target is the Azure-SSIS IR (the DMA rules about its machines).
    AzureIr,
    /// On any target (user keys, editions, runtimes).
    Any,
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// DMA's number (`1001`), or ours (`DTU101`).
    pub id: &'static str,
    /// DMA's title as published, or ours.
    pub title: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    /// What to do, in our words.
    pub recommendation: &'static str,
    /// Microsoft's page for a DMA rule (ours are in docs/assessment.md).
    pub help_uri: Option<&'static str>,
}

const DMA_URI: &str =
    "https://learn.microsoft.com/azure/data-factory/scenario-ssis-migration-rules";

const fn dma(id: &'static str, title: &'static str, recommendation: &'static str) -> Rule {
    Rule {
        id,
        title,
        severity: Severity::Warning,
        scope: Scope::AzureIr,
        recommendation,
        help_uri: Some(DMA_URI),
    }
}

const fn ours(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    recommendation: &'static str,
) -> Rule {
    Rule {
        id,
        title,
        severity,
        scope: Scope::Any,
        recommendation,
        help_uri: None,
    }
}

/// Every rule, in the order reports list them.
pub const RULES: &[Rule] = &[
    dma("1001", "Connection with host name may fail",
        "Make the name resolvable from the IR: join the IR to a virtual network whose DNS knows it, or move the data to Azure and use the service's endpoint (with managed identity), or reach on-premises data through a self-hosted IR proxy."),
    dma("1002", "Connection with absolute or UNC path might not be accessible",
        "Move the files to Azure Files (and map the share) or to %TEMP% on the IR, or join the IR to a virtual network that reaches the share, or use a self-hosted IR proxy."),
    dma("1003", "Connection with Windows authentication may fail",
        "Give the IR a Windows identity for this store: an execution credential on the SSIS activity or the catalog, cmdkey in a custom setup, or switch to SQL / Azure AD authentication."),
    dma("1004", "Connection with non built-in provider or driver may fail",
        "Install the provider or driver on the IR with a custom setup script, or switch to a built-in one (Microsoft OLE DB Driver for SQL Server, MSOLEDBSQL)."),
    dma("1005", "Analysis Services Connection Manager cannot use an account with MFA enabled",
        "Connect with an account that needs no interactive sign-in, or with a service principal."),
    dma("1006", "Windows environment variable in Connection Manager is discovered",
        "Set the variable on the IR with a custom setup, or replace it with a package or project parameter."),
    dma("1007", "SQL Server Native Client (SNAC) OLE DB driver is deprecated",
        "Switch the connection to the Microsoft OLE DB Driver for SQL Server (Provider=MSOLEDBSQL)."),
    Rule {
        scope: Scope::Any,
        ..dma("2001", "Component only supported in enterprise edition",
        "Provision the Azure-SSIS IR as Enterprise Edition (or run on SQL Server Enterprise), or replace the component.")
    },
    dma("2002", "ORC and Parquet file format aren't by default enabled",
        "Install a Java runtime on the IR with a custom setup, or use another file format."),
    dma("2003", "Third party component isn't by default enabled",
        "Get a build of the component for the SQL Server 2017 runtime from its vendor and install it with a custom setup (or a licensed-component setup)."),
    dma("2004", "Azure Blob source and destination is discovered",
        "Consider the Flexible File source and destination, which do more than the Azure Blob ones."),
    dma("2005", "Non built-in log provider may not be installed by default",
        "Install the log provider on the IR with a custom setup, or use a built-in one (the SSIS catalog logs on its own)."),
    dma("3001", "Absolute or UNC path is discovered in Execute Process Task",
        "Put the program on Azure Files, or install it with a custom setup, or join the IR to a virtual network that reaches the share."),
    dma("4001", "Absolute or UNC configuration path is discovered in package configuration",
        "Move the configuration file to Azure Files, or replace package configurations with parameters and catalog environments."),
    dma("4002", "Registry entry is discovered in package configuration",
        "Use another configuration type (an XML configuration file), or parameters."),
    Rule {
        severity: Severity::Error,
        scope: Scope::Any,
        ..dma("4003", "Package encrypted with user key isn't supported",
        "Re-protect it with a password where its Windows key is: on the machine and account that saved it, Microsoft's dtutil /FILE pkg.dtsx /ENCRYPT FILE;pkg.dtsx;2;PASSWORD (or keep level 1 and supply every sensitive value at run time).")
    },
    ours("DTU101", "Package saved by newer tools than the target runtime", Severity::Error,
        "Save it again with the tools of the target release (SSDT TargetServerVersion), or target a newer runtime."),
    ours("DTU102", "AES-256 values on a runtime before SQL Server 2019", Severity::Error,
        "Re-encrypt with Triple DES: dtutil ... /ENCRYPT ...;2;PASSWORD --algorithm 3des."),
    ours("DTU103", "The runtime upgrades the package when it loads it", Severity::Info,
        "Nothing is needed; upgrade it in the designer to check the result and save the load-time upgrade."),
    ours("DTU201", "Protection level 4 (EncryptAllWithUserKey): only its own Windows profile can open it", Severity::Error,
        "On the machine and account that saved it, re-save it with a password (level 2 or 3); nothing else can read it."),
    ours("DTU202", "Sensitive values will be lost on the way", Severity::Warning,
        "These values are encrypted for one Windows user: re-protect with a password before migrating, or supply each value at run time (parameters, environments, /SET)."),
    ours("DTU301", "Cannot tell statically", Severity::Info,
        "The value is computed when the package runs: check what it resolves to on the IR."),
    ours("DTU900", "Package not fully assessed", Severity::Error,
        "Give the password (--password) or fix the package so every rule can look at it."),
];

pub fn rule(id: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} is in RULES"))
}

/// OLE DB providers on the IR [IR]: SNAC 11, the OLE DB Driver 18 (MSOLEDBSQL), the
/// Analysis Services provider (MSOLAP), the Access Database Engine 2016
/// (ACE.OLEDB.16.0), the OLE DB Provider for DB2; and the ones Windows Server 2019
/// itself carries (SQLOLEDB, MSDASQL). Compared without a trailing `.N` version,
/// except ACE, whose 12.0 is a different install.
pub const BUILTIN_OLEDB_PROVIDERS: &[&str] = &[
    "sqlncli11",
    "msoledbsql",
    "msolap",
    "microsoft.ace.oledb.16.0",
    "db2oledb",
    "sqloledb",
    "msdasql",
];

/// ODBC drivers on the IR [IR] (and Windows' own `SQL Server` driver).
pub const BUILTIN_ODBC_DRIVERS: &[&str] = &["odbc driver 13 for sql server", "sql server"];

/// ADO.NET providers of .NET Framework 4.7.2 [IR: ".NET Framework 4.7.2"].
pub const BUILTIN_ADONET_TYPES: &[&str] = &[
    "system.data.sqlclient.sqlconnection",
    "system.data.oledb.oledbconnection",
    "system.data.odbc.odbcconnection",
];

/// Enterprise-only components [EE], matched against a component's (or task's) class
/// ID, managed type name and contact name, lowercased with everything but letters
/// and digits removed.
pub const ENTERPRISE_COMPONENTS: &[(&str, &str)] = &[
    ("fuzzylookup", "Fuzzy Lookup transformation"),
    ("fuzzygrouping", "Fuzzy Grouping transformation"),
    ("termextraction", "Term Extraction transformation"),
    ("termlookup", "Term Lookup transformation"),
    ("dataminingquery", "Data Mining Query transformation"),
    (
        "miningmodeltraining",
        "Data Mining Model Training destination",
    ),
    ("dimensionprocessing", "Dimension Processing destination"),
    ("partitionprocessing", "Partition Processing destination"),
    ("cdcsource", "CDC Source"),
    ("cdcsrc", "CDC Source"),
    ("cdcsplitter", "CDC Splitter"),
    ("cdccontrol", "CDC Control Task"),
    ("oraclesource", "Oracle source"),
    ("oraclesrc", "Oracle source"),
    ("oracledestination", "Oracle destination"),
    ("oracledest", "Oracle destination"),
    ("oracledst", "Oracle destination"),
    ("teradatasource", "Teradata source"),
    ("teradatasrc", "Teradata source"),
    ("teradatadestination", "Teradata destination"),
    ("teradatadest", "Teradata destination"),
    ("teradatadst", "Teradata destination"),
    ("sapbwsource", "SAP BW source"),
    ("sapbwdestination", "SAP BW destination"),
    ("sapbisource", "SAP BW source"),
    ("sapbidestination", "SAP BW destination"),
];

/// The Azure Feature Pack's Blob components [IR], matched as above.
pub const AZURE_BLOB_COMPONENTS: &[&str] = &["azureblobsource", "azureblobdestination"];

/// Components that read or write ORC and Parquet (Flexible File, Azure Data Lake
/// Store) [IR]; a `FileFormat`-like property naming one of these formats is the sign.
pub const JAVA_FORMATS: &[&str] = &["orc", "parquet"];

/// The five log providers [LOG], by the name inside their ProgID
/// (`DTS.LogProviderTextFile.2`, `Microsoft.LogProviderTextFile`) and ClassID.
pub const BUILTIN_LOG_PROVIDERS: &[&str] = &[
    "logprovidertextfile",
    "logprovidersqlprofiler",
    "logprovidersqlserver",
    "logprovidereventlog",
    "logproviderxmlfile",
    "{0a039101-acc1-4e06-943f-279948323883}",
    "{e93f6300-ae0c-4916-a7bf-a8d0ce12c77a}",
    "{94150b25-6aeb-4c0d-996d-d37d1c4fdeda}",
    "{071cc8eb-c343-4cff-8d58-564b92fca3cf}",
    "{440945a4-2a22-4f19-b577-eaf5fddc5f7a}",
];

/// Components SQL Server ships (since 2012) whose contact information names Attunity,
/// who wrote them for Microsoft: the ODBC Source and Destination ("Connector for Open
/// Database Connectivity (ODBC) by Attunity"; class IDs `Microsoft.SSISODBCSrc`/`Dst`
/// from 2016, `Attunity.SSISODBCSrc`/`Dst` in 2012 and 2014). The Azure-SSIS IR lists
/// both among its built-in data sources and destinations. Compared lowercased.
pub const MICROSOFT_SHIPPED_CLASS_IDS: &[&str] = &[
    "microsoft.ssisodbcsrc",
    "microsoft.ssisodbcdst",
    "attunity.ssisodbcsrc",
    "attunity.ssisodbcdst",
];

/// The public key tokens of Microsoft's assemblies: SQL Server's own (every built-in
/// task and managed component, e.g. `Microsoft.SqlServer.ScriptTask ...
/// PublicKeyToken=89845dcd8080cc91` in the real fixtures) and the .NET Framework's.
pub const MICROSOFT_KEY_TOKENS: &[&str] = &[
    "89845dcd8080cc91",
    "b77a5c561934e089",
    "b03f5f7f11d50a3a",
    "31bf3856ad364e35",
];

/// Host names that are Azure endpoints (reachable from the IR without a virtual
/// network): what DMA 1001 recommends moving to.
pub const AZURE_HOST_SUFFIXES: &[&str] = &[
    ".database.windows.net",
    ".core.windows.net",
    ".azuresynapse.net",
    ".sql.azuresynapse.net",
    ".database.azure.com",
    ".documents.azure.com",
    ".servicebus.windows.net",
    ".asazure.windows.net",
    ".azuredatalakestore.net",
    ".vault.azure.net",
];

/// DTSConfigurationType [CFG].
pub mod config_type {
    pub const PARENT_VARIABLE: u32 = 0;
    pub const CONFIG_FILE: u32 = 1;
    pub const ENV_VARIABLE: u32 = 2;
    pub const REG_ENTRY: u32 = 3;
    pub const I_PARENT_VARIABLE: u32 = 4;
    pub const I_CONFIG_FILE: u32 = 5;
    pub const I_REG_ENTRY: u32 = 6;
    pub const SQL_SERVER: u32 = 7;
    pub const INI_FILE: u32 = 8;
    pub const I_SQL_SERVER: u32 = 9;
    pub const I_INI_FILE: u32 = 10;
}

/// Lowercase letters and digits only: how names are compared across formats
/// (`Microsoft.FuzzyLookup`, `DTSTransform.FuzzyLookup.3`, `Fuzzy Lookup`).
pub fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_once_with_its_published_number() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        for id in [
            "1001", "1002", "1003", "1004", "1005", "1006", "1007", "2001", "2002", "2003", "2004",
            "2005", "3001", "4001", "4002", "4003",
        ] {
            assert_eq!(ids.iter().filter(|i| **i == id).count(), 1, "{id}");
        }
        assert_eq!(rule("4003").severity, Severity::Error);
        assert_eq!(rule("1001").severity, Severity::Warning);
        assert_eq!(rule("DTU301").severity, Severity::Info);
        assert_eq!(
            squash("DTSTransform.FuzzyLookup.3"),
            "dtstransformfuzzylookup3"
        );
    }
}
