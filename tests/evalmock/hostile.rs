//! Hostile and careless clients over raw TCP (issue 11): half request heads, lying
//! `Content-Length`s, idle and slowloris connections, half-closed sockets, and a table of bad
//! inputs, each with the answer the README's "Bad input" section promises. After every case a
//! new connection must still be served: nothing a client sends may break the mock for others.
//! Timeouts are behaviour here, not performance: short configured ones, generous upper bounds.

use std::time::{Duration, Instant};

use evalmock::server::Timeouts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Short timeouts, so a test sees them act within a second.
fn short() -> Timeouts {
    Timeouts {
        header: Duration::from_millis(300),
        keep_alive: Duration::from_millis(300),
        request: Duration::from_millis(300),
        idle: Duration::from_millis(300),
    }
}

/// Far longer than any configured timeout here: past it, the server is holding on.
const GENEROUS: Duration = Duration::from_secs(10);

/// A new connection on which `bytes` have been sent.
async fn sent(app: &TestApp, bytes: &[u8]) -> TcpStream {
    let mut socket = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connects");
    socket.write_all(bytes).await.expect("sends");
    socket
}

fn assert_status(answer: &[u8], expected: u16) {
    assert_eq!(
        status_of(answer),
        Some(expected),
        "{}",
        String::from_utf8_lossy(answer)
    );
}

