//! The gRPC server: TLS over the unix socket, HTTP/2 (hyper), and one dispatch on the method
//! path to the services OpenBao uses: `pb.Wrapper`, `plugin.GRPCController/Shutdown` and
//! `grpc.health.v1.Health/Check`. Anything else (go-plugin's stdio and broker streams) is
//! answered Unimplemented, which the host accepts.

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::UnixListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tonic::Status;
use tonic::body::Body;
use tonic::server::{Grpc, UnaryService};
use tonic_prost::ProstCodec;

use crate::log::{Level, log};
use crate::proto::{Empty, HealthCheckRequest, HealthCheckResponse, LifecycleRequest, SERVING};
use crate::wrapper::Wrappers;

/// How long in-flight calls may take to finish once shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(1);
/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);
/// Pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The signal that stops the plugin. Install it before the handshake line is printed: the
/// host may signal its process group as soon as it has read the line.
pub struct Signals {
    terminate: Signal,
}

impl Signals {
    /// Ignores SIGINT from now on (the host's process group gets the terminal's SIGINT;
    /// go-plugin servers ignore it and wait for the host's Shutdown call; a registered handler
    /// is never removed) and listens for SIGTERM. Needs the runtime's context.
    ///
    /// # Errors
    /// When a handler cannot be installed.
    pub fn install() -> std::io::Result<Signals> {
        drop(signal(SignalKind::interrupt())?);
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
        })
    }
}

/// Serves until SIGTERM or `GRPCController/Shutdown`, then removes the socket.
pub async fn serve(
    listener: UnixListener,
    socket: PathBuf,
    tls: TlsAcceptor,
    wrappers: Arc<Wrappers>,
    signals: Signals,
) {
    let mut terminate = signals.terminate;
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let state = Arc::new(State {
        wrappers,
        stop: stop_tx,
    });
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, tls.clone(), state.clone()));
                }
                Err(e) => {
                    log(Level::Error, &format!("accepting a connection failed: {e}"), &[]);
                    // Out of descriptors, say: do not spin.
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reap finished connections, so a client that reconnects often costs nothing.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = terminate.recv() => {
                log(Level::Info, "SIGTERM: shutting down", &[]);
                break;
            }
            _ = stop_rx.changed() => {
                log(Level::Info, "shutdown requested by the host", &[]);
                break;
            }
        }
    }
    drop(listener);
    let _ = std::fs::remove_file(&socket);
    state.stop.send_replace(true);
    let _ = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

struct State {
    wrappers: Arc<Wrappers>,
    stop: watch::Sender<bool>,
}

async fn connection(stream: tokio::net::UnixStream, tls: TlsAcceptor, state: Arc<State>) {
    let stream = match tokio::time::timeout(TLS_HANDSHAKE, tls.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Err(_) => {
            log(
                Level::Warn,
                "refused a connection: no tls handshake within 10 s",
                &[],
            );
            return;
        }
        Ok(Err(e)) => {
            log(
                Level::Warn,
                &format!("refused a connection: tls handshake failed: {e}"),
                &[],
            );
            return;
        }
    };
    let service_state = state.clone();
    let service = hyper::service::service_fn(move |request| {
        let state = service_state.clone();
        async move { Ok::<_, Infallible>(route(state, request).await) }
    });
    let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut stop = state.stop.subscribe();
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                log(Level::Debug, &format!("connection closed: {e}"), &[]);
            }
            return;
        }
        _ = stop.wait_for(|stop| *stop) => {}
    }
    // Let the answer to Shutdown (and any other call in flight) go out.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

async fn route(state: Arc<State>, request: http::Request<Incoming>) -> http::Response<Body> {
    let wrappers = state.wrappers.clone();
    match request.uri().path() {
        "/pb.Wrapper/SetConfig" => unary(request, blocking(wrappers, |w, r| w.set_config(r))).await,
        "/pb.Wrapper/Type" => unary(request, blocking(wrappers, |w, r| w.wrapper_type(&r))).await,
        "/pb.Wrapper/KeyId" => unary(request, blocking(wrappers, |w, r| w.key_id(&r))).await,
        "/pb.Wrapper/Encrypt" => unary(request, blocking(wrappers, |w, r| w.encrypt(&r))).await,
        "/pb.Wrapper/Decrypt" => unary(request, blocking(wrappers, |w, r| w.decrypt(&r))).await,
        "/pb.Wrapper/Init" | "/pb.Wrapper/Finalize" => {
            let lifecycle = blocking(wrappers, |w, r: LifecycleRequest| {
                w.check_instance(&r.wrapper_id).map(|()| Empty {})
            });
            unary(request, lifecycle).await
        }
        "/plugin.GRPCController/Shutdown" => unary(request, shutdown(state)).await,
        "/grpc.health.v1.Health/Check" => unary(request, health).await,
        _ => Status::unimplemented(format!(
            "{} is not served by the awskms plugin",
            request.uri().path()
        ))
        .into_http(),
    }
}

/// `GRPCController/Shutdown`: answers, then the server stops (see [`serve`]).
fn shutdown(state: Arc<State>) -> impl FnMut(Empty) -> BoxFuture<Result<Empty, Status>> {
    move |_| {
        state.stop.send_replace(true);
        Box::pin(async { Ok(Empty {}) })
    }
}

/// `grpc.health.v1.Health/Check`: always SERVING.
fn health(_: HealthCheckRequest) -> BoxFuture<Result<HealthCheckResponse, Status>> {
    Box::pin(async { Ok(HealthCheckResponse { status: SERVING }) })
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A handler running `f` on a blocking thread (the seal's HTTP client blocks).
fn blocking<Req, Resp>(
    wrappers: Arc<Wrappers>,
    f: fn(&Wrappers, Req) -> Result<Resp, Status>,
) -> impl FnMut(Req) -> BoxFuture<Result<Resp, Status>>
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    move |request| {
        let wrappers = wrappers.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&wrappers, request))
                .await
                .unwrap_or_else(|e| Err(Status::internal(format!("the call failed: {e}"))))
        })
    }
}

/// Decodes the request, runs `handler`, encodes the answer or the status.
async fn unary<Req, Resp, F>(request: http::Request<Incoming>, handler: F) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: FnMut(Req) -> BoxFuture<Result<Resp, Status>>,
{
    let mut grpc = Grpc::new(ProstCodec::<Resp, Req>::default());
    grpc.unary(Handler(handler), request).await
}

struct Handler<F>(F);

impl<Req, Resp, F> UnaryService<Req> for Handler<F>
where
    F: FnMut(Req) -> BoxFuture<Result<Resp, Status>>,
    Resp: Send + 'static,
{
    type Response = Resp;
    type Future = BoxFuture<Result<tonic::Response<Resp>, Status>>;

    fn call(&mut self, request: tonic::Request<Req>) -> Self::Future {
        let future = (self.0)(request.into_inner());
        Box::pin(async move { future.await.map(tonic::Response::new) })
    }
}
