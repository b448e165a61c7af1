#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/) from the project's own fixtures
# (fixtures/source) and from packages and project files dtutil generates from them:
# levels 0, 2 and 3, Triple DES and AES-256, all with the password `pw` (the one the
# fuzz targets try). Never from ../shared/fixtures/real: those stay outside the repo.
#
# DTUTIL=path/to/dtutil uses a prebuilt binary; otherwise one is built (release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus="$here/corpus"
if [[ -z "${DTUTIL:-}" ]]; then
  (cd "$root" && cargo build --quiet --release --bin dtutil)
  DTUTIL="${CARGO_TARGET_DIR:-$root/target}/release/dtutil"
fi
export SEED_PW=pw
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus"/{package,encrypted_data,cli,store_config,project,xml_tokens}

# --- packages: the fixtures as they are, then re-protected by dtutil.
n=0
for f in "$root"/fixtures/source/*.dtsx; do
  b=$(basename "$f" .dtsx)
  cp "$f" "$corpus/package/$b.dtsx"
  for spec in "0" "2;env:SEED_PW" "3;env:SEED_PW"; do
    for alg in 3des aes256; do
      lvl=${spec%%;*}
      out="$work/$b.l$lvl.$alg.dtsx"
      "$DTUTIL" /FILE "$f" /Q /ENCRYPT "FILE;$out;$spec" --algorithm "$alg" >/dev/null
      cp "$out" "$corpus/package/"
      n=$((n + 1))
    done
  done
  # Format-2/3 packages keep their level as a child property; /I regenerates the ID.
  "$DTUTIL" /FILE "$f" /Q /I /ENCRYPT "FILE;$work/$b.id.dtsx;2;env:SEED_PW" >/dev/null
  cp "$work/$b.id.dtsx" "$corpus/package/"
done

# --- encrypted_data: Salt \1 IV \1 algorithm \1 CipherValue of each encrypted node.
python3 - "$work" "$corpus/encrypted_data" <<'PY'
import glob, os, re, sys
work, out = sys.argv[1], sys.argv[2]
pat = re.compile(r'<EncryptedData\b([^>]*)>\s*<EncryptionMethod Algorithm="[^"#]*#([^"]+)"\s*/>\s*<CipherData>\s*<CipherValue>([^<]*)</CipherValue>', re.S)
i = 0
for path in sorted(glob.glob(os.path.join(work, "*.dtsx"))):
    text = open(path, encoding="utf-8-sig").read()
    for attrs, alg, cipher in pat.findall(text):
        salt = re.search(r'Salt="([^"]*)"', attrs)
        iv = re.search(r'IV="([^"]*)"', attrs)
        seed = "\x01".join([salt.group(1) if salt else "", iv.group(1) if iv else "", alg, cipher])
        if len(seed) > 100_000:
            continue
        open(os.path.join(out, f"node{i:03}"), "w").write(seed)
        i += 1
PY

# --- cli: argv tokens separated by NUL.
i=0
while IFS= read -r line; do
  printf '%s' "$line" | tr '|' '\0' > "$corpus/cli/argv$(printf %03d $i)"
  i=$((i + 1))
