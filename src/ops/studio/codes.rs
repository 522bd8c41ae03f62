//! `reelseal codes`: one-time access codes for a shop, stored hashed in the ledger.

use std::path::PathBuf;

use anyhow::Result;
use reelseal_core::code;
use reelseal_core::validity::{fmt_time, now, Validity};
use serde::Serialize;

use super::{Studio, ACTOR};
use crate::fsutil;

/// What `reelseal codes` was asked.
#[derive(Clone, Debug)]
pub struct CodesPlan {
    /// RELEASE.
    pub release: String,
    /// How many (1 to 1,000,000).
    pub count: u32,
    /// Window of the codes and of the grants they become.
    pub validity: Validity,
    /// Write the codes to this file (0600) too.
    pub out: Option<PathBuf>,
}

/// Codes minted.
#[derive(Clone, Debug, Serialize)]
pub struct CodesReport {
    /// Release id.
    pub release_id: String,
    /// The codes.
    pub codes: Vec<String>,
    /// RFC 3339.
    pub not_before: Option<String>,
    /// RFC 3339.
    pub not_after: Option<String>,
    /// Where they were written.
    #[serde(skip)]
    pub out: Option<PathBuf>,
    /// The release's title.
    #[serde(skip)]
    pub title: String,
}

impl Studio {
    /// Mint codes for a release.
    pub fn codes(&mut self, plan: &CodesPlan) -> Result<CodesReport> {
        let r = self.release(&plan.release)?;
        let minted = code::mint(plan.count)?;
        let hashes: Vec<[u8; 32]> = minted.iter().map(|c| c.hash).collect();
        self.ledger
            .add_codes(&r.id, &hashes, plan.validity, now(), ACTOR)?;
        let codes: Vec<String> = minted.into_iter().map(|c| c.code).collect();
        if let Some(out) = &plan.out {
            let text: String = codes.iter().map(|c| format!("{c}\n")).collect();
            fsutil::write_atomic(out, text.as_bytes(), true)?;
        }
        Ok(CodesReport {
            release_id: r.id.to_hex(),
            codes,
            not_before: plan.validity.not_before().map(fmt_time),
            not_after: plan.validity.not_after().map(fmt_time),
            out: plan.out.clone(),
            title: r.title,
        })
    }
}
