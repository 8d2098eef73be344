//! The `tokenbridge` command: `serve`, `check`, `explain`, `keys`, `demo`, `health`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use tokenbridge::app::App;
use tokenbridge::clock::SystemClock;
use tokenbridge::config::Config;
use tokenbridge::demo::{self, DemoOptions};
use tokenbridge::explain::{ExplainRequest, explain};
use tokenbridge::keyring::commands::{GENERATED_ALGS, generate_key, key_status};
use tokenbridge::keyring::{KeyRing, check_front_state_key};
use tokenbridge::oauth::TokenType;
use tokenbridge::outbound;
use tokenbridge::policy::rules::Rule;
use tokenbridge::telemetry::{self, LogFormat};

/// Lets legacy OIDC relying parties accept tokens from modern identity providers: decrypts JWE
/// tokens, verifies them against the IdP, chooses exactly one audience and re-signs them.
#[derive(Parser)]
#[command(name = "tokenbridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// The TOML configuration file.
        #[arg(long, env = "TOKENBRIDGE_CONFIG")]
        config: PathBuf,
        /// Log lines as human-readable text or as JSON objects.
        #[arg(long, value_enum, default_value_t = Format::Text, env = "TOKENBRIDGE_LOG_FORMAT")]
        log_format: Format,
    },
    /// Check the configuration and the key files, report every problem, and exit.
    Check {
        /// The TOML configuration file.
        #[arg(long, env = "TOKENBRIDGE_CONFIG")]
        config: PathBuf,
        /// Also print the claim rules each upstream and client applies, presets expanded.
        #[arg(long)]
        explain: bool,
    },
    /// Run the exchange pipeline on one token, without signing, and report every check.
    Explain {
        /// The TOML configuration file.
        #[arg(long, env = "TOKENBRIDGE_CONFIG")]
        config: PathBuf,
        /// The client whose rules apply.
        #[arg(long)]
        client: String,
        /// A file holding the subject token, or - for standard input.
        #[arg(long)]
        token: PathBuf,
        /// The upstream's JWKS as a file, instead of fetching it (works offline).
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// The `audience` the request would name.
        #[arg(long)]
        audience: Option<String>,
        /// The subject token's type.
        #[arg(long, value_enum, default_value_t = SubjectType::IdToken)]
        token_type: SubjectType,
    },
    /// Make a key, or show where each configured key stands in its schedule.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Reproduce the two failures tokenbridge fixes, on loopback, with nothing to configure.
    Demo {
        /// tokenbridge's port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Exit after the walkthrough instead of serving until Ctrl-C.
        #[arg(long)]
        no_serve: bool,
    },
    /// Probe a running tokenbridge's readiness (for container health checks: no curl needed).
    /// Exits 0 if the URL answers 2xx, 1 on any other status, a timeout or no answer.
    Health {
        /// The URL to GET: tokenbridge's `/readyz` (or `/healthz` for liveness only).
        #[arg(
            long,
            env = "TOKENBRIDGE_HEALTH_URL",
            default_value = "http://127.0.0.1:8080/readyz"
        )]
        url: String,
        /// The longest the whole probe may take, connecting and reading included.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new private key (PKCS#8 PEM, mode 0600; never overwrites) and print its `kid`.
    Generate {
        /// What the key is for: a signing algorithm, or RSA-OAEP-256 / ECDH-ES for decryption.
        #[arg(long, value_parser = GENERATED_ALGS)]
        alg: String,
        /// The file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print each key's kid, alg, use, state and times, and the schedule's warnings; exit 1 if
    /// the start would refuse the schedule.
    Status {
        /// The TOML configuration file.
        #[arg(long, env = "TOKENBRIDGE_CONFIG")]
        config: PathBuf,
    },
}