done <<'ARGS'
/FILE|a.dtsx|/COPY|FILE;b.dtsx
/FILE|/home/a.dtsx|/ENCRYPT|FILE;"C:\x y\p.dtsx";2;pw|/Q
/Fi|a.dtsx|/En|"FILE;b.dtsx;3;env:PW"|--algorithm|aes256
/SQL|\Folder\Pkg|/SourceServer|host\inst|/SourceUser|sa|/SourcePassword|file:/tmp/pw|/MOVE|SQL;\Other\Pkg|/DestServer|tcp:h,1433
/DTS|File System\F\Pkg|/Decrypt|env:X|/COPY|DTS;MSDB\F\Pkg|/DestServer|.
/SQ|Pkg|/Ex
/FILE|a.dtsx|/Del
/FC|SQL;\;Name
/FDe|SQL;\Parent;Child
/FDi|SQL;\Parent;S
/FE|DTS;File System\F
/FR|SQL;\;Old;New
/FILE|a.dtsx|/I
/FILE|a.dtsx|/Sign|FILE;b.dtsx;0x1234
/H|Copy
/?
/Dump|123
/FILE|a.dtsx|/COPY|FILE;b.dtsx|/R|remark|/R|more|--dry-run
/FILE|a.dtsx|/COPY|FILE;b.dtsx|--json|--target-version|2017
-file|a.dtsx|-copy|file;b.dtsx|-quiet
/COPY|SQL;Pkg|/FILE|x.dtsx|/DestU|u|/DestP|pass:env:literal
inspect|a.dtsx|--password|env:PW
project|dir|--decrypt|env:A|--encrypt|2;env:B|--out|o|--dry-run
/FILE|a.dtsx|/ENCRYPT|FILE;\\acct.file.core.windows.net\share\p.dtsx;2;pw
/FILE|https://acct.file.core.windows.net/share/p.dtsx|/COPY|FILE;local.dtsx
ARGS

# --- store_config: MsDtsSrvr.ini.xml shapes.
cat > "$corpus/store_config/default.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <StopExecutingPackagesOnShutdown>true</StopExecutingPackagesOnShutdown>
  <TopLevelFolders>
    <Folder xsi:type="SqlServerFolder">
      <Name>MSDB</Name>
      <ServerName>.</ServerName>
    </Folder>
    <Folder xsi:type="FileSystemFolder">
      <Name>File System</Name>
      <StorePath>..\Packages</StorePath>
    </Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>
XML
cat > "$corpus/store_config/azure.xml" <<'XML'
<DtsServiceConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><TopLevelFolders><Folder xsi:type="SqlServerFolder"><Name>MSDB</Name><ServerName>.\SQL2019</ServerName></Folder><Folder xsi:type="FileSystemFolder"><Name>Azure</Name><StorePath>\\acct.file.core.windows.net\share\pkgs</StorePath></Folder><Folder xsi:type="FileSystemFolder"><Name>Local</Name><StorePath>/srv/ssis/packages</StorePath></Folder></TopLevelFolders></DtsServiceConfiguration>
XML
printf '%s' '<DtsServiceConfiguration><TopLevelFolders><FileSystemFolder><Name>Only</Name><StorePath>only</StorePath></FileSystemFolder></TopLevelFolders></DtsServiceConfiguration>' > "$corpus/store_config/bare.xml"

