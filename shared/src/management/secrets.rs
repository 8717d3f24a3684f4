//! Read-modify-write of secret documents (a webhook's or a connector's) that never undoes
//! a concurrent change: the write is conditional on the version read, and a change refused
//! later (a name taken, a concurrent update of the item) puts the old document back.

use super::ManagementState;
use crate::error::{ApiError, StoreError};
use crate::secret::SecretString;

/// A secret document as read for a change.
pub(super) struct ReadSecret {
    name: String,
    pub value: Option<SecretString>,
    token: Option<String>,
}

/// A written change, which can be undone while nothing else wrote after it.
pub(super) struct Written {
    name: String,
    old: Option<SecretString>,
    token: String,
}

pub(super) async fn read(st: &ManagementState, name: String) -> Result<ReadSecret, ApiError> {
    let (value, token) = st.backend.secrets.get_secret_versioned(&name).await?.unzip();
    Ok(ReadSecret { name, value, token })
}

impl ReadSecret {
    /// Writes `value` unless the document changed since it was read (409
    /// `CONCURRENT_UPDATE` then, and nothing is written).
    pub(super) async fn write(self, st: &ManagementState, value: &SecretString) -> Result<Written, ApiError> {
        let token = match &self.token {
            Some(token) => st.backend.secrets.replace_secret(&self.name, value, token).await?,
            None => {
                // No document yet (a connector without credentials): create it.
                st.backend.secrets.put_secret(&self.name, value).await?;
                match st.backend.secrets.get_secret_versioned(&self.name).await? {
                    Some((_, token)) => token,
                    None => return Err(StoreError::NotFound.into()),
                }
            }
        };
        Ok(Written { name: self.name, old: self.value, token })
    }
}

impl Written {
    /// Puts the document read back (the change it belonged to was refused). Logged, not
    /// raised: the caller is already answering with the refusal.
    pub(super) async fn undo(self, st: &ManagementState) {
        let undone = match &self.old {
            Some(old) => st.backend.secrets.replace_secret(&self.name, old, &self.token).await.map(|_| ()),
            None => st.backend.secrets.delete_secret(&self.name).await,
        };
        if let Err(e) = undone {
            tracing::error!(error = %e, "could not undo a refused secret change");
        }
    }
}
