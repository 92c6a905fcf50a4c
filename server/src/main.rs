//! `mfa-devices-server`: the PingOne MFA devices API as a runnable service.
//!
//! ```text
//! mfa-devices-server --listen 127.0.0.1:8080 --database sqlite://mfa-devices.db \
//!     --token <environmentID>=<token> [--token …] --base-url http://127.0.0.1:8080
//! ```
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use mfa_devices::device::EnvironmentId;

/// The PingOne MFA devices API (devices, device authentication policies, device
/// authentications) over SQLite or PostgreSQL.
#[derive(Parser, Debug)]
#[command(name = "mfa-devices-server", version)]
struct Cli {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// `sqlite://PATH` (the default) or `postgres://user@host:port/db`.
    #[arg(long, default_value = "sqlite://mfa-devices.db")]
    database: String,
    /// `<environmentID>=<token>`: a bearer token and the environment it grants (repeatable).
    /// Without any, a fresh environment and token are made and printed.
    #[arg(long = "token", value_name = "ENV=TOKEN")]
    tokens: Vec<String>,
    /// The public base URL for links in response bodies (default: `http://<listen>`).
    #[arg(long)]
    base_url: Option<String>,
    /// The WebAuthn relying party id of FIDO2 devices created without `rp` (default: the host
    /// of the base URL).
    #[arg(long)]
    rp_id: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn parse_tokens(raw: &[String]) -> Result<HashMap<String, EnvironmentId>, String> {
    let mut tokens = HashMap::new();
    for entry in raw {
        let (env, token) = entry
            .split_once('=')
            .ok_or_else(|| format!("--token {entry:?}: expected <environmentID>=<token>"))?;
        let env: EnvironmentId = env
            .parse()
            .map_err(|_| format!("--token {entry:?}: the environment id must be a UUID"))?;
        if token.is_empty() {
            return Err(format!("--token {entry:?}: the token is empty"));
        }
        if tokens.insert(token.to_owned(), env).is_some() {
            return Err(format!("--token {entry:?}: the token is given twice"));
        }
    }
    Ok(tokens)
}

/// SIGTERM or SIGINT (Ctrl-C). The handlers are registered when this is called, not when the
/// future is first polled: called first thing in `main`, a signal that arrives while the
/// database is opened or the schema applied is not left to the default action (killed, exit
/// 143, no log line) but stops the server cleanly.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(
            signal = name,
            "shutting down: finishing the requests in flight"
        );
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    match cli.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
    }
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(e) => {
            eprintln!("mfa-devices-server: installing the signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut tokens = match parse_tokens(&cli.tokens) {
        Ok(tokens) => tokens,
        Err(e) => {
            eprintln!("mfa-devices-server: {e}");
            return ExitCode::from(2);
        }
    };
    if tokens.is_empty() {
        let env = EnvironmentId::from_uuid(uuid::Uuid::new_v4());
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        println!("environment: {env}");
        println!("token: {token}");
        tokens.insert(token, env);
    }
    let store = match mfa_devices_server::open(&cli.database).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("mfa-devices-server: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(cli.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("mfa-devices-server: listening on {}: {e}", cli.listen);
            return ExitCode::FAILURE;
        }
    };
    let local = listener
        .local_addr()
        .map_or_else(|_| cli.listen.to_string(), |a| a.to_string());
    let base_url = cli.base_url.unwrap_or_else(|| format!("http://{local}"));
    tracing::info!(listen = %local, database = store.kind(), environments = tokens.len(), "serving");
    let mut state = mfa_devices_server::AppState::new(store, tokens, &base_url);
    if let Some(rp_id) = cli.rp_id {
        state = state.with_rp_id(rp_id);
    }
    match mfa_devices_server::serve_state(listener, state, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_and_refuse_what_is_wrong() {
        let env = "6a1e3f0c-77b5-4b8e-9d1c-2f4a5b6c7d8e";
        let tokens = parse_tokens(&[format!("{env}=secret"), format!("{env}=other")]).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens["secret"].to_string(), env);
        assert!(
            parse_tokens(&["no-equals".into()])
                .unwrap_err()
                .contains("<environmentID>=<token>")
        );
        assert!(
            parse_tokens(&["not-a-uuid=x".into()])
                .unwrap_err()
                .contains("UUID")
        );
        assert!(
            parse_tokens(&[format!("{env}=")])
                .unwrap_err()
                .contains("empty")
        );
        let twice = parse_tokens(&[format!("{env}=t"), format!("{env}=t")]).unwrap_err();
        assert!(twice.contains("twice"));
    }

    #[test]
    fn the_command_line_takes_exactly_the_documented_flags() {
        let cli = Cli::try_parse_from([
            "mfa-devices-server",
            "--listen",
            "127.0.0.1:9000",
            "--database",
            "postgres://u@h:5432/db",
            "--token",
            "a=b",
            "--token",
            "c=d",
            "--base-url",
            "http://x",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(
            (cli.tokens.len(), cli.base_url.as_deref()),
            (2, Some("http://x"))
        );
        assert!(matches!(cli.log_format, LogFormat::Json));
        let rp = Cli::try_parse_from(["mfa-devices-server", "--rp-id", "example.com"]).unwrap();
        assert_eq!(rp.rp_id.as_deref(), Some("example.com"));
        for (base, host) in [
            ("http://127.0.0.1:8080", "127.0.0.1"),
            ("https://Auth.Example.com/v1?x=1", "auth.example.com"),
            ("https://user@login.example.com:8443", "login.example.com"),
            ("http://[::1]:8080/", "[::1]"),
            ("example.com", "example.com"),
        ] {
            assert_eq!(mfa_devices_server::http::rp_id_of(base), host, "{base}");
        }
        let defaults = Cli::try_parse_from(["mfa-devices-server"]).unwrap();
        assert!(defaults.listen.ip().is_loopback(), "loopback by default");
        assert_eq!(defaults.database, "sqlite://mfa-devices.db");
    }
}
