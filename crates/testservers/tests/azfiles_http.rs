//! azfiles-testserver over real HTTP/1.1 (raw TCP, no client library): addressing,
//! auth failures, ranges, paging, rename, fault injection. The SDK proof is
//! tests/clients/run-azfiles.sh.

use std::time::{Duration, Instant, SystemTime};

use testservers::azfiles::auth::{shared_key_string_to_sign, Credentials, RequestParts};
use testservers::azfiles::server::parse_query;
use testservers::azfiles::{spawn, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ACC: &str = "acct";
const KEY: &str = "a2V5LWZvci10ZXN0cy1vbmx5LWtleS1mb3ItdGVzdHMtb25seQ==";
const MIB: usize = 1024 * 1024;

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, n: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Client {
    addr: std::net::SocketAddr,
    creds: Credentials,
    host: Option<String>,
}

async fn server(extra: &[&str]) -> Client {
    let cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        account: ACC.into(),
        key: KEY.into(),
        shares: vec!["share".into()],
        latency_ms: 0,
        log_requests: false,
        faults: extra
            .iter()
            .map(|j| serde_json::from_str(j).unwrap())
            .collect(),
    };
    let addr = spawn(&cfg).await.unwrap();
    Client {
        addr,
        creds: Credentials::new(ACC, KEY).unwrap(),
        host: None,
    }
}

/// Sends one request on a fresh connection; `None` if the server closed it unanswered.
async fn raw(addr: std::net::SocketAddr, head: String, body: &[u8]) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    if buf.is_empty() {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Some(Resp {
        status,
        headers,
        body: buf[end + 4..].to_vec(),
    })
}

impl Client {
    /// A SharedKey-signed request. `path` is the share-level path and query, e.g.
    /// `/share/d?restype=directory`; path-style requests get `/acct` in front.
    async fn send(
        &self,
        method: &str,
        path: &str,
        hdrs: &[(&str, &str)],
        body: &[u8],
    ) -> Option<Resp> {
        self.send_with(method, path, hdrs, body, Some(&self.creds))
            .await
    }

    async fn send_with(
        &self,
        method: &str,
        path: &str,
        hdrs: &[(&str, &str)],
        body: &[u8],
        creds: Option<&Credentials>,
    ) -> Option<Resp> {
        let full = match &self.host {
            Some(_) => path.to_string(),
            None => format!("/{ACC}{path}"),
        };
        let (raw_path, query) = full.split_once('?').unwrap_or((&full, ""));
        let mut headers: Vec<(String, String)> = vec![
            ("x-ms-version".into(), "2025-11-05".into()),
            (
                "x-ms-date".into(),
                httpdate::fmt_http_date(SystemTime::now()),
            ),
        ];
        for (k, v) in hdrs {
            headers.push((k.to_string(), v.to_string()));
        }
        if !body.is_empty() || method == "PUT" {
            headers.push(("content-length".into(), body.len().to_string()));
        }
        if let Some(c) = creds {
            let q = parse_query(query);
            let parts = RequestParts {
                method,
                raw_path,
                headers: &headers,
                query: &q,
            };
            let sig = c.sign(&shared_key_string_to_sign(ACC, &parts));
            headers.push(("authorization".into(), format!("SharedKey {ACC}:{sig}")));
        }
        let host = self.host.clone().unwrap_or_else(|| self.addr.to_string());
        let mut head = format!("{method} {full} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
        for (k, v) in &headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        raw(self.addr, head, body).await
    }

    async fn control(&self, method: &str, path: &str, json: &str) -> Resp {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
            json.len()
        );
        raw(self.addr, head, json.as_bytes()).await.unwrap()
    }
}

fn code(r: &Resp) -> &str {
    r.header("x-ms-error-code").unwrap_or("")
}