/// Everything the server sends until it closes the connection (a reset counts as a close);
/// panics when it is still open after [`GENEROUS`].
async fn read_until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match tokio::time::timeout(GENEROUS, socket.read(&mut buffer)).await {
            Err(_) => panic!(
                "the server still holds the connection after {GENEROUS:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return received,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// The status of a raw HTTP/1.1 answer.
fn status_of(answer: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// A value of a header of a raw HTTP/1.1 answer (names compared case-insensitively).
fn header_of(answer: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(answer);
    let (head, _) = text.split_once("\r\n\r\n")?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// `/__mock/health` answers on a new connection: a pooled one may have just been closed by
/// the short header timeout (that race is the client's, not what is tested here).
async fn health_answers(app: &TestApp) {
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let reply = send(fresh.get(format!("{}/__mock/health", app.base))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_half_request_head_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with_timeouts(short()).await;
    let mut socket = sent(&app, b"GET /__mock/health HTTP/1.1\r\nHost: mock\r\n").await;
    let started = Instant::now();
    let answer = read_until_closed(&mut socket).await;
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed before the header timeout: {:?}",
        started.elapsed()
    );
    assert!(
        status_of(&answer).is_none_or(|s| s == 408),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    health_answers(&app).await;
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_gets_408() {
    let app = TestApp::spawn_with_timeouts(short()).await;
    let head = format!(
        "POST /v1/eval/compare-record HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{}}"
    );
    let mut socket = sent(&app, head.as_bytes()).await;
    let answer = read_until_closed(&mut socket).await;
    assert_status(&answer, 408);
    assert_eq!(
        header_of(&answer, "evalmock-error").as_deref(),
        Some("request-timeout")
    );
    assert_eq!(
        header_of(&answer, "content-type").as_deref(),
        Some("application/problem+json")
    );
    let journal = app.journal("?limit=1").await;
    assert_eq!(journal[0]["status"], 408, "the journal records it");
    health_answers(&app).await;
}

#[tokio::test]
async fn a_content_length_over_the_limit_gets_413_without_waiting_for_the_body() {
    // The request timeout is long here: a 413 can only come from the declared length.
    let app = TestApp::spawn_with_timeouts(Timeouts {
        request: GENEROUS * 3,
        ..short()
    })
    .await;
    let head = format!(
        "POST /v1/eval/compare-record HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    );
    let mut socket = sent(&app, head.as_bytes()).await;
    let answer = read_until_closed(&mut socket).await;
    assert_status(&answer, 413);
    assert_eq!(
        header_of(&answer, "evalmock-error").as_deref(),
        Some("body-too-large")
    );
    health_answers(&app).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = TestApp::spawn_with_timeouts(short()).await;
    let mut socket = sent(&app, b"GET /__mock/health HTTP/1.1\r\nHost: mock\r\n\r\n").await;
    // The answer comes, then nothing more is asked: the server closes the connection.
    let answer = read_until_closed(&mut socket).await;
    assert_status(&answer, 200);
}

#[tokio::test]
async fn a_kept_alive_connection_closes_after_the_keep_alive_timeout_not_the_header_timeout() {
    let app = TestApp::spawn_with_timeouts(Timeouts {
        header: GENEROUS * 3,
        keep_alive: Duration::from_millis(300),
        ..short()
    })
    .await;
    let mut socket = sent(&app, b"GET /__mock/health HTTP/1.1\r\nHost: mock\r\n\r\n").await;
    let started = Instant::now();
    let answer = read_until_closed(&mut socket).await;
    assert_status(&answer, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}: the header timeout, not the keep-alive one",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_that_never_reads_its_answers_is_cut_off_and_others_are_served() {
    const REQUESTS: usize = 20_000;
    let app = TestApp::spawn_with_timeouts(short()).await;
    let address: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let stream = socket.connect(address).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    // Pipelined requests whose answers (megabytes in all) are never read.
    let sender = tokio::spawn(async move {
        let one = b"GET /__mock/health HTTP/1.1\r\nHost: mock\r\n\r\n";
        for _ in 0..REQUESTS {
            if writer.write_all(one).await.is_err() {
                break;
            }
        }
        writer
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    health_answers(&app).await;
    // Only now read: the server gave up on the stalled connection long ago, so far fewer
    // answers arrive than were asked for, and then the connection ends.
    let mut received = Vec::new();
    let mut buffer = [0u8; 65536];
    loop {
        match tokio::time::timeout(GENEROUS, reader.read(&mut buffer)).await {
            Err(_) => panic!("the stalled connection is still open"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
    sender.abort();
    let answers = received
        .windows(b"HTTP/1.1 200".len())
        .filter(|w| *w == b"HTTP/1.1 200")
        .count();
    assert!(answers > 0, "some answers were written before the stall");
    assert!(
        answers < REQUESTS,
        "all {answers} answers arrived: the server waited for the reader"
    );
    health_answers(&app).await;
}

#[tokio::test]
async fn a_half_sent_admin_body_gets_408_and_the_mock_stays_responsive() {
    let app = TestApp::spawn_with_timeouts(short()).await;
    for (method, path) in [
        ("POST", "/__mock/reset"),
        ("POST", "/__mock/reload"),
        ("PUT", "/__mock/scenario"),
    ] {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{}}"
        );
        let mut socket = sent(&app, head.as_bytes()).await;
        let answer = read_until_closed(&mut socket).await;
        assert_status(&answer, 408);
        assert_eq!(
            header_of(&answer, "evalmock-error").as_deref(),
            Some("request-timeout"),
            "{path}"
        );
        health_answers(&app).await;
    }
}

#[tokio::test]
async fn a_client_that_half_closes_after_its_request_gets_the_answer() {
    let app = TestApp::spawn().await;
    let request = format!(
        "GET /v1/eval/batches HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {API_KEY}\r\n\r\n"
    );
    let mut socket = sent(&app, request.as_bytes()).await;
    socket.shutdown().await.expect("shuts down its write side");
    let answer = read_until_closed(&mut socket).await;
    assert_status(&answer, 200);
    let text = String::from_utf8_lossy(&answer);
    let (_, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let body: serde_json::Value = serde_json::from_str(body).expect("the whole JSON body");
    assert!(body.is_object(), "{body}");
}

#[tokio::test]
async fn two_hundred_slowloris_connections_do_not_starve_health_and_are_closed() {
    let app = TestApp::spawn_with_timeouts(Timeouts {
        header: Duration::from_millis(800),
        ..short()
    })
    .await;
    let mut sockets = Vec::new();
    for _ in 0..200 {
        sockets.push(sent(&app, b"POST /v1/eval/compare-record HTTP/1.1\r\nHost: mo").await);
    }
    // All 200 are open and silent; the mock still answers others.
    health_answers(&app).await;
    for socket in &mut sockets {
        read_until_closed(socket).await;
    }
    health_answers(&app).await;
}

#[test]
fn the_binary_applies_header_timeout_from_the_command_line() {
    let server = Binary::serve(&["--no-watch", "--header-timeout", "300ms"], &[]);
    let mut socket =
        std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connects to the binary");
    socket
        .set_read_timeout(Some(GENEROUS))
        .expect("a read timeout");
    std::io::Write::write_all(&mut socket, b"GET /__mock/health HTTP/1.1\r\n").expect("sends");
    let mut rest = Vec::new();
    let ended = std::io::Read::read_to_end(&mut socket, &mut rest);
    assert!(
        ended.is_ok()
            || ended
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the binary closed the half head's connection, not a read timeout: {ended:?}"
    );
    server.stop();
}

/// How a bad-input case is answered: a status and the error code (the API's `details[0].code`
/// or the mock's `evalmock-error`), as the README's "Bad input" section lists them.
struct Case {
    name: &'static str,
    request: Vec<u8>,
    status: u16,
    code: &'static str,
}

/// A request with `Connection: close`, the key, `headers` and `body` (with its length).
fn raw(method: &str, path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\nAuthorization: Bearer {API_KEY}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn json_post(body: &[u8]) -> Vec<u8> {
    raw(
        "POST",
        "/v1/eval/compare-record",
        "Content-Type: application/json\r\n",
        body,
    )
}

/// The error code of an answer: the mock's header, else the API's first detail code.
fn code_of(answer: &[u8]) -> String {
    if let Some(kind) = header_of(answer, "evalmock-error") {
        return kind;
    }
    let text = String::from_utf8_lossy(answer);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let body: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    body["details"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn bad_inputs() -> Vec<Case> {
    let group = |path: &str| raw("GET", &format!("/v1/eval/group/{path}"), "", b"");
    vec![
        Case {
            name: "oversized body",
            // Over --body-limit (64 KiB in tests).
            request: json_post(&vec![b' '; 70 * 1024]),
            status: 413,
            code: "body-too-large",
        },
        Case {
            name: "60k nested arrays",
            request: json_post("[".repeat(60_000).as_bytes()),
            status: 400,
            code: "MALFORMED_JSON",
        },
        Case {
            name: "invalid UTF-8 in a JSON string",
            request: json_post(b"{\"evalGroupId\": \"\xff\xfe\"}"),
            status: 400,
            code: "MALFORMED_JSON",
        },
        Case {
            name: "text/plain body",
            request: raw(
                "POST",
                "/v1/eval/compare-record",
                "Content-Type: text/plain\r\n",
                b"{}",
            ),
            status: 400,
            code: "UNSUPPORTED_CONTENT_TYPE",
        },
        Case {
            name: "two Authorization headers",
            request: raw(
                "GET",
                "/v1/eval/batches",
                &format!("Authorization: Bearer {API_KEY}\r\n"),
                b"",
            ),
            status: 401,
            code: "MALFORMED_CREDENTIALS",
        },
        Case {
            name: "encoded traversal",
            request: group("..%2F..%2Fetc%2Fpasswd"),
            status: 404,
            code: "EVAL_GROUP_NOT_FOUND",
        },
        Case {
            name: "encoded NUL",
            request: group("abc%00def"),
            status: 404,
            code: "EVAL_GROUP_NOT_FOUND",
        },
        Case {
            name: "overlong UTF-8",
            request: group("%C0%AE%C0%AE%2F"),
            status: 404,
            code: "EVAL_GROUP_NOT_FOUND",
        },
        Case {
            name: "invalid percent-encoding",
            request: group("%zz"),
            status: 404,
            code: "EVAL_GROUP_NOT_FOUND",
        },
        Case {
            name: "raw dot segments",
            request: raw("GET", "/v1/eval/../../etc/passwd", "", b""),
            status: 404,
            code: "no-route",
        },
    ]
}

#[tokio::test]
async fn each_bad_input_gets_its_documented_answer_and_the_next_request_succeeds() {
    let app = TestApp::spawn().await;
    for case in bad_inputs() {
        let mut socket = sent(&app, &case.request).await;
        let answer = read_until_closed(&mut socket).await;
        let text = String::from_utf8_lossy(&answer);
        assert_eq!(
            status_of(&answer),
            Some(case.status),
            "{}: {text}",
            case.name
        );
        assert_eq!(code_of(&answer), case.code, "{}: {text}", case.name);
        let next = app.get_as(API_KEY, "/v1/eval/batches").await;
        assert_eq!(next.status, 200, "after {}: {}", case.name, next.body);
    }
}

#[tokio::test]
async fn a_huge_header_is_refused_and_the_next_request_succeeds() {
    let app = TestApp::spawn().await;
    let big = format!("X-Big: {}\r\n", "a".repeat(600 * 1024));
    let mut socket = sent(&app, &raw("GET", "/v1/eval/batches", &big, b"")).await;
    let answer = read_until_closed(&mut socket).await;
    // 431, or a reset that discards it when the unread header bytes are dropped.
    assert!(
        status_of(&answer).is_none_or(|s| s == 431),
        "{}",
        String::from_utf8_lossy(&answer[..answer.len().min(300)])
    );
    let next = app.get_as(API_KEY, "/v1/eval/batches").await;
    assert_eq!(next.status, 200, "{}", next.body);
}

#[test]
fn a_one_megabyte_id_is_not_echoed_back_whole_nor_logged_whole() {
    let server = Binary::serve(&["--no-watch"], &[]);
    let id = "x".repeat(1024 * 1024);
    let mut body = docs_compare_record_body();
    body["evalGroupId"] = id.clone().into();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let reply = runtime.block_on(send(
        http_client()
            .post(server.url("/v1/eval/compare-record"))
            .bearer_auth(API_KEY)
            .json(&body),
    ));
    let text = reply.body.to_string();
    assert!(reply.status >= 400, "{}", reply.status);
    assert!(text.len() < 4096, "{} bytes: {}", text.len(), &text[..300]);
    assert!(text.contains("…"), "the clipped id says so: {text}");
    let logs = server.stop();
    assert!(!logs.contains(&id), "the log holds the whole id");
}
