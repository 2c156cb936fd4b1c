//! Attacks on how the server is served, each against the real binary:
//! slow-loris headers and bodies, a connection flood, too many live streams
//! and streams that outlive their logout, framing and sniffing (headers),
//! and cookies leaking off TLS.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{api_login, login_page, Server, ADMIN, PASSWORD};

/// `host:port` of a server's `http://` base.
fn addr(s: &Server) -> Result<String> {
    s.base
        .strip_prefix("http://")
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("not a plain http base: {}", s.base))
}

/// Reads until the server closes the connection; what it sent before, and
/// when it closed. Fails if it stays open past `limit`.
async fn read_until_closed(conn: &mut TcpStream, limit: Duration) -> Result<(String, Duration)> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = tokio::time::timeout(limit.saturating_sub(started.elapsed()), conn.read(&mut buf))
            .await
            .map_err(|_| anyhow!("connection still open after {limit:?}"))?
            .unwrap_or(0); // a reset is a close too
        if n == 0 {
            return Ok((
                String::from_utf8_lossy(&got).into_owned(),
                started.elapsed(),
            ));
        }
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn slow_loris_headers_are_cut_off_at_the_header_timeout() -> Result<()> {
    let s = Server::start_fresh(&[("WAREHOUSE_HEADER_READ_TIMEOUT_SECS", "1")], &[])?;
    let mut conn = TcpStream::connect(addr(&s)?).await?;
    // Half a request: the headers never end.
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await?;
    let (_, closed_after) = read_until_closed(&mut conn, Duration::from_secs(4)).await?;
    assert!(
        closed_after >= Duration::from_millis(900),
        "closed before the timeout: {closed_after:?}"
    );
    // An idle connection that sends nothing is closed the same way.
    let mut idle = TcpStream::connect(addr(&s)?).await?;
    read_until_closed(&mut idle, Duration::from_secs(4)).await?;
    // The server still answers.
    let (status, _) = s.call(reqwest::Method::GET, "/healthz", None, None).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_stalled_body_is_answered_within_the_body_and_request_timeouts() -> Result<()> {
    // Half a JSON body, then nothing more.
    let half = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
content-length: 100\r\n\r\n{\"username\":";
    for (env, want) in [
        // The body stalls longer than it may go quiet: the extractor fails.
        (("WAREHOUSE_BODY_READ_TIMEOUT_SECS", "1"), "HTTP/1.1 4"),
        // Or the whole request runs past its limit: 503 request_timeout.
        (("WAREHOUSE_REQUEST_TIMEOUT_SECS", "1"), "HTTP/1.1 503"),
    ] {
        let s = Server::start_fresh(&[env], &[])?;
        let mut conn = TcpStream::connect(addr(&s)?).await?;
        conn.write_all(half).await?;
        let started = Instant::now();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(4), conn.read(&mut buf))
            .await
            .with_context(|| format!("{env:?}: no answer to a stalled body within 4 s"))??;
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with(want), "{env:?}: {answer}");
        assert!(started.elapsed() >= Duration::from_millis(900), "{env:?}");
        if want.ends_with("503") {
            assert!(answer.contains("request_timeout"), "{answer}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_and_service_resumes() -> Result<()> {
    let s = Server::start_fresh(
        &[
            ("WAREHOUSE_MAX_CONNECTIONS", "3"),
            ("WAREHOUSE_HEADER_READ_TIMEOUT_SECS", "30"),
        ],
        &[],
    )?;
    let a = addr(&s)?;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&a).await?);
    }
    // Let the server accept the three before the fourth knocks.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut extra = TcpStream::connect(&a).await?;
    let (answer, _) = read_until_closed(&mut extra, Duration::from_secs(3)).await?;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    // The held ones stay open (well inside their header timeout)…
    let mut probe = [0u8; 1];
    for conn in &mut held {
        let still_open =
            tokio::time::timeout(Duration::from_millis(100), conn.read(&mut probe)).await;
        assert!(still_open.is_err(), "a held connection was closed");
    }
    // …and once they go, normal requests are served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let client = reqwest::Client::new();
        match client.get(format!("{}/healthz", s.base)).send().await {
            Ok(r) if r.status() == StatusCode::OK => break,
            other if Instant::now() > deadline => bail!("not served after the flood: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_response_forbids_framing_sniffing_and_foreign_scripts() -> Result<()> {
    let s = Server::start()?;
    let token = s.login(ADMIN, PASSWORD).await?;
    for (path, bearer) in [
        ("/api/v1/auth/me", Some(&token)),
        ("/login", None),
        ("/dashboard", Some(&token)),
        ("/api/v1/no-such-thing", None),
    ] {
        let mut req = s.http.get(format!("{}{path}", s.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await?;
        let h = resp.headers();
        let get = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = get("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: CSP {csp:?}");
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{path}: CSP {csp:?}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: CSP {csp:?}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        // Plain HTTP: no HSTS promise that could not be kept.
        assert_eq!(get("strict-transport-security"), "", "{path}");
    }
    // The page itself carries no inline script the policy would block.
    let page = s
        .http
        .get(format!("{}/dashboard", s.base))
        .bearer_auth(&token)
        .send()
        .await?
        .text()
        .await?;
    assert!(!page.contains("javascript:"), "inline javascript: link");
    assert!(!page.contains("<script>"), "inline <script>");
    assert!(!page.contains(" style=\""), "inline style attribute");
    Ok(())
}

/// Opens the stock-take live stream as `token`; the response, if 200.
async fn open_stream(s: &Server, token: &str) -> Result<reqwest::Response> {
    Ok(s.http
        .get(format!("{}/stocktakes/1/events", s.base))
        .bearer_auth(token)
        .send()
        .await?)
}

/// Reads `stream` until it ends; fails if it is still sending after `limit`.
async fn ends_within(mut resp: reqwest::Response, limit: Duration) -> Result<Duration> {
    let started = Instant::now();
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), resp.chunk()).await {
            Err(_) => bail!("live stream still open after {limit:?}"),
            Ok(Ok(None)) | Ok(Err(_)) => return Ok(started.elapsed()),
            Ok(Ok(Some(_))) => {}
        }
    }
}

#[tokio::test]
async fn live_streams_are_capped_per_session_and_end_at_logout() -> Result<()> {
    // A short header timeout too: a stream must outlive it (it only bounds
    // waiting for a request, not answering one).
    let s = Server::start_fresh(
        &[
            ("WAREHOUSE_LIVE_STREAMS_PER_SESSION", "2"),
            ("WAREHOUSE_HEADER_READ_TIMEOUT_SECS", "1"),
        ],
        &[],
    )?;
    let first = s.login(ADMIN, PASSWORD).await?;
    let second = s.login(ADMIN, PASSWORD).await?;
    let a1 = open_stream(&s, &first).await?;
    let a2 = open_stream(&s, &first).await?;
    assert_eq!(a1.status(), StatusCode::OK);
    assert_eq!(a2.status(), StatusCode::OK);
    let a3 = open_stream(&s, &first).await?;
    assert_eq!(a3.status(), StatusCode::TOO_MANY_REQUESTS);
    let err: serde_json::Value = a3.json().await?;
    assert_eq!(err["error"]["code"], json!("too_many_streams"), "{err}");
    // The limit is per session: another login of the same user may stream.
    let opened_b1 = Instant::now();
    let b1 = open_stream(&s, &second).await?;
    assert_eq!(b1.status(), StatusCode::OK);

    // Closing a stream frees its place (the server notices on its next tick).
    drop(a2);
    let deadline = Instant::now() + Duration::from_secs(5);
    let a2 = loop {
        let r = open_stream(&s, &first).await?;
        if r.status() == StatusCode::OK {
            break r;
        }
        if Instant::now() > deadline {
            bail!("closed stream's place not freed: {}", r.status());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Logging out ends this session's streams, not the other session's.
    let (status, _) = s
        .call(
            reqwest::Method::POST,
            "/api/v1/auth/logout",
            Some(&first),
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (e1, e2) = tokio::join!(
        ends_within(a1, Duration::from_secs(4)),
        ends_within(a2, Duration::from_secs(4))
    );
    e1?;
    e2?;
    let b1_open_for = opened_b1.elapsed();
    assert!(
        ends_within(b1, Duration::from_secs(3)).await.is_err(),
        "the other session's stream ended too (after {b1_open_for:?})"
    );
    Ok(())
}

#[tokio::test]
async fn tls_serves_https_with_secure_cookies_and_refuses_plain_http() -> Result<()> {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    let keys = tempfile::tempdir()?;
    let cert = keys.path().join("cert.pem");
    let key = keys.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem())?;
    std::fs::write(&key, certified.key_pair.serialize_pem())?;
    let (cert_arg, key_arg) = (
        cert.to_str()
            .ok_or_else(|| anyhow!("temp path not UTF-8"))?,
        key.to_str().ok_or_else(|| anyhow!("temp path not UTF-8"))?,
    );
    let s = Server::start_fresh(&[], &["--tls-cert", cert_arg, "--tls-key", key_arg])?;
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(
            certified.cert.pem().as_bytes(),
        )?)
        .timeout(Duration::from_secs(10))
        // The form login's cookie is on its redirect.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    let (cookie, _) = api_login(&https, &s.base).await?;
    assert!(cookie.starts_with("wh_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure"),
        "cookie without Secure: {cookie}"
    );
    let health = https.get(format!("{}/healthz", s.base)).send().await?;
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("strict-transport-security"));

    // The web login form's cookie too.
    let (login_cookie, token, _) = login_page(&https, &s.base, "").await?;
    let form = https
        .post(format!("{}/login", s.base))
        .header("cookie", login_cookie)
        .form(&[
            ("username", ADMIN),
            ("password", PASSWORD),
            ("login_token", &token),
        ])
        .send()
        .await?;
    let cookies: Vec<_> = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("wh_session=") && c.contains("; Secure")),
        "{cookies:?}"
    );

    // Plain HTTP on the TLS port gets no answer.
    let plain = format!("http://{}/healthz", &s.base["https://".len()..]);
    assert!(
        reqwest::Client::new().get(plain).send().await.is_err(),
        "plain HTTP was served on the TLS port"
    );
    // An untrusting client refuses the self-signed certificate: it really is TLS.
    assert!(reqwest::Client::new()
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .is_err());
    Ok(())
}

#[tokio::test]
async fn unreadable_tls_files_are_refused_naming_the_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("nope.pem");
    let missing = missing
        .to_str()
        .ok_or_else(|| anyhow!("temp path not UTF-8"))?;
    let out = crate::support::cli(
        &dir.path().join("unused.db"),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            missing,
            "--tls-key",
            missing,
        ],
    )?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.pem"), "{err}");
    Ok(())
}
