//! The current key ARN, readable and replaceable through `&self`.
//!
//! A reader-writer spin lock around a fixed-capacity string: KMS key ids and ARNs are at most
//! [`MAX_KEY_ID_LEN`] bytes, so the slot allocates once, when it is made, and never after. Readers compare in place or copy
//! out; the writer (rare: only when KMS reports a different key) replaces the bytes. Every
//! method holds the lock only for that copy or comparison and calls nothing else meanwhile,
//! so no caller can deadlock on it and nobody waits for long.

use alloc::boxed::Box;
use alloc::string::String;

use crate::kms::MAX_KEY_ID_LEN;

pub(super) struct KeyIdSlot {
    /// Boxed once, when the seal is made, so the seal stays small: inline, the 2 KiB buffer
    /// was copied on every move of the seal and cost the WASI plugin 2 KB of code.
    id: spin::RwLock<Box<heapless::String<MAX_KEY_ID_LEN>>>,
}

impl KeyIdSlot {
    /// A slot holding `id`, or nothing when `id` is longer than KMS allows.
    pub(super) fn new(id: &str) -> Self {
        let slot = KeyIdSlot {
            id: spin::RwLock::new(Box::new(heapless::String::new())),
        };
        slot.store(id);
        slot
    }

    /// Replaces the value; ids longer than KMS allows are ignored (KMS never returns them).
    pub(super) fn store(&self, id: &str) {
        if id.len() > MAX_KEY_ID_LEN || self.equals(id) {
            return;
        }
        let mut current = self.id.write();
        current.clear();
        current
            .push_str(id)
            .expect("the id's length was checked against the capacity");
    }

    /// Whether the value equals `id`. Does not allocate.
    pub(super) fn equals(&self, id: &str) -> bool {
        self.id.read().as_str() == id
    }

    /// An owned copy of the value.
    pub(super) fn to_owned_string(&self) -> String {
        String::from(self.id.read().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_compares_and_copies() {
        let slot = KeyIdSlot::new("alias/vault");
        assert!(slot.equals("alias/vault"));
        assert!(!slot.equals("alias/vaul"));
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        slot.store(arn);
        assert!(slot.equals(arn));
        assert_eq!(slot.to_owned_string(), arn);
        slot.store("");
        assert!(slot.equals(""));
    }

    #[test]
    fn ignores_ids_longer_than_kms_allows() {
        let slot = KeyIdSlot::new("alias/vault");
        let longest = "k".repeat(MAX_KEY_ID_LEN);
        slot.store(&longest);
        assert!(slot.equals(&longest));
        slot.store(&"k".repeat(MAX_KEY_ID_LEN + 1));
        assert!(slot.equals(&longest));
        assert!(!KeyIdSlot::new(&"k".repeat(MAX_KEY_ID_LEN + 1)).equals("k"));
    }
}
