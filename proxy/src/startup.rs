//! Building and running the server: testable (port 0, a handle on the port) and with a
//! graceful shutdown on SIGINT/SIGTERM.

use std::future::Future;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{LogFormat, Settings};
use crate::outbox::Deliverer;
use crate::pipeline::Pipeline;
use crate::providers::graph::GraphClient;
use crate::providers::meta::webhook::MetaWebhooks;
use crate::providers::WebhookKeys;
use crate::routes::partner::PartnerKeys;
use crate::routes::{router, App, AppState};
use crate::sessions::Sessions;
use crate::store::{Store, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The store could not be opened or migrated.
    #[error("DATABASE_URL: {0}")]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("ADDR: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// A configured encryption key opens none of the stored secrets.
    #[error("{var}: {message}")]
    Key {
        /// `TOKEN_ENCRYPTION_KEY` or `TOKEN_ENCRYPTION_OLD_KEYS`.
        var: &'static str,
        /// Which key and why (never the key).
        message: String,
    },
}

/// A built, bound, not yet running server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    upstream_label: String,
    stopping: tokio::sync::watch::Sender<bool>,
    header_read_timeout: Duration,
    /// Resumes onboardings whose lease expired, every lease period, until the server stops.
    sweeper: AbortOnDrop,
    /// Reads connected numbers' health as they fall due (none when `health_every` is off).
    health: Option<AbortOnDrop>,
    /// The health reader's passes so far (0 while it is off): a test waits for one.
    pub health_passes: tokio::sync::watch::Receiver<u64>,
}

