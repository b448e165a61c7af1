//! Packages for `dtutil assess` tests, built in the shapes of the real fixtures
//! (`shared/fixtures/real`): the format 8 root of `wwi_DailyETLMain` (attributes,
//! `PackageFormatVersion` property), connection managers as in
//! `nanda_SensitivePassword` (an outer `DTS:ConnectionManager` with `DTS:refId`, the
//! connection string on the inner one in `DTS:ObjectData`), configurations as in
//! `nanda_SensitivePassword` (`DTS:ConfigurationType="1"`), components as in
//! `wwi_DailyETLMain` (`componentClassID="Microsoft.OLEDBSource"` with
//! `contactInfo`), DPAPI values as in `wrox_CH14_Package` (`Sensitive="1"
//! Encrypted="1"`), level 4 as in `nanda_AllUserKey` (the root carries
//! `Encrypted="1"` and the blob), format 3 as in `wrox_DEMO_4_Script_Pivot`
//! (`DTS:Property` children).
#![allow(dead_code)]

pub const DPAPI_BLOB: &str =
    "AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAAbYzdzNUa7EqbpAFqtS5R5gAAAAAIAAAARABUAFMAAAAQZgAAAAEAACAAAAC3";

/// A format 8 package: `level`, saved by `version`, holding `body` (connection
/// managers, executables, log providers, configurations as their `DTS:` elements).
pub fn package(level: u32, version: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:refId="Package"
  DTS:CreationDate="4/10/2016 11:13:19 AM"
  DTS:CreationName="Microsoft.Package"
  DTS:CreatorComputerName="BUILD01"
  DTS:CreatorName="BUILD01\etl"
  DTS:DTSID="{{1688CC04-248C-44DC-9B43-C8D2DE1DE3FD}}"
  DTS:ExecutableType="Microsoft.Package"
  DTS:LastModifiedProductVersion="{version}"
  DTS:LocaleID="1033"
  DTS:ObjectName="Load"
  DTS:PackageType="5"
  DTS:ProtectionLevel="{level}"
  DTS:VersionBuild="3"
  DTS:VersionGUID="{{89BBB934-3BA5-426A-80EE-83430A3E3947}}">
  <DTS:Property
    DTS:Name="PackageFormatVersion">8</DTS:Property>
{body}
</DTS:Executable>
"#
    )
}

/// The runtime the IR has: nothing to upgrade, nothing too new.
pub const V2017: &str = "14.0.3002.68";

pub fn connections(inner: &str) -> String {
    format!("  <DTS:ConnectionManagers>\n{inner}  </DTS:ConnectionManagers>\n")
}

/// A connection manager (`creation` as SSIS names the type).
pub fn connection(name: &str, creation: &str, connection_string: &str) -> String {
    format!(
        r#"    <DTS:ConnectionManager
      DTS:refId="Package.ConnectionManagers[{name}]"
      DTS:CreationName="{creation}"
      DTS:DTSID="{{D8B2F1A5-3C9A-4E0B-9E8C-0E6B3A4F1C2D}}"
      DTS:ObjectName="{name}">
      <DTS:ObjectData>
        <DTS:ConnectionManager
          DTS:ConnectionString="{connection_string}" />
      </DTS:ObjectData>
    </DTS:ConnectionManager>
"#
    )
}

pub fn executables(inner: &str) -> String {
    format!("  <DTS:Executables>\n{inner}  </DTS:Executables>\n")
}

/// A data flow task holding `components`.
pub fn data_flow(components: &str) -> String {
    executables(&format!(
        r#"    <DTS:Executable
      DTS:refId="Package\Data Flow Task"
      DTS:CreationName="Microsoft.Pipeline"
      DTS:DTSID="{{5E4C1C5A-1B6F-4D3C-9C7B-2A0F4E8D6B1A}}"
      DTS:ExecutableType="Microsoft.Pipeline"
      DTS:LocaleID="-1"
      DTS:ObjectName="Data Flow Task">
      <DTS:ObjectData>
        <pipeline
          version="1">
          <components>
{components}          </components>
        </pipeline>
      </DTS:ObjectData>
    </DTS:Executable>
"#
    ))
}

