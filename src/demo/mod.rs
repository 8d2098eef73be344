//! `tokenbridge demo`: the two failures that started this project, reproduced and fixed on
//! loopback with nothing to configure. Two demo IdPs (Authentik-like and Zitadel-like) and the
//! real service start in-process; the demo fetches tokenbridge's published keys, mints the IdPs'
//! tokens, shows how the legacy relying parties' checks refuse them, exchanges them over HTTP, and
//! shows the same checks accepting the results.

mod config;
pub mod idp;
mod idp_tokens;
pub mod legacy;
pub mod mint;
mod print;

use std::io::Write;
use std::net::TcpListener;

use serde_json::Value;

use crate::app::{App, StartError};
use crate::clock::SystemClock;
use crate::jose::alg::JwsAlg;
use crate::jose::compact::header_text;
use crate::oauth::{GRANT_TYPE_TOKEN_EXCHANGE, TokenType};
use config::{demo_config, random_secret};
use idp::DemoIdp;
use idp_tokens::{
    BOOKSTACK, MIROTALK, authentik_id_token, authentik_signed_id_token, zitadel_id_token,
};
use legacy::Expectations;
use mint::{IdpKey, MintError, encrypt_like_authentik};
use print::{claims_of, print_verdict};

/// `tokenbridge demo`'s flags.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// tokenbridge's port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Keep serving until Ctrl-C after the walkthrough.
    pub serve: bool,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// tokenbridge's port is taken.
    #[error("cannot listen on 127.0.0.1:{port}: {source} (choose another with --port)")]
    Listen {
        /// The port asked for.
        port: u16,
        /// What the OS said.
        source: std::io::Error,
    },
    /// tokenbridge itself did not start.
    #[error("{0}")]
    Start(#[from] StartError),
    /// The demo's own config was refused: a bug in the demo.
    #[error("the demo configuration was refused: {0}")]
    Config(#[from] crate::config::ConfigErrors),
    /// Writing the walkthrough or its temporary keys failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A demo IdP could not mint its token.
    #[error("minting a demo token failed: {0}")]
    Mint(#[from] MintError),
    /// An exchange over loopback failed to complete.
    #[error("talking to tokenbridge failed: {0}")]
    Http(#[from] reqwest::Error),
    /// A verdict was not the one the walkthrough shows: the demo would mislead, so it stops.
    #[error("the demo did not go as expected: {0}")]
    Unexpected(String),
}

struct Demo {
    authentik: DemoIdp,
    zitadel: DemoIdp,
    authentik_key: std::sync::Arc<IdpKey>,
    zitadel_key: std::sync::Arc<IdpKey>,
    base: String,
    mirotalk_secret: String,
    bookstack_secret: String,
    http: reqwest::Client,
}

/// Runs the walkthrough, writing it to `out`; then serves until Ctrl-C when `options.serve`.
pub async fn run(options: DemoOptions, out: &mut impl Write) -> Result<(), DemoError> {
    let keys_dir = tempfile::tempdir()?;
    let authentik_key = std::sync::Arc::new(IdpKey::generate(JwsAlg::RS256, "authentik-demo")?);
    let zitadel_key = std::sync::Arc::new(IdpKey::generate(JwsAlg::RS256, "zitadel-demo")?);
    let authentik = DemoIdp::start(&[&authentik_key])?;
    let zitadel = DemoIdp::start(&[&zitadel_key])?;

    let listener =
        TcpListener::bind(("127.0.0.1", options.port)).map_err(|source| DemoError::Listen {
            port: options.port,
            source,
        })?;
    let port = listener.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let mirotalk_secret = random_secret()?;
    let bookstack_secret = random_secret()?;
    let config_text = demo_config(
        &base,
        keys_dir.path(),
        authentik.issuer(),
        zitadel.issuer(),
        &mirotalk_secret,
        &bookstack_secret,
    );
    let config = crate::config::parse(&config_text, keys_dir.path())?;
    let app = App::build_on(config, SystemClock::shared(), listener).await?;
    let server = app.handle();
    let serving = tokio::spawn(app.run_until_stopped());

    let demo = Demo {
        authentik,
        zitadel,
        authentik_key,
        zitadel_key,
        base,
        mirotalk_secret,
        bookstack_secret,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?,
    };
    let walked = match demo.encryption_key().await {
        Ok(recipient) => demo.walk_through(&recipient, out).await.map(|()| recipient),
        Err(err) => Err(err),
    };
    if let (Ok(recipient), true) = (&walked, options.serve) {
        demo.add_minters(recipient);
        demo.print_try_it(out)?;
        out.flush()?;
        // actix-web stops on SIGINT/SIGTERM by itself; this waits for that.
        let _ = serving.await;
    } else {
        server.stop(true).await;
        let _ = serving.await;
    }
    drop(keys_dir);
    walked.map(|_| ())
}

impl Demo {
    /// The key an IdP encrypts ID tokens to, fetched as Keycloak would.
    async fn encryption_key(&self) -> Result<Value, DemoError> {
        let encryption_keys: Value = self.get_json("/.well-known/encryption-keys.json").await?;
        encryption_keys["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|key| key["kty"] == "RSA"))
            .cloned()
            .ok_or_else(|| DemoError::Unexpected("no RSA encryption key published".into()))
    }

    async fn walk_through(&self, recipient: &Value, out: &mut impl Write) -> Result<(), DemoError> {
        let now = SystemClock::shared().now();
        let jwks: Value = self.get_json("/.well-known/jwks.json").await?;

        writeln!(
            out,
            "tokenbridge demo: two identity-provider tokens that legacy relying parties refuse,"
        )?;
        writeln!(
            out,
            "and the tokens tokenbridge issues for them. tokenbridge listens on {}.",
            self.base
        )?;
        writeln!(out)?;

        let signed = authentik_signed_id_token(&self.authentik_key, self.authentik.issuer(), now)?;
        let authentik_token = encrypt_like_authentik(&signed, recipient)?;
        writeln!(
            out,
            "1. Authentik sends an encrypted ID token (JWE) to MiroTalk"
        )?;
        writeln!(
            out,
            "   JWE header: {}",
            header_text(&authentik_token).unwrap_or_default()
        )?;
        writeln!(
            out,
            "   claims inside, as the IdP signed them: {}",
            claims_of(&signed)
        )?;
        let inside = legacy::express_openid_connect(
            &authentik_token,
            &Expectations {
                issuer: self.authentik.issuer(),
                client_id: MIROTALK,
                jwks: &self.authentik.jwks(),
                now,
            },
        );
        print_verdict(
            out,
            "express-openid-connect (MiroTalk) on the IdP's token",
            &inside,
        )?;
        let issued = self
            .exchange(MIROTALK, &self.mirotalk_secret, &authentik_token)
            .await?;
        writeln!(
            out,
            "   POST {}/exchange as client \"{MIROTALK}\"",
            self.base
        )?;
        writeln!(out, "   claims issued: {}", claims_of(&issued))?;
        let verdict = legacy::express_openid_connect(
            &issued,
            &Expectations {
                issuer: &self.base,
                client_id: MIROTALK,
                jwks: &jwks,
                now,
            },
        );
        print_verdict(
            out,
            "express-openid-connect on tokenbridge's token",
            &verdict,
        )?;
        writeln!(out)?;

        let zitadel_token = zitadel_id_token(&self.zitadel_key, self.zitadel.issuer(), now)?;
        writeln!(
            out,
            "2. Zitadel sends an ID token with five audiences to BookStack"
        )?;
        writeln!(out, "   claims received: {}", claims_of(&zitadel_token))?;
        let verdict = legacy::bookstack(
            &zitadel_token,
            &Expectations {
                issuer: self.zitadel.issuer(),
                client_id: BOOKSTACK,
                jwks: &self.zitadel.jwks(),
                now,
            },
        );
        print_verdict(out, "BookStack on the IdP's token", &verdict)?;
        let issued = self
            .exchange(BOOKSTACK, &self.bookstack_secret, &zitadel_token)
            .await?;
        writeln!(
            out,
            "   POST {}/exchange as client \"{BOOKSTACK}\" (select = \"only\": exactly one allowed audience)",
            self.base
        )?;
        writeln!(out, "   claims issued: {}", claims_of(&issued))?;
        let verdict = legacy::bookstack(
            &issued,
            &Expectations {
                issuer: &self.base,
                client_id: BOOKSTACK,
                jwks: &jwks,
                now,
            },
        );
        print_verdict(out, "BookStack on tokenbridge's token", &verdict)?;
        writeln!(out)?;
        Ok(())
    }

    /// Fresh tokens for the curl commands, minted on each request so they never expire.
    fn add_minters(&self, recipient: &Value) {
        let key = self.authentik_key.clone();
        let issuer = self.authentik.issuer().to_owned();
        let recipient = recipient.clone();
        let clock = SystemClock::shared();
        self.authentik.add_minter("id-token", move || {
            authentik_id_token(&key, &issuer, &recipient, clock.now()).ok()
        });
        let key = self.zitadel_key.clone();
        let issuer = self.zitadel.issuer().to_owned();
        let clock = SystemClock::shared();
        self.zitadel.add_minter("id-token", move || {
            zitadel_id_token(&key, &issuer, clock.now()).ok()
        });
    }

    fn print_try_it(&self, out: &mut impl Write) -> Result<(), DemoError> {
        let base = &self.base;
        writeln!(out, "Try it while this runs (Ctrl-C stops):")?;
        writeln!(out, "  curl -s {base}/.well-known/openid-configuration")?;
        writeln!(out, "  curl -s {base}/.well-known/jwks.json")?;
        writeln!(out, "  curl -s {base}/readyz")?;
        writeln!(
            out,
            "  curl -s -u {BOOKSTACK}:{secret} {base}/exchange \\\n      -d grant_type={grant} \\\n      -d subject_token_type={id_token} \\\n      --data-urlencode subject_token=\"$(curl -s {zitadel}/mint/id-token)\"",
            secret = self.bookstack_secret,
            grant = GRANT_TYPE_TOKEN_EXCHANGE,
            id_token = TokenType::IdToken.urn(),
            zitadel = self.zitadel.issuer(),
        )?;
        writeln!(
            out,
            "  curl -s -u {MIROTALK}:{secret} {base}/exchange \\\n      -d grant_type={grant} \\\n      -d subject_token_type={id_token} \\\n      --data-urlencode subject_token=\"$(curl -s {authentik}/mint/id-token)\"",
            secret = self.mirotalk_secret,
            grant = GRANT_TYPE_TOKEN_EXCHANGE,
            id_token = TokenType::IdToken.urn(),
            authentik = self.authentik.issuer(),
        )?;
        Ok(())
    }

    async fn get_json(&self, path: &str) -> Result<Value, DemoError> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn exchange(&self, client: &str, secret: &str, token: &str) -> Result<String, DemoError> {
        let response = self
            .http
            .post(format!("{}/exchange", self.base))
            .basic_auth(client, Some(secret))
            .form(&[
                ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE),
                ("subject_token", token),
                ("subject_token_type", TokenType::IdToken.urn()),
            ])
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DemoError::Unexpected(format!("/exchange answered {status}: {body}")))
    }
}