# --- project: the first byte picks the kind (0 dtproj, 1 manifest, 2 params, 3 conmgr).
proj="$work/proj"
mkdir -p "$proj"
cp "$root/fixtures/source/CustomerLoad.dtsx" "$proj/Package.dtsx"
printf '\xef\xbb\xbf<?xml version="1.0"?>\r\n<DTS:ConnectionManager xmlns:DTS="www.microsoft.com/SqlServer/Dts"\r\n  DTS:ObjectName="Db">\r\n  <DTS:ObjectData>\r\n    <DTS:ConnectionManager\r\n      DTS:ConnectionString="Data Source=a;User ID=u;">\r\n      <DTS:Password\r\n        DTS:Name="Password"\r\n        Sensitive="1">s3cr&amp;t</DTS:Password>\r\n    </DTS:ConnectionManager>\r\n  </DTS:ObjectData>\r\n</DTS:ConnectionManager>' > "$proj/Db.conmgr"
printf '\xef\xbb\xbf<?xml version="1.0"?>\n<SSIS:Parameters xmlns:SSIS="www.microsoft.com/SqlServer/SSIS">\n  <SSIS:Parameter\n    SSIS:Name="P">\n    <SSIS:Properties>\n      <SSIS:Property\n        SSIS:Name="Value"\n        SSIS:Sensitive="1">v&lt;1&gt;</SSIS:Property>\n      <SSIS:Property\n        SSIS:Name="Sensitive">1</SSIS:Property>\n    </SSIS:Properties>\n  </SSIS:Parameter>\n</SSIS:Parameters>' > "$proj/Project.params"
manifest='<SSIS:Project SSIS:ProtectionLevel="DontSaveSensitive" xmlns:SSIS="www.microsoft.com/SqlServer/SSIS">
  <SSIS:Properties>
    <SSIS:Property SSIS:Name="ID">{623e2444-6a15-4b2a-83ef-0de2bb47e8a2}</SSIS:Property>
    <SSIS:Property SSIS:Name="Name">Seed</SSIS:Property>
  </SSIS:Properties>
  <SSIS:Packages>
    <SSIS:Package SSIS:Name="Package.dtsx" SSIS:EntryPoint="1" />
  </SSIS:Packages>
  <SSIS:ConnectionManagers>
    <SSIS:ConnectionManager SSIS:Name="Db.conmgr" />
  </SSIS:ConnectionManagers>
  <SSIS:DeploymentInfo>
    <SSIS:ProjectConnectionParameters />
    <SSIS:PackageInfo>
      <SSIS:PackageMetaData SSIS:Name="Package.dtsx">
        <SSIS:Properties>
          <SSIS:Property SSIS:Name="ProtectionLevel">0</SSIS:Property>
        </SSIS:Properties>
      </SSIS:PackageMetaData>
    </SSIS:PackageInfo>
  </SSIS:DeploymentInfo>
</SSIS:Project>'
printf '\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n<Project xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\r\n  <DeploymentModel>Project</DeploymentModel>\r\n  <DeploymentModelSpecificContent>\r\n    <Manifest>\r\n%s\r\n    </Manifest>\r\n  </DeploymentModelSpecificContent>\r\n</Project>' "$manifest" > "$proj/Seed.dtproj"
printf '%s' "$manifest" > "$proj/@Project.manifest"

emit() { # kind-byte source-dir suffix
  local k=$1 dir=$2 sfx=$3
  printf "\\x0$k" | cat - "$dir/Seed.dtproj" > "$corpus/project/dtproj$sfx" 2>/dev/null || true
  [[ -f "$dir/@Project.manifest" ]] && printf '\x01' | cat - "$dir/@Project.manifest" > "$corpus/project/manifest$sfx"
  printf '\x02' | cat - "$dir/Project.params" > "$corpus/project/params$sfx"
  printf '\x03' | cat - "$dir/Db.conmgr" > "$corpus/project/conmgr$sfx"
}
emit 0 "$proj" ".l0src"
for lvl in 0 2 3; do
  spec="$lvl"; [[ $lvl != 0 ]] && spec="$lvl;env:SEED_PW"
  if "$DTUTIL" project "$proj" --encrypt "$spec" --out "$work/p$lvl" >/dev/null 2>"$work/err"; then
    emit 0 "$work/p$lvl" ".l$lvl"
  else
    echo "seed.sh: dtutil project level $lvl failed (seeding level 0 only): $(head -n 3 "$work/err")" >&2
  fi
done

# --- xml_tokens: the packages and project files above (the tokenizer reads any XML).
# Prefixed by their folder: a corpus grown by earlier runs names inputs by content hash,
# so package/ and store_config/ can hold the same name.
for f in "$corpus"/package/* "$corpus"/store_config/*; do
  cp "$f" "$corpus/xml_tokens/$(basename "$(dirname "$f")")-$(basename "$f")"
done
for f in "$corpus"/project/*; do tail -c +2 "$f" > "$corpus/xml_tokens/$(basename "$f")"; done

for t in package encrypted_data cli store_config project xml_tokens; do
  echo "corpus/$t: $(ls "$corpus/$t" | wc -l) files"
done
