//! How `serve` meets the network, and the limits that keep one client from
//! holding the server: the accept loop with a connection cap, HTTP/1.1 with
//! a header read timeout, optional TLS, bounded graceful shutdown
//! (this file); the guard every request passes — request and body
//! timeouts, security headers ([`guard`]); live-stream limits ([`live`]);
//! loading the TLS key pair ([`tls`]). Routes and handlers know nothing of
//! this beyond one `.layer(...)` line in [`crate::http::router`] and the
//! [`live::LiveSlot`] extractor in the server-sent-event handlers.

pub mod guard;
pub mod live;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// How long shutdown waits for open requests to finish. Live streams never
/// finish by themselves, so the wait must end.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What a connection over the cap reads before it is closed (plain HTTP
/// only: over TLS there is no session to write it in).
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\
content-type: text/plain; charset=utf-8\r\nretry-after: 1\r\ncontent-length: 28\r\n\r\n\
too many connections; retry\n";

/// The connection-level limits, from the config.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

impl ConnectionLimits {
    pub fn of(config: &Config) -> Self {
        Self {
            max_connections: config.max_connections,
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits up to
/// [`SHUTDOWN_GRACE`] for open requests.
///
/// A connection over `max_connections` is refused at once (plain HTTP: a
/// 503 then close; TLS: close) rather than left waiting in the kernel's
/// backlog: a client learns immediately, and a flood of idle connections
/// cannot hide the server behind a queue. Each admitted connection must
/// send a request's headers (and, over TLS, finish the handshake) within
/// `header_read_timeout`, also between keep-alive requests.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refuse(tcp, peer, tls.is_some(), limits.max_connections);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, http, tls, watcher) =
            (app.clone(), http.clone(), tls.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(tcp, peer, app, &http, watcher).await,
                Some(tls) => {
                    match tokio::time::timeout(limits.header_read_timeout, tls.accept(tcp)).await {
                        Ok(Ok(stream)) => serve_connection(stream, peer, app, &http, watcher).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open {}s after shutdown began; closing them",
            SHUTDOWN_GRACE.as_secs()
        );
    }
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    http: &http1::Builder,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The peer address, for handlers that count by it (login throttling).
    let app = tower::ServiceExt::map_request(app, move |mut req: axum::extract::Request<_>| {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        req
    });
    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    if let Err(e) = watcher.watch(conn).await {
        // Header timeouts, resets and malformed requests end up here.
        tracing::debug!(%peer, error = %e, "connection closed with an error");
    }
}

/// Turns away a connection over the cap without waiting on it.
fn refuse(tcp: TcpStream, peer: SocketAddr, tls: bool, max: usize) {
    tracing::debug!(%peer, max, "connection refused: connection cap reached");
    if !tls {
        // A fresh socket's send buffer takes these few bytes at once; if it
        // does not, the client gets the close alone.
        let _ = tcp.try_write(BUSY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_one_whole_http_response() -> anyhow::Result<()> {
        let text = std::str::from_utf8(BUSY)?;
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow::anyhow!("no blank line after the head"))?;
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        Ok(())
    }
}
