//! What a package is made of, for checks that look at its objects (`dtutil assess`):
//! connection managers, executables (tasks and containers), data flow components,
//! log providers and configurations, each with its properties and property
//! expressions. One streaming pass over a document already scanned by [`super::scan`]
//! (so well-formed and within limits); nothing here is needed to re-protect a package.
//!
//! Properties come from wherever the format keeps them: `DTS:X` attributes (formats 6
//! and 8), `<DTS:Property DTS:Name="X">` children (formats 2 and 3), the attributes of
//! a task's `DTS:ObjectData` child (`ExecuteProcessData Executable="..."`) and a
//! component's `<property name="X">`. Sensitive elements (`Sensitive="1"`) are never
//! read: their values stay out of every fact.

use super::scan::err_at;
use super::xml;
use super::PackageError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// A stored value is cut here: enough for any path or connection string, and a
/// hostile package's megabyte attribute costs no more.
const MAX_VALUE_CHARS: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Connection,
    /// The package itself, tasks and containers.
    Executable,
    /// A data flow source, transformation or destination.
    Component,
    LogProvider,
    Configuration,
}

/// One object of a package.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: ObjectKind,
    /// Its `refId` where the package records one, else one built the same way from
    /// the names around it (`Package\Task`, `Package.ConnectionManagers[Name]`).
    pub path: String,
    pub name: String,
    /// 1-based line of its start tag in the document read.
    pub line: usize,
    properties: Vec<(String, String)>,
    /// `(property, expression)`: values computed when the package runs.
    pub expressions: Vec<(String, String)>,
}

impl Object {
    /// A property's value (names compare case-insensitively, as SSIS's do).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// An expression set on this property, if any.
    pub fn expression(&self, property: &str) -> Option<&str> {
        self.expressions
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(property))
            .map(|(_, e)| e.as_str())
    }

    fn set(&mut self, name: &str, value: String) {
        if name.is_empty() {
            return;
        }
        match self
            .properties
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            // The inner `ObjectData` connection manager's value wins over the outer's.
            Some(slot) => slot.1 = value,
            None => self.properties.push((name.to_string(), value)),
        }
    }
}

#[derive(Default)]
struct Frame {
    local: String,
    /// The object this element is, if it is one.
    object: Option<usize>,
    /// The object whose properties this element's children set.
    owner: Option<usize>,
    /// Collecting text for (object, property, is_expression).
    collect: Option<(usize, String, bool)>,
    text: String,
    sensitive: bool,
}

/// Reads every object of a package document (or a `.conmgr` project connection).
pub fn read(doc: &[u8]) -> Result<Vec<Object>, PackageError> {
    let body_start = if doc.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut reader = Reader::from_reader(&doc[body_start..]);
    reader.config_mut().trim_text(false);
    let mut objects: Vec<Object> = Vec::new();
    let mut stack: Vec<Frame> = Vec::with_capacity(64);
    let mut lines = LineCounter::default();
    loop {
        let before = body_start + reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            err_at(
                doc,
                body_start + reader.error_position() as usize,
                e.to_string(),
            )
        })?;
        match event {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                if stack.len() >= xml::MAX_DEPTH {
                    return Err(PackageError::TooDeep(xml::MAX_DEPTH));
                }
                let line = lines.line_at(doc, before);
                let frame = open(e, line, &stack, &mut objects);
                stack.push(frame);
                if matches!(event, Event::Empty(_)) {
                    close(&mut stack, &mut objects);
                }
            }
            Event::Text(t) => {
                if let Some(frame) = stack.last_mut().filter(|f| f.collect.is_some()) {
                    push_text(&mut frame.text, &xml::unescape(&t));
                }
            }
            Event::CData(t) => {
                if let Some(frame) = stack.last_mut().filter(|f| f.collect.is_some()) {
                    push_text(&mut frame.text, &String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => close(&mut stack, &mut objects),
            _ => {}
        }
    }
    Ok(objects)
}

fn push_text(into: &mut String, text: &str) {
    let room = MAX_VALUE_CHARS.saturating_sub(into.chars().count());
    into.extend(text.chars().take(room));
}

fn bounded(value: String) -> String {
    if value.chars().count() <= MAX_VALUE_CHARS {
        value
    } else {
        value.chars().take(MAX_VALUE_CHARS).collect()
    }
}

/// Lines counted forward only: objects start in document order.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, doc: &[u8], offset: usize) -> usize {
        let offset = offset.min(doc.len());
        if offset > self.offset {
            self.line += memchr::memchr_iter(b'\n', &doc[self.offset..offset]).count();
            self.offset = offset;
        }
        self.line + 1
    }
}