#[tokio::test]
async fn path_style_and_host_style_address_the_same_share() {
    let c = server(&[]).await;
    let r = c
        .send("PUT", "/share/d?restype=directory", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.header("x-ms-request-id").is_some());
    assert!(r.header("x-ms-file-id").is_some());
    let hosted = Client {
        host: Some(format!("{ACC}.file.core.windows.net:{}", c.addr.port())),
        ..c
    };
    let r = hosted
        .send("GET", "/share/d?restype=directory", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = hosted
        .send("GET", "/share?restype=directory&comp=list", &[], b"")
        .await
        .unwrap();
    assert!(
        r.text().contains("<Directory><Name>d</Name>"),
        "{}",
        r.text()
    );
    assert!(r
        .text()
        .contains("ServiceEndpoint=\"http://acct.file.core.windows.net:"));
}

#[tokio::test]
async fn auth_failures_are_the_services() {
    let c = server(&[]).await;
    let r = c
        .send_with("GET", "/share?restype=directory&comp=list", &[], b"", None)
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (401, "NoAuthenticationInformation"));
    let wrong = Credentials::new(ACC, "d3Jvbmcta2V5").unwrap();
    let r = c
        .send_with(
            "GET",
            "/share?restype=directory&comp=list",
            &[],
            b"",
            Some(&wrong),
        )
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (403, "AuthenticationFailed"));
    let t = r.text();
    assert!(
        t.contains("<Error><Code>AuthenticationFailed</Code><Message>"),
        "{t}"
    );
    assert!(t.contains("<AuthenticationErrorDetail>"), "{t}");
    // HEAD errors carry the code in the header only.
    let r = c
        .send_with("HEAD", "/share/f", &[], b"", Some(&wrong))
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (403, "AuthenticationFailed"));
    // Another account in a path-style URL.
    let head = format!(
        "GET /other/share HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
        c.addr
    );
    assert_eq!(raw(c.addr, head, b"").await.unwrap().status, 400);
}

#[tokio::test]
async fn twenty_mib_in_ranges_and_ranged_reads() {
    let c = server(&[]).await;
    let size = 20 * MIB;
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let len = size.to_string();
    let r = c
        .send(
            "PUT",
            "/share/big.dtsx",
            &[("x-ms-type", "file"), ("x-ms-content-length", &len)],
            b"",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    for (i, chunk) in data.chunks(4 * MIB).enumerate() {
        let range = format!("bytes={}-{}", i * 4 * MIB, i * 4 * MIB + chunk.len() - 1);
        let r = c
            .send(
                "PUT",
                "/share/big.dtsx?comp=range",
                &[("x-ms-range", &range), ("x-ms-write", "update")],
                chunk,
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = c.send("GET", "/share/big.dtsx", &[], b"").await.unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == data, "20 MiB round trip differs");
    let r = c.send("HEAD", "/share/big.dtsx", &[], b"").await.unwrap();
    assert_eq!(r.header("content-length"), Some(len.as_str()));
    assert_eq!(r.header("x-ms-type"), Some("File"));
    let r = c
        .send(
            "GET",
            "/share/big.dtsx",
            &[("x-ms-range", "bytes=10-19")],
            b"",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 10-19/{size}").as_str())
    );
    assert_eq!(r.body, &data[10..20]);
    let r = c
        .send(
            "GET",
            "/share/big.dtsx",
            &[("range", &format!("bytes={}-", size - 5))],
            b"",
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.body.as_slice()), (206, &data[size - 5..]));
    let r = c
        .send(
            "GET",
            "/share/big.dtsx",
            &[("x-ms-range", &format!("bytes={size}-"))],
            b"",
        )
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (416, "InvalidRange"));
    // Over 4 MiB in one range.
    let over = vec![1u8; 4 * MIB + 1];
    let range = format!("bytes=0-{}", 4 * MIB);
    let r = c
        .send(
            "PUT",
            "/share/big.dtsx?comp=range",
            &[("x-ms-range", &range), ("x-ms-write", "update")],
            &over,
        )
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (413, "RequestBodyTooLarge"));
    assert!(
        r.text().contains("<MaxLimit>4194304</MaxLimit>"),
        "{}",
        r.text()
    );
    // Body length differs from the range.
    let r = c
        .send(
            "PUT",
            "/share/big.dtsx?comp=range",
            &[("x-ms-range", "bytes=0-9"), ("x-ms-write", "update")],
            b"abc",
        )
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (400, "InvalidHeaderValue"));
    // Clear.
    let r = c
        .send(
            "PUT",
            "/share/big.dtsx?comp=range",
            &[("x-ms-range", "bytes=0-9"), ("x-ms-write", "clear")],
            b"",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c
        .send(
            "GET",
            "/share/big.dtsx",
            &[("x-ms-range", "bytes=0-11")],
            b"",
        )
        .await
        .unwrap();
    assert_eq!(&r.body[..10], &[0u8; 10]);
    assert_eq!(&r.body[10..], &data[10..12]);
}