/// A background task that ends with its owner.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long a shutdown waits for requests in flight (a register call can take a while)
/// before it stops anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Application {
    /// Opens the store, builds the upstream and the router, binds the address (port 0
    /// picks a free port), resumes unfinished onboardings that no other instance holds in
    /// the background, and starts sweeping for those whose lease expires later.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// [`Application::build`] with the clock the whole proxy reads: the store's timestamps,
    /// the register budget, `Retry-After`, webhook signature ages (tests stop it to try the
    /// signature tolerance's edges).
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> Result<Self, StartupError> {
        let store = Store::connect(&settings.database_url, clock.clone())
            .await?
            .delivering_events(settings.partner_webhook.is_some());
        let metrics = crate::metrics::Metrics::new();
        let mut tuning = settings.upstream.clone();
        if settings.is_sandbox() {
            // The fakes connect after a few seconds: poll often enough to show it.
            tuning.poll_interval = tuning.poll_interval.min(Duration::from_secs(1));
        }
        let sessions = Sessions::new(
            store.clone(),
            clock.clone(),
            settings.sessions_required(),
            settings.public_url.clone(),
        );
        let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
        let deliverer = match &settings.partner_webhook {
            Some(webhook) => {
                let deliverer = Arc::new(
                    Deliverer::new(
                        store.clone(),
                        clock.clone(),
                        webhook,
                        settings.outbox.clone(),
                    )
                    .map_err(StartupError::Client)?
                    .in_sandbox(settings.is_sandbox()),
                );
                tokio::spawn(deliverer.clone().run(stopping_rx.clone()));
                Some(deliverer)
            }
            None => {
                tracing::info!(
                    "PARTNER_WEBHOOK_URL is not set: partner events are listed by the partner API, not delivered"
                );
                None
            }
        };
        if settings.partner_api_keys.is_empty() {
            tracing::info!("PARTNER_API_KEYS is not set: the partner API answers 503");
        }
        if settings.allow_anonymous_onboardings && !settings.is_sandbox() {
            tracing::warn!(
                "ALLOW_ANONYMOUS_ONBOARDINGS=true: onboardings without a session are accepted, \
                 their customer_ref comes from the browser (customer_ref_verified: false)"
            );
        }
        let provider = crate::providers::from_settings(&settings, &tuning, &clock, &metrics)
            .map_err(StartupError::Client)?;
        let pipeline = Pipeline::new(
            store,
            provider,
            tuning,
            clock.clone(),
            settings.limits.retry_cooldown,
        );
        let strict_keys = settings
            .provider
            .meta
            .as_ref()
            .is_some_and(|m| !m.ephemeral_key);
        pipeline
            .reseal_secrets(strict_keys)
            .await
            .map_err(|e| match e {
                crate::pipeline::ResealError::Store(e) => StartupError::Store(e),
                crate::pipeline::ResealError::Key { var, message } => {
                    StartupError::Key { var, message }
                }
            })?;
        let verifier = match &settings.fb_app_secret {
            None if settings.allow_unverified_onboardings => {
                tracing::warn!(
                    "ALLOW_UNVERIFIED_ONBOARDINGS=true and no FB_APP_SECRET: WABA OWNERSHIP IS \
                     NOT VERIFIED, anyone who can reach this proxy can make it bind any WABA"
                );
                None
            }
            None => {
                tracing::info!(
                    "FB_APP_SECRET is not set: sandbox ownership is not verified \
                     (/api/config says verification: false)"
                );
                None
            }
            Some(secret) => Some(Arc::new(
                GraphClient::new(
                    settings.graph_base_url.clone(),
                    settings.graph_version.clone(),
                    settings.fb_app_id.clone(),
                    secret.clone(),
                    &settings.upstream,
                )
                .map_err(StartupError::Client)?
                .with_metrics(metrics.clone()),
            )),
        };

        let dist_dir = if settings.dist_dir.is_dir() {
            Some(settings.dist_dir.clone())
        } else {
            tracing::warn!(
                dist_dir = %settings.dist_dir.display(),
                "DIST_DIR does not exist: `/` answers 404 until the bundle is built"
            );
            None
        };
        let redirect = match settings.redirect_flow {
            false => {
                tracing::info!(
                    "REDIRECT_FLOW is off: no full-page sign-in when the popup cannot open"
                );
                None
            }
            true => {
                let key = match &settings.fb_app_secret {
                    Some(secret) => crate::redirect::StateKey::from_app_secret(secret),
                    // Sandbox mode only (configuration refuses live without the secret).
                    None => crate::redirect::StateKey::random().map_err(StartupError::Client)?,
                };
                Some(crate::redirect::RedirectFlow::new(
                    key,
                    &settings.public_url,
                    &settings.graph_version,
                    settings.is_sandbox(),
                ))
            }
        };
        let public_config = wire::PublicConfig {
            app_id: settings.fb_app_id.clone(),
            config_id: settings.fb_config_id.clone(),
            solution_id: settings.fb_solution_id.clone(),
            graph_version: settings.graph_version.clone(),
            es_version: settings.es_version,
            sdk_url: settings.sdk_url.clone(),
            sandbox: settings.is_sandbox(),
            // Whether the browser must send the code: for the ownership check, and always
            // with Meta's Cloud API, whose business token comes from it (sandbox included).
            verification: verifier.is_some()
                || settings.provider.provider == crate::config::WhatsappProvider::Meta,
            sessions_required: settings.sessions_required(),
            redirect_flow: redirect.is_some(),
            partner_name: settings.partner_name.clone(),
        };
        let console =
            crate::routes::console::Console::new(&settings.public_url, dist_dir.as_deref());
        let state = AppState::from(App {
            pipeline: pipeline.clone(),
            public_config,
            dist_dir,
            sandbox: settings.is_sandbox(),
            provider: settings.provider.provider,
            allowed_origins: settings.allowed_origins.clone(),
            frame_ancestors: settings.frame_ancestors.clone(),
            stopping: stopping_rx,
            webhooks: WebhookKeys {
                ycloud_secret: settings.webhook_secret.clone(),
                meta: MetaWebhooks {
                    app_secret: settings.fb_app_secret.clone(),
                    verify_token: settings.provider.meta_webhook_verify_token.clone(),
                },
            },
            clock: clock.clone(),
            verifier,
            sessions,
            partner_keys: PartnerKeys::new(&settings.partner_api_keys),
            limits: crate::routes::limits::Limits::new(settings.limits.clone()),
            metrics,
            metrics_token: settings.metrics_token.clone(),
            redirect,
            console,
            setup: crate::config::setup_report(&settings),
            deliverer,
        });

        let listener =
            TcpListener::bind(settings.addr)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.addr,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.addr,
            source,
        })?;

        prune_webhook_events(
            pipeline.store().clone(),
            clock.clone(),
            settings.limits.webhook_event_retention,
            stopping.subscribe(),
        )
        .await?;
        let resumed = pipeline.resume_unfinished().await?;
        if resumed > 0 {
            tracing::info!(resumed, "resuming unfinished onboardings");
        }
        let (passes, health_passes) = tokio::sync::watch::channel(0);
        Ok(Self {
            listener,
            addr,
            router: router(state),
            upstream_label: settings.ycloud.to_string(),
            stopping,
            sweeper: AbortOnDrop(pipeline.spawn_sweeper()),
            health: settings
                .upstream
                .health_every
                .map(|_| AbortOnDrop(pipeline.spawn_health_poller(passes))),
            health_passes,
            header_read_timeout: settings.limits.header_read_timeout,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The start-up line: `listening on http://ADDR (sandbox mode|YCloud at BASE)`.
    pub fn banner(&self) -> String {
        format!(
            "listening on http://{} ({})",
            self.addr, self.upstream_label
        )
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes (tests pass their own).
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stopping = self.stopping;
        let _sweeper = self.sweeper;
        let _health = self.health;
        let mut stopped = stopping.subscribe();
        let graceful = async move {
            signal.await;
            // Ends the open event streams, which would otherwise hold the shutdown.
            stopping.send_replace(true);
        };
        let server = serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            graceful,
        );
        let deadline = async move {
            if stopped.wait_for(|s| *s).await.is_err() {
                return std::future::pending().await;
            }
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            result = server => result,
            () = deadline => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still open after the grace period; stopping anyway");
                Ok(())
            }
        }
    }
}