fn local(name: &[u8]) -> &[u8] {
    name.iter()
        .rposition(|&b| b == b':')
        .map_or(name, |i| &name[i + 1..])
}

fn open(e: &BytesStart<'_>, line: usize, stack: &[Frame], objects: &mut Vec<Object>) -> Frame {
    let qname = e.name();
    let qname = qname.as_ref();
    let dts = qname.starts_with(b"DTS:");
    let local_name = String::from_utf8_lossy(local(qname)).into_owned();
    let attrs: Vec<(String, String, bool)> = e
        .attributes()
        .with_checks(false)
        .flatten()
        .map(|a| {
            let key = a.key.as_ref();
            (
                String::from_utf8_lossy(local(key)).into_owned(),
                bounded(xml::unescape(&a.value)),
                key.starts_with(b"DTS:"),
            )
        })
        .collect();
    let attr = |name: &str| {
        attrs
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.as_str())
    };
    let parent = stack.last();
    let mut frame = Frame {
        local: local_name.clone(),
        sensitive: attr("Sensitive") == Some("1") || parent.is_some_and(|p| p.sensitive),
        ..Frame::default()
    };
    if frame.sensitive {
        return frame;
    }
    let in_object_data = parent.is_some_and(|p| p.local == "ObjectData");
    let kind = match (dts, local_name.as_str()) {
        (true, "Executable") => Some(ObjectKind::Executable),
        // The connection inside a connection manager's ObjectData is the same object.
        (true, "ConnectionManager") if !in_object_data => Some(ObjectKind::Connection),
        (true, "LogProvider") => Some(ObjectKind::LogProvider),
        (true, "Configuration") => Some(ObjectKind::Configuration),
        (false, "component") if attr("componentClassID").is_some() => Some(ObjectKind::Component),
        _ => None,
    };
    if let Some(kind) = kind {
        let mut object = Object {
            kind,
            path: String::new(),
            name: String::new(),
            line,
            properties: Vec::new(),
            expressions: Vec::new(),
        };
        for (name, value, prefixed) in &attrs {
            if *prefixed || kind == ObjectKind::Component {
                object.set(name, value.clone());
            }
        }
        object.name = object
            .get("ObjectName")
            .or_else(|| object.get("name"))
            .unwrap_or_default()
            .to_string();
        object.path = object.get("refId").unwrap_or_default().to_string();
        objects.push(object);
        let index = objects.len() - 1;
        frame.object = Some(index);
        frame.owner = Some(index);
        return frame;
    }
    let parent_owner = parent.and_then(|p| p.owner);
    match (dts, local_name.as_str()) {
        (true, "Property") | (true, "PropertyExpression") => {
            if let (Some(owner), Some(name)) = (parent_owner, attr("Name")) {
                let expression = local_name == "PropertyExpression";
                frame.collect = Some((owner, name.to_string(), expression));
            }
        }
        (true, "ObjectData") => frame.owner = parent_owner,
        (true, "ConnectionManager") if in_object_data => {
            frame.owner = parent_owner;
            if let Some(owner) = parent_owner {
                for (name, value, prefixed) in &attrs {
                    if *prefixed {
                        objects[owner].set(name, value.clone());
                    }
                }
            }
        }
        (false, "properties") if parent.is_some_and(|p| p.object.is_some()) => {
            frame.owner = parent_owner
        }
        (false, "property") => {
            if let (Some(owner), Some(name)) = (parent_owner, attr("name")) {
                frame.collect = Some((owner, name.to_string(), false));
            }
        }
        _ if in_object_data => {
            // A task's own data (`ExecuteProcessData Executable="..."`), or a
            // connection's (`WmiConnectionManager ConnectionString="..."`).
            if let Some(owner) = parent_owner {
                if matches!(
                    objects[owner].kind,
                    ObjectKind::Executable | ObjectKind::Connection
                ) {
                    for (name, value, _) in &attrs {
                        if name != "xmlns" {
                            objects[owner].set(name, value.clone());
                        }
                    }
                }
            }
        }
        _ => {}
    }
    frame
}

fn close(stack: &mut Vec<Frame>, objects: &mut [Object]) {
    let Some(frame) = stack.pop() else {
        return;
    };
    if let Some((owner, name, expression)) = frame.collect {
        let value = frame.text;
        let object = &mut objects[owner];
        if expression {
            object.expressions.push((name, value));
        } else {
            if name == "ObjectName" && object.name.is_empty() {
                object.name = value.trim().to_string();
            }
            object.set(&name, value);
        }
    }
    if let Some(index) = frame.object {
        if objects[index].path.is_empty() {
            objects[index].path = built_path(stack, objects, index);
        }
    }
}

