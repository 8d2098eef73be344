//! The `tokenbridge` command: `serve`, `check`, `demo`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use tokenbridge::app::App;
use tokenbridge::config::Config;
use tokenbridge::demo::{self, DemoOptions};
use tokenbridge::keyring::KeyRing;
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
            telemetry::init(match log_format {
                Format::Text => LogFormat::Text,
                Format::Json => LogFormat::Json,
            });
            runtime.block_on(serve(config))
        }
        Command::Check { config } => check(&config),
        Command::Demo { port, no_serve } => {
            telemetry::init_quiet();
            runtime.block_on(run_demo(port, !no_serve))
        }
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
    let config = Config::load(&config_path).map_err(|err| err.to_string())?;
    let app = App::build(config).await.map_err(|err| err.to_string())?;
    // actix-web handles SIGINT and SIGTERM: it stops accepting and drains in-flight requests.
    app.run_until_stopped()
        .await
        .map_err(|err| format!("the server stopped with an error: {err}"))?;
    tracing::info!("tokenbridge stopped");
    Ok(())
}

fn check(config_path: &Path) -> Result<(), String> {
    let config = Config::load(config_path).map_err(|err| err.to_string())?;
    let notes = KeyRing::check(&config.keys, &config.signing_algs_in_use())
        .map_err(|err| err.to_string())?;
    let mut report = format!(
        "{}: the configuration is valid ({} upstream{}, {} client{})\n",
        config_path.display(),
        config.upstreams.len(),
        if config.upstreams.len() == 1 { "" } else { "s" },
        config.clients.len(),
        if config.clients.len() == 1 { "" } else { "s" },
    );
    for note in notes {
        report.push_str(&format!("  note: {note}\n"));
    }
    eprint!("{report}");
    Ok(())
}

async fn run_demo(port: u16, serve: bool) -> Result<(), String> {
    let mut stdout = std::io::stdout();
    demo::run(DemoOptions { port, serve }, &mut stdout)
        .await
        .map_err(|err| err.to_string())
}
