//! Seal migration: the old seal of a `disabled = "true"` `seal "awskms"` stanza opens the
//! values sealed under its key; the enabled seal opens everything else and seals anew.
//!
//! Which values belong to the old seal: an AWS KMS blob whose key ARN (`key_info.key_id`) is
//! the old stanza's key ARN (resolved once with `DescribeKey`, as Vault does at start-up, so
//! an alias works), or lies in the old key's region and account when that differs from the
//! enabled key's. A blob under the enabled key is up to date; any other blob is opened by the
//! enabled seal, as without a disabled stanza.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kms_seal_core::envelope::{BlobInfo, StoredValue};
use kms_seal_core::seal::{ErrorKind, SealError};
use zeroize::Zeroizing;

use crate::args::Args;
use crate::host::{Host, HostSeal};
use crate::{Failure, config};

/// The seal of one disabled stanza, initialised.
pub(crate) struct OldSeal<H: Host> {
    /// `FILE:LINE` of the stanza.
    pub(crate) stanza: String,
    /// The seal, its key ARN resolved.
    pub(crate) seal: HostSeal<H>,
}

/// Builds and initialises (`DescribeKey`) the seal of every disabled `seal "awskms"` stanza
/// of `--config`; none without a config file or without such a stanza.
///
/// Without the `migration` feature (the WASI command, for its size budget) there are none:
/// disabled stanzas are skipped, as before.
pub(crate) fn open_old_seals<H: Host>(
    host: &mut H,
    args: &Args,
) -> Result<Vec<OldSeal<H>>, Failure> {
    if !cfg!(feature = "migration") {
        return Ok(Vec::new());
    }
    let disabled = {
        let env = |name: &str| host.env(name);
        config::load_disabled(args.config.as_deref(), &env, host.files())
            .map_err(|e| Failure::Config(e.to_string()))?
    };
    let mut seals = Vec::new();
    for old in disabled {
        let stanza = format!("{}:{}", old.source, old.line);
        let named = |m: String| format!("the disabled seal stanza at {stanza}: {m}");
        let mut seal = host
            .build_seal(&old.config)
            .map_err(|m| Failure::Config(named(m)))?;
        match seal.init() {
            Ok(()) => {}
            // Disaster recovery: the old region is down, but a key ARN needs no DescribeKey
            // to be matched; its multi-Region blobs then open through a replica.
            Err(e)
                if e.kind() == ErrorKind::Transport
                    && region_account(&old.config.kms_key_id).is_some() =>
            {
                host.write_stderr(&format!(
                    "kms-seal: warning: the disabled seal stanza at {stanza}: its KMS endpoint \
                     cannot be reached ({}); matching its key ARN as configured\n",
                    crate::one_line(&e.to_string())
                ));
            }
            Err(e) => {
                return Err(match Failure::from(e) {
                    Failure::Config(m) => Failure::Config(named(m)),
                    Failure::Usage(m) | Failure::Operation(m) => Failure::Operation(named(m)),
                });
            }
        }
        seals.push(OldSeal { stanza, seal });
    }
    Ok(seals)
}

/// `(region, account)` of a KMS key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
pub(crate) fn region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some(_), Some("kms"), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!region.is_empty() && !account.is_empty() && resource.starts_with("key/"))
        .then_some((region, account))
}

/// Whether `arn` names a multi-Region key (`key/mrk-...`).
pub(crate) fn is_multi_region(arn: &str) -> bool {
    region_account(arn).is_some() && arn.contains(":key/mrk-")
}

/// The ARN of the replica of the multi-Region key `arn` in `region` (same partition, account
/// and key id), or `None` when `arn` is not a multi-Region key ARN or already in `region`.
pub(crate) fn replica_arn(arn: &str, region: &str) -> Option<String> {
    let (home, _) = region_account(arn)?;
    if !is_multi_region(arn) || home == region || region.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts[3] = region;
    Some(parts.join(":"))
}

/// Opens `blob` with the old seal that owns it; when that seal's endpoint cannot be reached
/// (connection, DNS, timeout: not an access error) and the blob's key is a multi-Region key,
/// through its replica in the enabled seal's region (KMS `Decrypt` of a multi-Region
/// ciphertext works in every region the key is replicated to).
fn decrypt_old<H: Host>(
    old: &OldSeal<H>,
    enabled: &HostSeal<H>,
    blob: &BlobInfo,
    aad: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    match old.seal.decrypt(blob, aad) {
        Err(e)
            if e.kind() == ErrorKind::Transport && blob.key_id().is_some_and(is_multi_region) =>
        {
            enabled.decrypt(blob, aad)
        }
        result => result,
    }
}

/// Whether `blob` belongs to the old key `old_arn` (see the module documentation) rather than
/// to the enabled key `enabled_arn`.
pub(crate) fn belongs_to_old(blob: &BlobInfo, old_arn: &str, enabled_arn: &str) -> bool {
    let Some(id) = blob.key_id() else {
        return false;
    };
    if id == enabled_arn {
        return false;
    }
    if id == old_arn {
        return true;
    }
    match (region_account(id), region_account(old_arn)) {
        (Some(blob_home), Some(old_home)) => {
            blob_home == old_home && region_account(enabled_arn) != Some(old_home)
        }
        _ => false,
    }
}

/// The old seal that owns `blob`, if any.
pub(crate) fn owner<'s, H: Host>(
    old: &'s [OldSeal<H>],
    enabled: &HostSeal<H>,
    blob: &BlobInfo,
) -> Option<&'s OldSeal<H>> {
    if !blob.is_aws_kms() {
        return None;
    }
    let enabled_arn = enabled.key_id();
    old.iter()
        .find(|o| belongs_to_old(blob, &o.seal.key_id(), &enabled_arn))
}

