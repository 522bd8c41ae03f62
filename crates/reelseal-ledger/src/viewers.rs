//! The viewer address book: people the publisher grants to often (a festival's jurors, a
//! sales agent), saved once with their key, e-mail and tags, so `grant --tag` reaches a
//! group and `grant --to NAME` a person.

use reelseal_core::keys::ViewerPublic;
use rusqlite::{params, OptionalExtension};

use crate::{conv, Ledger, LedgerError, Result};

/// A saved viewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Name (unique; used as the grant label).
    pub name: String,
    /// Their key.
    pub key: ViewerPublic,
    /// E-mail, for `grant --mail-dir`.
    pub email: Option<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Unix seconds.
    pub added: i64,
}

impl Ledger {
    /// Save a viewer (refused if the name is taken), with an audit entry.
    pub fn add_contact(&mut self, c: &Contact, actor: &str) -> Result<()> {
        if self.contact(&c.name)?.is_some() {
            return Err(LedgerError::ViewerExists(c.name.clone()));
        }
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| crate::sql_err(&path, e))?;
        tx.execute(
            "INSERT INTO viewers(name,key,email,added) VALUES (?1,?2,?3,?4)",
            params![c.name, c.key.to_bech32(), c.email, c.added],
        )
        .map_err(|e| crate::sql_err(&path, e))?;
        for t in &c.tags {
            tx.execute(
                "INSERT OR IGNORE INTO viewer_tags(name,tag) VALUES (?1,?2)",
                params![c.name, t],
            )
            .map_err(|e| crate::sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| crate::sql_err(&path, e))?;
        self.audit(actor, "viewers add", &format!("{:?} {}", c.name, c.key))
    }

    /// Forget a saved viewer (grants already issued to them stay).
    pub fn remove_contact(&mut self, name: &str, actor: &str) -> Result<Contact> {
        let c = self
            .contact(name)?
            .ok_or_else(|| LedgerError::NoSuchViewer(name.to_string()))?;
        self.conn
            .execute("DELETE FROM viewer_tags WHERE name = ?1", [name])
            .map_err(|e| self.err(e))?;
        self.conn
            .execute("DELETE FROM viewers WHERE name = ?1", [name])
            .map_err(|e| self.err(e))?;
        self.audit(actor, "viewers rm", &format!("{:?} {}", c.name, c.key))?;
        Ok(c)
    }

    /// One saved viewer by name.
    pub fn contact(&self, name: &str) -> Result<Option<Contact>> {
        let row = self
            .conn
            .query_row(
                "SELECT name,key,email,added FROM viewers WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(name, key, email, added)| self.contact_from(name, &key, email, added))
            .transpose()
    }

    /// Every saved viewer, by name; only those tagged `tag` when given.
    pub fn contacts(&self, tag: Option<&str>) -> Result<Vec<Contact>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT name,key,email,added FROM viewers
                 WHERE ?1 IS NULL OR name IN (SELECT name FROM viewer_tags WHERE tag = ?1)
                 ORDER BY name",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([tag], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(name, key, email, added)| self.contact_from(name, &key, email, added))
            .collect()
    }

    /// The saved viewers tagged `tag`; refused when there are none.
    pub fn tagged(&self, tag: &str) -> Result<Vec<Contact>> {
        let found = self.contacts(Some(tag))?;
        if found.is_empty() {
            return Err(LedgerError::NoSuchTag(tag.to_string()));
        }
        Ok(found)
    }

    fn contact_from(
        &self,
        name: String,
        key: &str,
        email: Option<String>,
        added: i64,
    ) -> Result<Contact> {
        let key = ViewerPublic::from_bech32(key)
            .map_err(conv)
            .map_err(|e| self.err(e))?;
        let mut st = self
            .conn
            .prepare("SELECT tag FROM viewer_tags WHERE name = ?1 ORDER BY tag")
            .map_err(|e| self.err(e))?;
        let tags = st
            .query_map([&name], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(Contact {
            name,
            key,
            email,
            tags,
            added,
        })
    }
}