/// A path as SSIS writes `refId`s, for formats that have none.
fn built_path(stack: &[Frame], objects: &[Object], index: usize) -> String {
    let container = stack
        .iter()
        .rev()
        .filter_map(|f| f.object)
        .find(|&i| objects[i].kind == ObjectKind::Executable);
    let container_path = |i: usize| {
        if objects[i].path.is_empty() {
            built_path(
                &stack[..stack.iter().position(|f| f.object == Some(i)).unwrap_or(0)],
                objects,
                i,
            )
        } else {
            objects[i].path.clone()
        }
    };
    let object = &objects[index];
    let base = container.map(container_path);
    match (object.kind, base) {
        (ObjectKind::Executable, None) => "Package".into(),
        (ObjectKind::Executable, Some(base)) => format!("{base}\\{}", object.name),
        (ObjectKind::Component, Some(base)) => format!("{base}\\{}", object.name),
        (ObjectKind::Connection, base) => format!(
            "{}.ConnectionManagers[{}]",
            base.unwrap_or_else(|| "Package".into()),
            object.name
        ),
        (ObjectKind::LogProvider, base) => format!(
            "{}.LogProviders[{}]",
            base.unwrap_or_else(|| "Package".into()),
            object.name
        ),
        (ObjectKind::Configuration, base) => format!(
            "{}.Configurations[{}]",
            base.unwrap_or_else(|| "Package".into()),
            object.name
        ),
        (ObjectKind::Component, None) => object.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FMT8: &str = r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:refId="Package" DTS:CreationName="Microsoft.Package" DTS:ExecutableType="Microsoft.Package" DTS:ObjectName="P">
  <DTS:ConnectionManagers>
    <DTS:ConnectionManager DTS:refId="Package.ConnectionManagers[Src]" DTS:CreationName="OLEDB" DTS:ObjectName="Src">
      <DTS:PropertyExpression DTS:Name="InitialCatalog">@[$Project::Db]</DTS:PropertyExpression>
      <DTS:ObjectData>
        <DTS:ConnectionManager DTS:ConnectionString="Data Source=db1;Provider=SQLNCLI11.1;Integrated Security=SSPI;">
          <DTS:Password DTS:Name="Password" Sensitive="1">secret</DTS:Password>
        </DTS:ConnectionManager>
      </DTS:ObjectData>
    </DTS:ConnectionManager>
  </DTS:ConnectionManagers>
  <DTS:Executables>
    <DTS:Executable DTS:refId="Package\Run" DTS:CreationName="Microsoft.ExecuteProcess" DTS:ExecutableType="Microsoft.ExecuteProcess" DTS:ObjectName="Run">
      <DTS:ObjectData>
        <ExecuteProcessData xmlns="www.microsoft.com/sqlserver/dts/tasks/executeprocesstask" Executable="C:\tools\x.exe" WorkingDirectory="\\srv\share" />
      </DTS:ObjectData>
    </DTS:Executable>
    <DTS:Executable DTS:refId="Package\DFT" DTS:CreationName="Microsoft.Pipeline" DTS:ExecutableType="Microsoft.Pipeline" DTS:ObjectName="DFT">
      <DTS:ObjectData><pipeline version="1"><components>
        <component refId="Package\DFT\Fuzzy" componentClassID="Microsoft.FuzzyLookup" name="Fuzzy" contactInfo="Fuzzy Lookup;Microsoft Corporation;x">
          <properties><property name="MatchIndexName">idx</property></properties>
          <outputs><output name="o"><properties><property name="Ignored">1</property></properties></output></outputs>
        </component>
      </components></pipeline></DTS:ObjectData>
    </DTS:Executable>
  </DTS:Executables>
</DTS:Executable>"#;

    #[test]
    fn format_8_objects() {
        let objects = read(FMT8.as_bytes()).unwrap();
        let kinds: Vec<(ObjectKind, &str)> =
            objects.iter().map(|o| (o.kind, o.path.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (ObjectKind::Executable, "Package"),
                (ObjectKind::Connection, "Package.ConnectionManagers[Src]"),
                (ObjectKind::Executable, "Package\\Run"),
                (ObjectKind::Executable, "Package\\DFT"),
                (ObjectKind::Component, "Package\\DFT\\Fuzzy"),
            ]
        );
        let src = &objects[1];
        assert_eq!(src.line, 4);
        assert_eq!(src.get("CreationName"), Some("OLEDB"));
        assert!(src.get("connectionstring").unwrap().contains("SQLNCLI11"));
        assert_eq!(src.expression("InitialCatalog"), Some("@[$Project::Db]"));
        assert!(objects
            .iter()
            .all(|o| o.properties().all(|(_, v)| v != "secret")));
        assert_eq!(objects[2].get("Executable"), Some("C:\\tools\\x.exe"));
        assert_eq!(objects[2].get("WorkingDirectory"), Some("\\\\srv\\share"));
        let fuzzy = &objects[4];
        assert_eq!(fuzzy.get("componentClassID"), Some("Microsoft.FuzzyLookup"));
        assert_eq!(fuzzy.get("MatchIndexName"), Some("idx"));
        assert_eq!(fuzzy.get("Ignored"), None);
    }

    #[test]
    fn format_3_objects_get_built_paths() {
        let doc = r#"<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:ExecutableType="SSIS.Package.2">
<DTS:Property DTS:Name="ObjectName">P</DTS:Property>
<DTS:Configuration><DTS:Property DTS:Name="ConfigurationType">3</DTS:Property><DTS:Property DTS:Name="ConfigurationString">HKCU\Software\X</DTS:Property><DTS:Property DTS:Name="ObjectName">Reg</DTS:Property></DTS:Configuration>
<DTS:ConnectionManager><DTS:Property DTS:Name="ObjectName">Files</DTS:Property><DTS:Property DTS:Name="CreationName">FLATFILE</DTS:Property><DTS:ObjectData><DTS:ConnectionManager><DTS:Property DTS:Name="ConnectionString">\\srv\in.csv</DTS:Property><DTS:Property DTS:Name="ServerPassword" Sensitive="1">pw</DTS:Property></DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager>
<DTS:LogProvider><DTS:Property DTS:Name="ObjectName">Log</DTS:Property><DTS:Property DTS:Name="CreationName">Acme.Log.1</DTS:Property></DTS:LogProvider>
<DTS:Executable DTS:ExecutableType="SSIS.Pipeline.2"><DTS:Property DTS:Name="ObjectName">DFT</DTS:Property>
<DTS:ObjectData><pipeline><components><component id="1" name="Src" componentClassID="{BCEFE59B-6819-47F7-A125-63753B33ABB7}"/></components></pipeline></DTS:ObjectData></DTS:Executable>
</DTS:Executable>"#;
        let objects = read(doc.as_bytes()).unwrap();
        let paths: Vec<&str> = objects.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Package",
                "Package.Configurations[Reg]",
                "Package.ConnectionManagers[Files]",
                "Package.LogProviders[Log]",
                "Package\\DFT",
                "Package\\DFT\\Src"
            ]
        );
        assert_eq!(objects[1].get("ConfigurationType"), Some("3"));
        assert_eq!(objects[2].get("ConnectionString"), Some("\\\\srv\\in.csv"));
        assert_eq!(objects[2].get("ServerPassword"), None);
        assert_eq!(objects[3].get("CreationName"), Some("Acme.Log.1"));
    }

    #[test]
    fn long_values_are_bounded() {
        let long = "x".repeat(100_000);
        let doc = format!(
            r#"<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:refId="Package" DTS:Description="{long}"><DTS:Property DTS:Name="Long">{long}</DTS:Property></DTS:Executable>"#
        );
        let objects = read(doc.as_bytes()).unwrap();
        assert_eq!(
            objects[0].get("Description").unwrap().len(),
            MAX_VALUE_CHARS
        );
        assert_eq!(objects[0].get("Long").unwrap().len(), MAX_VALUE_CHARS);
    }

    #[test]
    fn real_packages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real");
        let read_real = |name: &str| std::fs::read(dir.join(name)).ok();
        let Some(wwi) = read_real("wwi_DailyETLMain.DontSaveSensitive.fmt8.dtsx") else {
            return;
        };
        let objects = read(&wwi).unwrap();
        let count = |k: ObjectKind| objects.iter().filter(|o| o.kind == k).count();
        assert_eq!(count(ObjectKind::Component), 26);
        assert_eq!(count(ObjectKind::Executable), 95);
        let fmt3 = read_real("wrox_DEMO_4_Script_Pivot.DontSaveSensitive.fmt3.dtsx").unwrap();
        let objects = read(&fmt3).unwrap();
        let conn = objects
            .iter()
            .find(|o| o.kind == ObjectKind::Connection)
            .unwrap();
        assert_eq!(
            conn.path,
            "Package.ConnectionManagers[(local).AdventureWorks]"
        );
        assert!(conn.get("ConnectionString").unwrap().contains("SQLNCLI10"));
        assert_eq!(conn.line, 20);
    }
}
