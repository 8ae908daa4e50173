#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! The accept loop on a real loopback socket: TLS with the Rust client, mutual TLS
//! (no client certificate: no request), slow clients cut off at the header timeout
//! while everyone else is served, and connections spread over the worker threads and
//! closed on every thread at shutdown. The server here runs as `aunsorm serve` does: on
//! its own thread's runtime plus one worker thread, so that every test has connections
//! on both.

use aunsorm_server::config::TlsConfig;
use aunsorm_server::transport::tls_config;
use aunsorm_server::{AppState, Limits, Node, Transport, Workers, router, serve_on};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Pki {
    dir: tempfile::TempDir,
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
fn make_pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    write("ca.pem", ca_cert.pem());
    for (who, names) in [
        ("server", vec!["127.0.0.1".to_owned()]),
        ("client", vec!["client".to_owned()]),
    ] {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        write(&format!("{who}.pem"), cert.pem());
        write(&format!("{who}.key"), key.serialize_pem());
    }
    Pki { dir }
}

impl Pki {
    fn path(&self, f: &str) -> std::path::PathBuf {
        self.dir.path().join(f)
    }
}

struct Server {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    workers: Arc<Workers>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the server on a free loopback port, on this runtime and one worker thread.
async fn start(transport: Transport) -> Server {
    let node = Arc::new(Node::dev().unwrap());
    let app = router(AppState::new(node, Limits::default()));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let workers = Arc::new(Workers::start(1, |_| {}).unwrap());
    let w = Arc::clone(&workers);
    let done = tokio::spawn(async move {
        serve_on(l, app, transport, &w, async {
            let _ = rx.await;
        })
        .await
    });
    Server {
        addr,
        stop,
        workers,
        done,
    }
}

fn client(addr: std::net::SocketAddr, pki: &Pki, cert: bool) -> aunsorm_client::Client {
    let mut b =
        aunsorm_client::Client::builder(format!("https://{addr}")).ca_file(pki.path("ca.pem"));
    if cert {
        b = b.client_cert(pki.path("client.pem"), pki.path("client.key"));
    }
    b.timeout(Duration::from_secs(10)).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_mutual_tls() {
    let pki = make_pki();
    let tls = |client_ca: Option<&Path>| {
        tls_config(&TlsConfig {
            cert: Some(pki.path("server.pem")),
            key: Some(pki.path("server.key")),
            client_ca: client_ca.map(Path::to_owned),
        })
        .unwrap()
    };
    let Server { addr, stop, .. } = start(Transport {
        tls: Some(tls(None)),
        ..Transport::default()
    })
    .await;
    let h = client(addr, &pki, false).health().await.unwrap();
    assert!(!h.sealed);
    // Plain HTTP to a TLS port gets no answer, and a client that does not trust the CA
    // refuses the server.
    let plain = aunsorm_client::Client::builder(format!("http://{addr}"))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(plain.health().await.is_err());
    let other = make_pki();
    assert!(client(addr, &other, false).health().await.is_err());
    let _ = stop.send(());

    let Server { addr, stop, .. } = start(Transport {
        tls: Some(tls(Some(&pki.path("ca.pem")))),
        ..Transport::default()
    })
    .await;
    let e = client(addr, &pki, false).health().await.unwrap_err();
    assert_eq!(e.code(), "unavailable", "{e}");
    assert!(client(addr, &pki, true).health().await.is_ok());
    let _ = stop.send(());

    // Bad TLS settings are named at start.
    let e = tls_config(&TlsConfig {
        cert: Some(pki.path("server.pem")),
        key: Some(pki.path("missing.key")),
        client_ca: None,
    })
    .unwrap_err();
    assert!(e.message.contains("missing.key"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_are_served() {
    let Server { addr, stop, .. } = start(Transport {
        header_timeout: Some(Duration::from_millis(500)),
        ..Transport::default()
    })
    .await;
    // Ten connections that send half a request head and stall.
    let mut slow = vec![];
    for _ in 0..10 {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        slow.push(s);
    }
    // Meanwhile another client is served at once.
    let c = aunsorm_client::Client::builder(format!("http://{addr}"))
        .build()
        .unwrap();
    assert!(c.health().await.is_ok());
    // Each stalled connection is closed by the server after the header timeout.
    let started = Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        slow.into_iter()
            .map(|mut s| {
                let mut buf = Vec::new();
                // Closed: read returns (0 bytes, or an error answer then EOF).
                s.read_to_end(&mut buf).is_ok()
            })
            .filter(|closed| *closed)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(closed, 10);
    assert!(started.elapsed() < Duration::from_secs(4));
    let _ = stop.send(());
}

/// Sends a health request on `s` and reads the response head and body (keep-alive).
fn health(s: &mut std::net::TcpStream) -> String {
    s.write_all(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // One response: the head, then a JSON body that ends with `}`.
    while !(got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(b"}")) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_spread_over_threads_and_all_closed_at_shutdown() {
    let Server {
        addr,
        stop,
        workers,
        done,
    } = start(Transport::default()).await;
    let mut conns = tokio::task::spawn_blocking(move || {
        (0..6)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let r = health(&mut s);
                assert!(r.starts_with("HTTP/1.1 200"), "{r}");
                s
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    // Handed out in turn while they are all open: three on each thread.
    assert_eq!(workers.open(), vec![3]);
    // Each connection still serves, wherever it lives.
    let mut conns = tokio::task::spawn_blocking(move || {
        for s in &mut conns {
            assert!(health(s).starts_with("HTTP/1.1 200"));
        }
        conns
    })
    .await
    .unwrap();
    // The first and third went to the worker thread; once they close, the next
    // connection goes there, where fewer are open.
    drop(conns.remove(2));
    drop(conns.remove(0));
    for _ in 0..500 {
        if workers.open() == vec![1] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(workers.open(), vec![1]);
    let conns = tokio::task::spawn_blocking(move || {
        let mut conns = conns;
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(health(&mut s).starts_with("HTTP/1.1 200"));
        conns.push(s);
        conns
    })
    .await
    .unwrap();
    assert_eq!(workers.open(), vec![2]);
    let _ = stop.send(());
    // Shutdown closes idle connections on both threads, and serve returns.
    let closed = tokio::task::spawn_blocking(move || {
        conns
            .into_iter()
            .map(|mut s| {
                let mut buf = Vec::new();
                s.read_to_end(&mut buf)
                    .map(|_| buf.is_empty())
                    .unwrap_or(false)
            })
            .filter(|closed| *closed)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(closed, 5);
    tokio::time::timeout(Duration::from_secs(5), done)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(workers.open(), vec![0]);
}

/// On one thread alone (this test's single-threaded runtime, no worker threads), a slow
/// signature (SLH-DSA, run on the blocking pool) and a request sent after it are both
/// answered. (Which comes first does not show whether the signature ran inline: its
/// answer waits for its audit entry either way. `Kms::is_quick`'s own test covers the
/// choice.)
#[tokio::test]
async fn a_slow_signature_and_a_request_after_it_are_both_answered() {
    use aunsorm_server::auth::{ALL_SCOPES, TokenSpec};
    let node = Arc::new(Node::dev().unwrap());
    let (token, _) = node
        .auth()
        .unwrap()
        .mint(&TokenSpec {
            scopes: ALL_SCOPES.to_vec(),
            ..TokenSpec::default()
        })
        .unwrap();
    let app = router(AppState::new(node, Limits::default()));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        serve_on(l, app, Transport::default(), &Workers::none(), async {
            let _ = rx.await;
        })
        .await
    });
    let c = aunsorm_client::Client::builder(format!("http://{addr}"))
        .token(token.clone())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    c.create_key(&aunsorm_api::kms::CreateKey {
        name: "slow".into(),
        alg: "slh-dsa-sha2-128s".into(),
        exportable: false,
        deletion_allowed: false,
        not_after: None,
        auto_rotate_secs: 0,
    })
    .await
    .unwrap();
    // Both requests are in the server's socket buffers, the signature's first, before
    // either answer is read; each answer is read on a thread of its own.
    let body = format!("{{\"key\":\"slow\",\"message\":\"{}\"}}", "QUJD".repeat(8));
    let sign_request = format!(
        "POST /v1/kms/sign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let (signed, healthy) = tokio::task::spawn_blocking(move || {
        let answer = |mut s: std::net::TcpStream| {
            std::thread::spawn(move || {
                let mut got = String::new();
                s.read_to_string(&mut got).unwrap();
                got
            })
        };
        let mut sign = std::net::TcpStream::connect(addr).unwrap();
        sign.write_all(sign_request.as_bytes()).unwrap();
        let mut health = std::net::TcpStream::connect(addr).unwrap();
        health
            .write_all(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (sign, health) = (answer(sign), answer(health));
        (sign.join().unwrap(), health.join().unwrap())
    })
    .await
    .unwrap();
    assert!(signed.starts_with("HTTP/1.1 200"), "{signed}");
    assert!(signed.contains("\"value\":\"aunsorm:v1:"), "{signed}");
    assert!(healthy.starts_with("HTTP/1.1 200"), "{healthy}");
    let _ = stop.send(());
    done.await.unwrap().unwrap();
}
