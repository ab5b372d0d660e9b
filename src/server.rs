//! Running the service: the HTTP server with graceful shutdown, and the
//! background workers beside it.

use crate::app::{self, AppState};
use actix_web::{web, HttpServer};
use std::net::TcpListener;
use std::time::Duration;

/// Serves on `listener` until SIGTERM or SIGINT; requests in flight finish
/// first (up to 30 s).
pub async fn run(state: web::Data<AppState>, listener: TcpListener) -> std::io::Result<()> {
    let workers = state.settings.workers;
    let worker_state = state.clone();
    let server = HttpServer::new(move || app::build(state.clone()))
        .workers(workers)
        .shutdown_timeout(30)
        .disable_signals()
        .listen(listener)?
        .run();
    let handle = server.handle();
    let background = crate::workers::spawn(worker_state);
    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        handle.stop(true).await;
    });
    let result = server.await;
    background.abort();
    result
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How long background workers wait between rounds.
pub const WORKER_INTERVAL: Duration = Duration::from_secs(30);
