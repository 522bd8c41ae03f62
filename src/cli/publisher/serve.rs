//! `reelseal serve`.

use anyhow::Result;

use crate::cli::{block_on, Global};
use crate::home::PublisherHome;
use crate::ops::studio::serve::{self, ServePlan, ServeReport};
use crate::ops::Interrupt;

/// Run the key server (HTTP/JSON over the ledger): redeem codes, serve revocations, admin API.
///
/// Admin requests need `Authorization: Bearer <token>`, the token being in admin.token in
/// the publisher home (created on first start, mode 0600). See docs/keyserver.openapi.yaml.
/// Put it behind a TLS proxy to serve the public.
///
/// Example:
///   reelseal serve --listen 127.0.0.1:8787 --redeem-rate 5
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless you put it behind a TLS proxy).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: std::net::SocketAddr,
    /// Redemptions per second allowed per client address (bursts of twice that); 0 = no limit.
    #[arg(long, default_value_t = 5)]
    pub redeem_rate: u32,
    /// How long each revocation list the server signs stays valid; it signs a fresh one once
    /// half of that has passed. Viewers refuse a list a day past its validity.
    #[arg(long, value_name = "DURATION", default_value = "72h")]
    pub revocations_valid_for: humantime::Duration,
}

impl ServeArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome, g: &Global) -> Result<ServeReport> {
        let plan = ServePlan {
            listen: self.listen,
            redeem_rate: self.redeem_rate,
            list_validity: super::revoke::seconds(self.revocations_valid_for),
        };
        let fb = g.console();
        block_on(async {
            let stop = Interrupt::on_ctrl_c();
            serve::serve(home, &plan, &fb, async move { stop.wait().await }).await
        })
    }
}