/// Deletes the webhook events received more than `retention` ago (by `clock`): once now, so
/// that start-up fails on a broken store, then every hour until the server stops. They are
/// kept only to recognise YCloud's retries, which stop within days.
async fn prune_webhook_events(
    store: Store,
    clock: Clock,
    retention: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<(), StoreError> {
    let retention = time::Duration::try_from(retention).unwrap_or(time::Duration::MAX);
    let prune = move || {
        let (store, before) = (store.clone(), clock.now().checked_sub(retention));
        async move {
            match before {
                Some(before) => store.prune_webhook_events(before).await,
                None => Ok(0),
            }
        }
    };
    let pruned = prune().await?;
    if pruned > 0 {
        tracing::info!(pruned, "old webhook events deleted");
    }
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(60 * 60));
        hourly.tick().await;
        loop {
            tokio::select! {
                _ = hourly.tick() => match prune().await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "old webhook events deleted"),
                    Err(e) => tracing::error!(error = %e, "deleting old webhook events failed"),
                },
                // The server stopped (or the application was dropped unstarted).
                changed = stopped.changed() => if changed.is_err() || *stopped.borrow() {
                    return;
                },
            }
        }
    });
    Ok(())
}

/// Serves `router` on `listener` until `signal`, then lets the requests in flight finish:
/// `axum::serve` with a header-read timeout, which it cannot set. A client that has not sent
/// a whole request head within `header_read_timeout` (on a new connection, or the next
/// request on a kept-alive one) is disconnected, so slow or idle clients cannot hold sockets.
/// Each request carries the peer's address as `ConnectInfo<SocketAddr>` (per-client limits).
async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    use futures_util::FutureExt as _;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        // A combinator, not an `async` block awaiting it: that block would hold the
        // connection twice (captured, and pinned while awaited), ~0.8 KB more per connection.
        tokio::spawn(connection.map(move |ended| {
            if let Err(e) = ended {
                // A client gone, or too slow with its request head: nothing to act on.
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        }));
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

/// As `axum::serve`: a failed accept of one connection is no reason to stop; running out of
/// file descriptors is worth a line and a pause before the next try.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// Logs to stderr, filtered by `RUST_LOG` (default: info, quieter for sqlx and hyper), as
/// `format` says: readable lines, coloured only when stderr is a terminal (a file or a pipe
/// gets no escape codes), or one JSON object per line.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,hyper=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => logs.with_ansi(false).json().try_init(),
    };
}
