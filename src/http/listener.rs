//! The main listener's server: actix-web's own `HttpServer`, or, with `proxy_protocol`, the same
//! application behind an acceptor that reads each connection's PROXY header before HTTP.
//! actix-web reads HTTP from the first byte and has no hook to run before it, so that acceptor
//! is actix-web's own plumbing (actix-server, actix-http's `HttpService`) assembled as
//! `HttpServer::listen` assembles it, with one step in front.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{Extensions, HttpService, Protocol, Request, Response};
use actix_service::{
    IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt, fn_service, map_config,
};
use actix_web::HttpServer;
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server};
use tokio::net::TcpStream;

use super::proxy_protocol::{ProxiedStream, read_header};

/// How long a stopping server lets in-flight requests finish (SIGTERM's drain).
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Serves `factory`'s application on `listener` with `workers` (or one per CPU).
pub(crate) fn serve<F, I, S, B>(
    factory: F,
    listener: TcpListener,
    workers: Option<usize>,
    is_proxy_protocol: bool,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    if is_proxy_protocol {
        return serve_behind_proxy_protocol(factory, listener, workers);
    }
    let mut server = HttpServer::new(factory).shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}

fn serve_behind_proxy_protocol<F, I, S, B>(
    factory: F,
    listener: TcpListener,
    workers: Option<usize>,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let mut builder = actix_server::Server::build().shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
    if let Some(workers) = workers {
        builder = builder.workers(workers);
    }
    let shutdown = builder.graceful_shutdown_signal();
    let builder = builder.listen("tokenbridge", listener, move || {
        let application = factory()
            .into_factory()
            .map_err(|err| err.into().error_response());
        let shutdown = shutdown.clone();
        // HttpServer's settings, so both paths behave alike; the shutdown signal lets a
        // kept-alive connection close after its response when the server drains.
        let http = HttpService::build()
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr(addr)
            .graceful_shutdown_signal(move || {
                let shutdown = shutdown.clone();
                async move { shutdown.notified().await }
            })
            .on_connect_ext(|stream: &ProxiedStream, extensions: &mut Extensions| {
                if let Some(source) = stream.source() {
                    extensions.insert(source);
                }
            })
            // The application's host and address serve only URL generation, which it never
            // uses (AppConfig's constructor is private to actix-web).
            .finish(map_config(application, |_| AppConfig::default()));
        fn_service(|stream: TcpStream| async move {
            let peer = stream.peer_addr().ok();
            match read_header(stream).await {
                Ok(proxied) => Ok((proxied, Protocol::Http1, peer)),
                Err(err) => {
                    let peer = peer.map(|peer| peer.ip().to_string()).unwrap_or_default();
                    tracing::info!(peer, "connection closed: {err}");
                    Err(DispatchError::Io(io::Error::other(err)))
                }
            }
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}
