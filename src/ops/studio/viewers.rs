//! `reelseal viewers add/ls/rm`: the address book of people the publisher grants to, so a
//! festival's jury is typed in once and `grant --tag jury-2027` reaches all of them.

use anyhow::Result;
use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::{fmt_time, now};
use reelseal_ledger::Contact;
use serde::Serialize;

use super::ACTOR;
use crate::home::PublisherHome;

/// A saved viewer, as reports show it.
#[derive(Clone, Debug, Serialize)]
pub struct ContactItem {
    /// Name (the label their grants get).
    pub name: String,
    /// Their key.
    pub viewer: String,
    /// E-mail.
    pub email: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// RFC 3339.
    pub added: String,
}

impl From<Contact> for ContactItem {
    fn from(c: Contact) -> Self {
        ContactItem {
            name: c.name,
            viewer: c.key.to_bech32(),
            email: c.email,
            tags: c.tags,
            added: fmt_time(c.added),
        }
    }
}

/// The address book, or what changed in it.
#[derive(Clone, Debug, Serialize)]
pub struct ViewersReport {
    /// `added`, `removed` or `list`.
    pub action: String,
    /// The viewers concerned (all of them, or those with the tag, for `list`).
    pub viewers: Vec<ContactItem>,
}

/// A viewer to save.
#[derive(Clone, Debug)]
pub struct NewContact {
    /// Name (checked like a grant label).
    pub name: String,
    /// Key.
    pub key: ViewerPublic,
    /// E-mail.
    pub email: Option<String>,
    /// Tags (checked, lowercase).
    pub tags: Vec<String>,
}

/// Save a viewer.
pub fn add(home: &PublisherHome, c: NewContact) -> Result<ViewersReport> {
    let mut ledger = home.ledger()?;
    let contact = Contact {
        name: c.name,
        key: c.key,
        email: c.email,
        tags: c.tags,
        added: now(),
    };
    ledger.add_contact(&contact, ACTOR)?;
    Ok(ViewersReport {
        action: "added".into(),
        viewers: vec![contact.into()],
    })
}

/// Forget a viewer (grants already issued stay).
pub fn remove(home: &PublisherHome, name: &str) -> Result<ViewersReport> {
    let mut ledger = home.ledger()?;
    let c = ledger.remove_contact(name, ACTOR)?;
    Ok(ViewersReport {
        action: "removed".into(),
        viewers: vec![c.into()],
    })
}

/// List the viewers (with `tag`, only those).
pub fn list(home: &PublisherHome, tag: Option<&str>) -> Result<ViewersReport> {
    let ledger = home.ledger()?;
    let viewers = match tag {
        Some(t) => ledger.tagged(t)?,
        None => ledger.contacts(None)?,
    };
    Ok(ViewersReport {
        action: "list".into(),
        viewers: viewers.into_iter().map(Into::into).collect(),
    })
}
