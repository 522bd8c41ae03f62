//! Issuing a grant for a release: the one place that decides what a grant carries.
//!
//! Used alike by `reelseal grant` (single and batch), rotation and the key server's code
//! redemption. Without a tracing code a grant carries the release's whole key set; with
//! one, it carries the main key plus, per traced segment, the key of the one variant the
//! viewer's codeword picks (drawn afresh, or kept across a rotation). A viewer without a
//! key gets an *access key*: a new viewer identity bundled with its grant.

use zeroize::Zeroizing;

use crate::card::SignedCard;
use crate::grant::{self, AccessKey, Grant, GrantParams};
use crate::keys::{PublisherSecret, ViewerPublic, ViewerSecret};
use crate::keyset::{KeySet, MAIN_KEY};
use crate::tardos;
use crate::validity::Validity;
use crate::{GrantId, Result};

/// Who a grant is for and when it is valid.
#[derive(Clone, Debug)]
pub struct GrantRequest {
    /// Label shown to the viewer (e.g. "Berlinale jury 3").
    pub label: String,
    /// The viewer's key, or `None` to make an access key with a new viewer identity.
    pub viewer: Option<ViewerPublic>,
    /// The window.
    pub validity: Validity,
    /// A codeword to keep (rotation); drawn afresh when `None` or of the wrong length.
    pub codeword: Option<Vec<bool>>,
}

/// A grant just issued, with what must be recorded about it.
pub struct IssuedGrant {
    /// The signed grant.
    pub grant: Grant,
    /// For a viewer without a key: the access key bundling a new viewer secret (secret!).
    pub access: Option<AccessKey>,
    /// The tracing codeword (packed with [`tardos::pack`]), for releases with variants.
    pub codeword: Option<Vec<u8>>,
}

impl IssuedGrant {
    /// The viewer key the grant is bound to.
    pub fn viewer(&self) -> ViewerPublic {
        self.grant.params().viewer
    }

    /// Whether the file form holds a secret (an access key).
    pub fn is_access_key(&self) -> bool {
        self.access.is_some()
    }

    /// The text to hand the viewer: an armored grant, or an armored access key (secret).
    pub fn to_armor(&self) -> Zeroizing<String> {
        match &self.access {
            Some(a) => a.to_armor(),
            None => Zeroizing::new(self.grant.to_armor()),
        }
    }
}

/// Issue one grant of the release described by `card` and `keys`.
pub fn issue(
    card: &SignedCard,
    keys: &KeySet,
    code: Option<&tardos::Code>,
    publisher: &PublisherSecret,
    req: &GrantRequest,
    now: i64,
) -> Result<IssuedGrant> {
    let (viewer, access_secret) = match req.viewer {
        Some(v) => (v, None),
        None => {
            let s = ViewerSecret::generate();
            (s.public(), Some(s))
        }
    };
    let params = GrantParams {
        id: GrantId::random(),
        label: req.label.clone(),
        viewer,
        validity: req.validity,
        issued: now,
    };
    let (subset, codeword) = match code {
        None => (None, None),
        Some(tc) => {
            let bits = match &req.codeword {
                Some(b) if b.len() == tc.biases.len() => b.clone(),
                _ => tardos::draw_codeword(&tc.biases, &mut crate::csprng()),
            };
            let mut ks = KeySet::default();
            ks.insert(MAIN_KEY, *keys.main()?);
            for (t, &b) in bits.iter().enumerate() {
                let id = tardos::variant_key_id(t, b);
                ks.insert(id, *keys.get(id)?);
            }
            (Some(ks), Some(tardos::pack(&bits)))
        }
    };
    let grant = grant::issue(card, subset.as_ref().unwrap_or(keys), &params, publisher)?;
    let access = access_secret
        .map(|s| AccessKey::new(s, &grant))
        .transpose()?;
    Ok(IssuedGrant {
        grant,
        access,
        codeword,
    })
}