/// A data flow component; `properties` are `(name, value)`.
pub fn component(name: &str, class_id: &str, contact: &str, properties: &[(&str, &str)]) -> String {
    let props: String = properties
        .iter()
        .map(|(n, v)| {
            format!("                <property\n                  name=\"{n}\">{v}</property>\n")
        })
        .collect();
    format!(
        r#"            <component
              refId="Package\Data Flow Task\{name}"
              componentClassID="{class_id}"
              contactInfo="{contact}"
              name="{name}"
              version="7">
              <properties>
{props}              </properties>
            </component>
"#
    )
}

pub fn microsoft_contact(name: &str) -> String {
    format!("{name};Microsoft Corporation; Microsoft SQL Server; (C) Microsoft Corporation; All Rights Reserved; http://www.microsoft.com/sql/support;7")
}

pub fn task(name: &str, kind: &str, object_data: &str) -> String {
    format!(
        r#"    <DTS:Executable
      DTS:refId="Package\{name}"
      DTS:CreationName="{kind}"
      DTS:DTSID="{{0C6D1E1B-7A1B-4F55-8F7F-1C2B3D4E5F60}}"
      DTS:ExecutableType="{kind}"
      DTS:LocaleID="-1"
      DTS:ObjectName="{name}">
      <DTS:ObjectData>
        {object_data}
      </DTS:ObjectData>
    </DTS:Executable>
"#
    )
}

pub fn log_provider(name: &str, creation: &str) -> String {
    format!(
        r#"  <DTS:LogProviders>
    <DTS:LogProvider
      DTS:ConfigString="Log file"
      DTS:CreationName="{creation}"
      DTS:DTSID="{{8A1B2C3D-4E5F-4061-8293-A4B5C6D7E8F9}}"
      DTS:ObjectName="{name}">
      <DTS:ObjectData>
        <InnerObject />
      </DTS:ObjectData>
    </DTS:LogProvider>
  </DTS:LogProviders>
"#
    )
}

pub fn configuration(kind: u32, location: &str, target: &str) -> String {
    format!(
        r#"  <DTS:Configurations>
    <DTS:Configuration
      DTS:ConfigurationString="{location}"
      DTS:ConfigurationType="{kind}"
      DTS:ConfigurationVariable="{target}"
      DTS:CreationName=""
      DTS:DTSID="{{69C51A60-20A0-401D-BCBD-CC1246286CBE}}"
      DTS:ObjectName="Configuration 1" />
  </DTS:Configurations>
"#
    )
}

/// A connection nothing objects to (Azure SQL, the OLE DB driver the IR has, a SQL login).
pub fn clean_connection() -> String {
    connection(
        "Warehouse",
        "OLEDB",
        "Data Source=wwi.database.windows.net;User ID=etl;Initial Catalog=WWI;Provider=MSOLEDBSQL.1;Auto Translate=False;",
    )
}

/// A package no rule finds anything in, shaped like a real one (a connection, a data
/// flow with Microsoft's source and destination, a built-in log provider, a relative
/// flat file, an Execute SQL task).
pub fn clean_package() -> String {
    let body = format!(
        "{}{}{}",
        connections(&format!(
            "{}{}",
            clean_connection(),
            connection("Extract", "FLATFILE", "extract\\orders.csv")
        )),
        log_provider(
            "SSIS log provider for Text files",
            "Microsoft.LogProviderTextFile"
        ),
        data_flow(&format!(
            "{}{}",
            component(
                "Source",
                "Microsoft.OLEDBSource",
                &microsoft_contact("OLE DB Source"),
                &[("SqlCommand", "SELECT 1")]
            ),
            component(
                "Destination",
                "Microsoft.FlatFileDestination",
                &microsoft_contact("Flat File Destination"),
                &[]
            )
        )),
    );
    package(0, V2017, &body)
}

/// A format 3 (SQL Server 2008) package whose objects keep their properties as
/// `DTS:Property` children; `inner` goes before the package's own properties.
pub fn format3_package(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:ExecutableType="SSIS.Package.2">
<DTS:Property DTS:Name="PackageFormatVersion">3</DTS:Property>
<DTS:Property DTS:Name="VersionComments"></DTS:Property>
{inner}
<DTS:Property DTS:Name="LastModifiedProductVersion">10.50.1600.1</DTS:Property>
<DTS:Property DTS:Name="ProtectionLevel">0</DTS:Property>
<DTS:Property DTS:Name="ObjectName">Legacy</DTS:Property>
<DTS:Property DTS:Name="DTSID">{{C3030B76-A036-427B-9699-A9254BB4D815}}</DTS:Property>
</DTS:Executable>
"#
    )
}