/// The most of a health answer that is read (and echoed); `/readyz` is a few hundred bytes.
const MAX_HEALTH_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, ValueEnum)]
enum SubjectType {
    IdToken,
    AccessToken,
    Jwt,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tokenbridge: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Serve { config, log_format } => {
            match telemetry::init(match log_format {
                Format::Text => LogFormat::Text,
                Format::Json => LogFormat::Json,
            }) {
                Ok(traces) => {
                    let outcome = runtime.block_on(serve(config));
                    // After the server drained: the spans of its last requests are buffered.
                    traces.shutdown();
                    outcome
                }
                Err(message) => Err(message),
            }
        }
        Command::Check { config, explain } => check(&config, explain),
        Command::Explain {
            config,
            client,
            token,
            jwks,
            audience,
            token_type,
        } => {
            telemetry::init_quiet();
            let token_type = match token_type {
                SubjectType::IdToken => TokenType::IdToken,
                SubjectType::AccessToken => TokenType::AccessToken,
                SubjectType::Jwt => TokenType::Jwt,
            };
            runtime.block_on(run_explain(
                &config,
                client,
                &token,
                jwks.as_deref(),
                audience,
                token_type,
            ))
        }
        Command::Keys { command } => keys(command),
        Command::Demo { port, no_serve } => {
            telemetry::init_quiet();
            runtime.block_on(run_demo(port, !no_serve))
        }
        Command::Health { url, timeout } => runtime.block_on(probe_health(&url, timeout)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokenbridge: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config_path: PathBuf) -> Result<(), String> {
    let app = App::build(&config_path)
        .await
        .map_err(|err| err.to_string())?;
    // actix-web handles SIGINT and SIGTERM: it stops accepting and drains in-flight requests.
    // SIGHUP reloads (the app's reloader took it over).
    app.run_until_stopped()
        .await
        .map_err(|err| format!("the server stopped with an error: {err}"))?;
    tracing::info!("tokenbridge stopped");
    Ok(())
}

fn check(config_path: &Path, explain: bool) -> Result<(), String> {
    let config = Config::load(config_path).map_err(|err| err.to_string())?;
    let now = SystemClock::shared().now();
    let keys = KeyRing::check(&config, now).map_err(|err| err.to_string())?;
    let mut notes = keys.notes;
    notes.extend(check_front_state_key(&config).map_err(|err| err.to_string())?);
    let mut report = format!(
        "{}: the configuration is valid ({} upstream{}, {} client{})\n",
        config_path.display(),
        config.upstreams.len(),
        if config.upstreams.len() == 1 { "" } else { "s" },
        config.clients.len(),
        if config.clients.len() == 1 { "" } else { "s" },
    );
    if config.clients.is_empty() {
        report.push_str("  note: no [[client]] is configured, so no one can exchange tokens\n");
    }
    for note in notes {
        report.push_str(&format!("  note: {note}\n"));
    }
    for warning in config.warnings.iter().chain(&keys.warnings) {
        report.push_str(&format!("  warning: {warning}\n"));
    }
    eprint!("{report}");
    if explain {
        let mut rules = String::new();
        for upstream in &config.upstreams {
            describe_rules(
                &mut rules,
                &format!("upstream {:?}", upstream.name),
                &upstream.rules,
            );
        }
        for client in &config.clients {
            describe_rules(
                &mut rules,
                &format!("client {:?}", client.id),
                &client.rules,
            );
        }
        std::io::Write::write_all(&mut std::io::stdout(), rules.as_bytes())
            .map_err(|err| format!("cannot write to standard output: {err}"))?;
    }
    Ok(())
}

fn keys(command: KeysCommand) -> Result<(), String> {
    let stdout = |text: &str| {
        std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
            .map_err(|err| format!("cannot write to standard output: {err}"))
    };
    match command {
        KeysCommand::Generate { alg, out } => {
            let key = generate_key(&alg, &out)?;
            eprintln!(
                "wrote a new {alg} key to {} (mode 0600); schedule it with:\n\n{}",
                out.display(),
                key.entry
            );
            stdout(&format!("{}\n", key.kid))
        }
        KeysCommand::Status { config } => {
            let config = Config::load(&config).map_err(|err| err.to_string())?;
            let now = SystemClock::shared().now();
            let report = key_status(&config, now).map_err(|err| err.to_string())?;
            stdout(&report.table)?;
            for note in &report.notes {
                eprintln!("note: {note}");
            }
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            match report.refusal {
                Some(problems) => Err(format!("the start would refuse this schedule: {problems}")),
                None => Ok(()),
            }
        }
    }
}

fn describe_rules(out: &mut String, owner: &str, rules: &[Rule]) {
    if rules.is_empty() {
        out.push_str(&format!(
            "{owner}: no claim rules; claims pass as received\n"
        ));
        return;
    }
    out.push_str(&format!(
        "{owner}: {} claim rule(s), applied in this order\n",
        rules.len()
    ));
    for rule in rules {
        out.push_str(&format!("  {rule}    # {}\n", rule.origin));
    }
}

async fn run_explain(
    config_path: &Path,
    client: String,
    token_path: &Path,
    jwks_path: Option<&Path>,
    audience: Option<String>,
    token_type: TokenType,
) -> Result<(), String> {
    let config = Config::load(config_path).map_err(|err| err.to_string())?;
    let token = if token_path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(token_path)
    }
    .map_err(|err| format!("cannot read the token from {}: {err}", token_path.display()))?;
    let jwks = match jwks_path {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|err| format!("{} is not a JWKS: {err}", path.display()))?,
            )
        }
    };
    let request = ExplainRequest {
        client,
        token,
        token_type,
        audience,
        jwks,
    };
    let mut stdout = std::io::stdout();
    let is_accepted = explain(config, request, &mut stdout)
        .await
        .map_err(|err| err.to_string())?;
    if is_accepted {
        Ok(())
    } else {
        Err("the token would be refused".into())
    }
}

async fn run_demo(port: u16, serve: bool) -> Result<(), String> {
    let mut stdout = std::io::stdout();
    demo::run(DemoOptions { port, serve }, &mut stdout)
        .await
        .map_err(|err| err.to_string())
}

/// One GET, redirects not followed, bounded by `timeout` from connect to the end of the body. A 2xx
/// answer's body goes to stdout (Docker keeps it in the health log); anything else is an error.
async fn probe_health(url: &str, timeout: Duration) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("{url} is not a URL: {err}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url}: only http and https URLs can be probed"));
    }
    let client = outbound::client().map_err(|err| err.to_string())?;
    let response = client
        .get(parsed)
        .timeout(timeout)
        .send()
        .await
        .map_err(|err| outbound::transport_error(url, &err).to_string())?;
    let status = response.status();
    let body = outbound::read_body(response, MAX_HEALTH_BODY_BYTES, url)
        .await
        .map_err(|err| err.to_string())?;
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        return Err(format!(
            "{url} answered HTTP {}: {}",
            status.as_u16(),
            text.trim()
        ));
    }
    std::io::Write::write_all(
        &mut std::io::stdout(),
        format!("{}\n", text.trim()).as_bytes(),
    )
    .map_err(|err| format!("cannot write to standard output: {err}"))
}