#[tokio::test]
async fn listing_pages_and_errors() {
    let c = server(&[]).await;
    c.send("PUT", "/share/d?restype=directory", &[], b"")
        .await
        .unwrap();
    for i in 0..5 {
        let r = c
            .send(
                "PUT",
                &format!("/share/d/p{i}.dtsx"),
                &[("x-ms-type", "file"), ("x-ms-content-length", "1")],
                b"",
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201);
    }
    let mut names = Vec::new();
    let mut marker = String::new();
    loop {
        let q = format!("/share/d?restype=directory&comp=list&maxresults=2&marker={marker}");
        let r = c.send("GET", &q, &[], b"").await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let t = r.text();
        for part in t.split("<Name>").skip(1) {
            names.push(part.split("</Name>").next().unwrap().to_string());
        }
        match t.split("<NextMarker>").nth(1) {
            Some(rest) => {
                let m = rest.split("</NextMarker>").next().unwrap();
                marker =
                    percent_encoding::utf8_percent_encode(m, percent_encoding::NON_ALPHANUMERIC)
                        .to_string();
            }
            None => {
                assert!(t.contains("<NextMarker />"));
                break;
            }
        }
    }
    assert_eq!(
        names,
        ["p0.dtsx", "p1.dtsx", "p2.dtsx", "p3.dtsx", "p4.dtsx"]
    );
    let r = c
        .send(
            "GET",
            "/share/d?restype=directory&comp=list&maxresults=0",
            &[],
            b"",
        )
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (400, "OutOfRangeQueryParameterValue"));
    let r = c
        .send("DELETE", "/share/d?restype=directory", &[], b"")
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (409, "DirectoryNotEmpty"));
    let r = c
        .send("PUT", "/share/x/y?restype=directory", &[], b"")
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (404, "ParentNotFound"));
    let r = c
        .send("PUT", "/nosuch/y?restype=directory", &[], b"")
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (404, "ShareNotFound"));
    let r = c
        .send("PUT", "/share/d?restype=directory", &[], b"")
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (409, "ResourceAlreadyExists"));
    let r = c
        .send("PUT", "/share/d/f", &[("x-ms-type", "file")], b"")
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (400, "MissingRequiredHeader"));
}

#[tokio::test]
async fn rename_with_a_url_source_and_replace() {
    let c = server(&[]).await;
    for p in ["/share/a.tmp", "/share/a"] {
        let r = c
            .send(
                "PUT",
                p,
                &[("x-ms-type", "file"), ("x-ms-content-length", "3")],
                b"",
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201);
    }
    let src = format!("http://{}/{ACC}/share/a.tmp?sv=x&sig=y", c.addr);
    let r = c
        .send(
            "PUT",
            "/share/a?comp=rename",
            &[("x-ms-file-rename-source", &src)],
            b"",
        )
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (409, "ResourceAlreadyExists"));
    let r = c
        .send(
            "PUT",
            "/share/a?comp=rename",
            &[
                ("x-ms-file-rename-source", &src),
                ("x-ms-file-rename-replace-if-exists", "true"),
            ],
            b"",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c.send("HEAD", "/share/a.tmp", &[], b"").await.unwrap();
    assert_eq!((r.status, code(&r)), (404, "ResourceNotFound"));
}

#[tokio::test]
async fn faults_fail_drop_delay_and_always() {
    let c = server(&[r#"{"op":"GetDirectoryProperties","nth":2}"#]).await;
    let get = || c.send("GET", "/share?restype=directory", &[], b"");
    assert_eq!(get().await.unwrap().status, 200);
    let r = get().await.unwrap();
    assert_eq!((r.status, code(&r)), (503, "ServerBusy"));
    assert!(r.text().contains("<Code>ServerBusy</Code>"));
    assert_eq!(get().await.unwrap().status, 200);

    c.control("DELETE", "/_control/faults", "").await;
    let r = c
        .control(
            "POST",
            "/_control/faults",
            r#"{"action":"drop","op":"GetDirectoryProperties"}"#,
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(
        get().await.is_none(),
        "connection should drop without an answer"
    );
    assert_eq!(get().await.unwrap().status, 200);

    c.control(
        "POST",
        "/_control/faults",
        r#"{"status":500,"method":"GET","always":true}"#,
    )
    .await;
    for _ in 0..3 {
        let r = get().await.unwrap();
        assert_eq!((r.status, code(&r)), (500, "InternalError"));
    }
    let rules = c.control("GET", "/_control/faults", "").await.text();
    assert!(rules.contains("\"fired\":3"), "{rules}");
    c.control("DELETE", "/_control/faults", "").await;

    c.control(
        "POST",
        "/_control/faults",
        r#"{"action":"delay","delay_ms":300}"#,
    )
    .await;
    let t = Instant::now();
    assert_eq!(get().await.unwrap().status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    c.control("DELETE", "/_control/faults", "").await;
    assert_eq!(
        c.control("PUT", "/_control/latency", r#"{"ms":200}"#)
            .await
            .status,
        200
    );
    let t = Instant::now();
    assert_eq!(get().await.unwrap().status, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    let stats = c.control("GET", "/_control/stats", "").await.text();
    assert!(stats.contains("\"GetDirectoryProperties\":"), "{stats}");
    let bad = c
        .control("POST", "/_control/faults", r#"{"action":"delay"}"#)
        .await;
    assert_eq!(bad.status, 400);
}
