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

/// The longest overlap a rotation may give the previous secret.
pub(super) const MAX_OVERLAP_SECS: u64 = 7 * 86_400;

/// One rotation rule for every rotating secret (a webhook's provider secret, a connector's
/// signing secret): `next` becomes current; the current one stays valid for `overlap_secs`
/// (none when 0), so senders and receivers can switch at their own pace. Returns until when
/// the previous one is honoured.
pub(super) fn rotate<T>(
    current: &mut Option<T>,
    previous: &mut Option<T>,
    previous_until: &mut Option<chrono::DateTime<chrono::Utc>>,
    next: Option<T>,
    overlap_secs: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    if overlap_secs > MAX_OVERLAP_SECS {
        return Err(ApiError::invalid("overlapSeconds", format!("at most 7 days ({MAX_OVERLAP_SECS})")));
    }
    let until = (overlap_secs > 0).then(|| now + chrono::Duration::seconds(overlap_secs as i64));
    *previous = current.take().filter(|_| until.is_some());
    *previous_until = until.filter(|_| previous.is_some());
    *current = next;
    Ok(*previous_until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_previous_secret_for_the_overlap_only() {
        let now = chrono::Utc::now();
        let (mut current, mut previous, mut until) = (Some("a"), None, None);
        let kept = rotate(&mut current, &mut previous, &mut until, Some("b"), 60, now).unwrap();
        assert_eq!((current, previous), (Some("b"), Some("a")));
        assert_eq!(kept, Some(now + chrono::Duration::seconds(60)));
        let kept = rotate(&mut current, &mut previous, &mut until, Some("c"), 0, now).unwrap();
        assert_eq!((current, previous, kept, until), (Some("c"), None, None, None));
        assert!(rotate(&mut current, &mut previous, &mut until, Some("d"), MAX_OVERLAP_SECS + 1, now).is_err());
        assert_eq!(current, Some("c"), "a refused rotation changes nothing");
    }
}