/// The old seal that owns some AWS KMS blob of `value` not under the enabled key, if any.
pub(crate) fn value_owner<'s, H: Host>(
    old: &'s [OldSeal<H>],
    enabled: &HostSeal<H>,
    value: &StoredValue,
) -> Option<&'s OldSeal<H>> {
    let blobs: &[BlobInfo] = match value {
        StoredValue::Bare(blob) => core::slice::from_ref(blob),
        StoredValue::Multi(multi) => &multi.slots,
    };
    blobs
        .iter()
        .filter(|b| !enabled.is_up_to_date(b))
        .find_map(|b| owner(old, enabled, b))
}

/// Opens `value` with the seal it belongs to.
pub(crate) fn decrypt_value<H: Host>(
    old: &[OldSeal<H>],
    enabled: &HostSeal<H>,
    value: &StoredValue,
    aad: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if enabled.is_value_up_to_date(value) {
        return enabled.decrypt_value(value, aad);
    }
    let Some(o) = value_owner(old, enabled, value) else {
        return enabled.decrypt_value(value, aad);
    };
    match value {
        StoredValue::Bare(blob) => decrypt_old(o, enabled, blob, aad),
        StoredValue::Multi(_) => o.seal.decrypt_value(value, aad),
    }
}

/// Seals every AWS KMS blob of `value` that is not under the enabled key again under it,
/// opening each with the seal it belongs to; `value` is unchanged on error.
pub(crate) fn rewrap_value<H: Host>(
    old: &[OldSeal<H>],
    enabled: &HostSeal<H>,
    value: &mut StoredValue,
    aad: Option<&[u8]>,
) -> Result<(), SealError> {
    let mut slots: Vec<&mut BlobInfo> = match value {
        StoredValue::Bare(blob) => alloc::vec![blob],
        StoredValue::Multi(multi) => multi.slots.iter_mut().filter(|b| b.is_aws_kms()).collect(),
    };
    let mut fresh = Vec::new();
    for (i, blob) in slots.iter().enumerate() {
        if enabled.is_up_to_date(blob) {
            continue;
        }
        let plaintext = match owner(old, enabled, blob) {
            Some(o) => decrypt_old(o, enabled, blob, aad)?,
            None => enabled.decrypt(blob, aad)?,
        };
        fresh.push((i, enabled.encrypt(&plaintext, aad)?));
    }
    for (i, blob) in fresh {
        *slots[i] = blob;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kms_seal_core::envelope::KeyInfo;

    fn blob(key_id: &str) -> BlobInfo {
        BlobInfo {
            key_info: Some(KeyInfo {
                mechanism: 1,
                key_id: key_id.into(),
                ..KeyInfo::default()
            }),
            ..BlobInfo::default()
        }
    }

    const OLD: &str = "arn:aws:kms:eu-west-1:111111111111:key/old";
    const NEW: &str = "arn:aws:kms:us-east-1:222222222222:key/new";

    #[test]
    fn names_multi_region_replicas() {
        let mrk = "arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd";
        assert!(is_multi_region(mrk));
        assert!(!is_multi_region(OLD));
        assert!(!is_multi_region("mrk-1234abcd"));
        assert_eq!(
            replica_arn(mrk, "eu-west-1").as_deref(),
            Some("arn:aws:kms:eu-west-1:111111111111:key/mrk-1234abcd")
        );
        assert_eq!(replica_arn(mrk, "us-east-1"), None);
        assert_eq!(replica_arn(mrk, ""), None);
        assert_eq!(replica_arn(OLD, "us-east-1"), None);
    }

    #[test]
    fn splits_key_arns() {
        assert_eq!(region_account(OLD), Some(("eu-west-1", "111111111111")));
        assert_eq!(
            region_account("arn:aws-cn:kms:cn-north-1:1:key/mrk-1"),
            Some(("cn-north-1", "1"))
        );
        assert_eq!(region_account("arn:aws:kms:eu-west-1:1:alias/a"), None);
        assert_eq!(region_account("alias/a"), None);
        assert_eq!(region_account("arn:aws:kms::1:key/a"), None);
        assert_eq!(region_account(""), None);
    }

    #[test]
    fn old_blobs_are_those_of_the_old_key_or_its_region_and_account() {
        assert!(belongs_to_old(&blob(OLD), OLD, NEW));
        assert!(!belongs_to_old(&blob(NEW), OLD, NEW));
        // Another key of the old account and region (the old alias's earlier key).
        assert!(belongs_to_old(
            &blob("arn:aws:kms:eu-west-1:111111111111:key/older"),
            OLD,
            NEW
        ));
        // Another account, another region: the enabled seal's business.
        assert!(!belongs_to_old(
            &blob("arn:aws:kms:eu-west-1:333333333333:key/x"),
            OLD,
            NEW
        ));
        assert!(!belongs_to_old(&blob("some-key"), OLD, NEW));
        assert!(!belongs_to_old(&BlobInfo::default(), OLD, NEW));
        // Old and new keys in one account and region: only the old key itself is old.
        let same = "arn:aws:kms:eu-west-1:111111111111:key/new";
        assert!(belongs_to_old(&blob(OLD), OLD, same));
        assert!(!belongs_to_old(
            &blob("arn:aws:kms:eu-west-1:111111111111:key/other"),
            OLD,
            same
        ));
    }
}
