//! Running the service: the HTTP server with graceful shutdown, and the
//! background workers beside it.

use crate::app;
use crate::state::AppState;
use actix_web::{web, HttpServer};
use std::net::TcpListener;

/// Serves on `listener` until SIGTERM or SIGINT; requests in flight finish
/// first (up to 30 s).
/// Connections kept for the group-commit writer and the background jobs.
const RESERVED_CONNECTIONS: usize = 2;

pub async fn run(state: web::Data<AppState>, listener: TcpListener) -> std::io::Result<()> {
    // Take over the signals before the first request can arrive.
    let stop = shutdown_signal()?;
    let workers = state.settings.workers;
    // Database work runs on each worker's blocking threads, which are
    // sized so that every one of them finds a pooled connection at once:
    // the pool, less one connection for the group-commit writer and one for
    // the background jobs, shared among the workers. A thread that had to
    // wait for a connection could lose every race for it (r2d2 is not
    // fair) and time out under load. Password hashes run on threads of
    // their own (`crypto::password`).
    let blocking = ((state.settings.db_pool_size as usize).saturating_sub(RESERVED_CONNECTIONS)
        / workers)
        .max(1);
    // Accounts that existed before staff vetting start their grace period
    // on the service's clock, before the first request.
    let s = state.clone();
    let started = web::block(move || crate::vetting::start_grace(&s))
        .await
        .map_err(std::io::Error::other)?
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if started > 0 {
        tracing::info!(accounts = started, "staff vetting: grace period started");
    }
    let worker_state = state.clone();
    let server = HttpServer::new(move || app::build(state.clone()))
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(30)
        .disable_signals()
        .listen(listener)?
        .run();
    let handle = server.handle();
    let background = crate::workers::spawn(worker_state);
    actix_web::rt::spawn(async move {
        stop.await;
        tracing::info!("shutting down: finishing requests in flight");
        handle.stop(true).await;
    });
    let result = server.await;
    background.abort();
    result
}

/// Resolves at SIGTERM or SIGINT; the handlers are installed when this is
/// called, not when it is first polled.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {},
            _ = term.recv() => {},
        }
    })
}
