//! `reelseal serve`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{block_on, Global};
use crate::home::PublisherHome;
use crate::ops::studio::serve::{self, ServePlan, ServeReport};
use crate::ops::Interrupt;

/// Run the key server (HTTP/JSON): redeem codes, serve revocations, renewals, admin API.
///
/// With no --database it serves this home's SQLite ledger from one process. With
/// --database postgres://… it is one of any number of stateless replicas over a shared
/// PostgreSQL database (fill it with `reelseal keyserver sync`); put them behind a TLS
/// proxy (docs/deploy.md). Admin requests need `Authorization: Bearer <token>`, the token
/// being in admin.token in the publisher home (created on first start or sync, mode 0600).
/// GET /healthz, /readyz and /metrics are for the operator. Stops on ^C or SIGTERM after
/// finishing the requests in flight. See docs/keyserver.openapi.yaml.
///
/// Examples:
///   reelseal serve --listen 127.0.0.1:8787 --redeem-rate 5
///   REELSEAL_DATABASE=postgres://keys:…@db.internal/keys?sslmode=require \
///     reelseal serve --listen 10.0.0.5:8787 --key-file /etc/reelseal/publisher.key \
///     --trusted-proxy 10.0.0.2 --log-json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless you put it behind a TLS proxy).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: std::net::SocketAddr,
    /// Redemptions (and renewal challenges) per second allowed per client address (bursts
    /// of twice that); 0 = no limit.
    #[arg(long, default_value_t = 5)]
    pub redeem_rate: u32,
    /// How long each revocation list the server signs stays valid; it signs a fresh one once
    /// half of that has passed. Viewers refuse a list a day past its validity.
    #[arg(long, value_name = "DURATION", default_value = "72h")]
    pub revocations_valid_for: humantime::Duration,
    /// Serve this PostgreSQL database (postgres://USER:PASSWORD@HOST:PORT/DB, add
    /// ?sslmode=require for TLS) instead of the home's ledger. Prefer the environment
    /// variable: arguments are visible to other users in `ps`.
    #[arg(
        long,
        env = "REELSEAL_DATABASE",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database: Option<String>,
    /// Most connections this replica opens to the database.
    #[arg(long, default_value_t = 16, requires = "database", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub db_pool: u16,
    /// Read the publisher signing key from this file (refused unless mode 0600) instead of
    /// the home; for replicas that have no publisher home.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// A proxy (address or CIDR, repeatable) whose X-Forwarded-For header names the client
    /// for rate limiting and the audit log; from anyone else the header is ignored.
    #[arg(long, value_name = "CIDR", value_parser = parse_cidr)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// Log as JSON lines on stderr (one per request at info level, plus warnings and
    /// errors); REELSEAL_LOG sets the filter.
    #[arg(long)]
    pub log_json: bool,
}

/// An address (a /32 or /128) or a CIDR block.
fn parse_cidr(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR block like 10.0.0.0/8"))
}

impl ServeArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome, g: &Global) -> Result<ServeReport> {
        let plan = ServePlan {
            listen: self.listen,
            redeem_rate: self.redeem_rate,
            list_validity: super::revoke::seconds(self.revocations_valid_for),
            database: self.database,
            pool_size: usize::from(self.db_pool),
            key_file: self.key_file,
            trusted_proxies: self.trusted_proxy,
        };
        let fb = g.console();
        block_on(async {
            let stop = Interrupt::on_ctrl_c_or_term();
            serve::serve(home, &plan, &fb, stop).await
        })
    }
}
