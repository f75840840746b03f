//! Fuzz entry points for the envelope: stored-value decoding and AES-GCM open.

use crate::envelope::{self, aead};

/// Decodes `data` as a stored value; never panics on any input.
///
/// Checks that the borrowed view can be walked completely and, with `alloc`, that the owned
/// decoder agrees with the borrowed one, and that whatever decodes re-encodes to bytes that
/// decode to the same value and re-encode identically (the encoding is canonical).
#[doc(hidden)]
pub fn envelope_decode(data: &[u8]) {
    let borrowed = envelope::decode_stored_value_ref(data);
    if let Ok(decoded) = &borrowed {
        let mut slots = 0;
        for slot in decoded.value.slots() {
            slots += 1;
            if let Some(info) = slot.key_info() {
                let len = info.key_purposes().len();
                assert_eq!(info.key_purposes().count(), len, "key_purposes length");
            }
        }
        assert_eq!(slots, decoded.value.slots().len(), "slot count");
    }

    #[cfg(feature = "alloc")]
    {
        let owned = envelope::decode_stored_value(data);
        match (borrowed, owned) {
            (Ok(_), Ok(value)) => {
                let bytes = value.encode();
                let again = envelope::decode_stored_value(&bytes)
                    .expect("a re-encoded stored value decodes again");
                assert_eq!(again, value, "decode(encode(v)) == v");
                assert_eq!(again.encode(), bytes, "encoding is canonical");
                for slot in value.value.slots() {
                    let blob = slot.encode();
                    assert_eq!(blob.len(), slot.encoded_len());
                    assert_eq!(envelope::BlobInfo::decode(&blob).as_ref(), Ok(slot));
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "borrowed and owned decoders agree"),
            (a, b) => panic!(
                "borrowed and owned decoders disagree: {:?} vs {:?}",
                a.map(|_| ()),
                b.map(|_| ())
            ),
        }
    }
}

/// The largest message `envelope_open` works on (it needs no allocator).
const MAX_MESSAGE: usize = 1024;

/// Splits `input` into a data key (32 bytes), an IV (12 bytes), an AAD length byte, that many
/// AAD bytes and a message, then checks AES-GCM:
///
/// - opening the message as a ciphertext never panics, and if it authenticates, sealing the
///   plaintext again gives the message back;
/// - sealing the message as a plaintext opens again to the same bytes (with `None` and empty
///   AAD interchangeable), and flipping one bit of the sealed value or of the AAD makes open
///   fail.
///
/// Inputs shorter than the key and IV are ignored; messages are cut at 1 KiB.
#[doc(hidden)]
pub fn envelope_open(input: &[u8]) {
    let Some((key, rest)) = input.split_first_chunk::<{ aead::KEY_LEN }>() else {
        return;
    };
    let Some((iv, rest)) = rest.split_first_chunk::<{ aead::IV_LEN }>() else {
        return;
    };
    let key = aead::DataKey::from_bytes(*key);
    let iv = aead::Iv::from_bytes(*iv);
    let (aad_len, rest) = rest.split_first().map_or((0, rest), |(&n, r)| (n, r));
    let (aad, message) = rest.split_at(usize::from(aad_len).min(rest.len()));
    let message = message.get(..MAX_MESSAGE).unwrap_or(message);
    let aad_opt = if aad.is_empty() { None } else { Some(aad) };

    // 1. The message as an (almost certainly forged) ciphertext.
    let mut buf = [0u8; MAX_MESSAGE + aead::TAG_LEN];
    let (work, _) = buf.split_at_mut(message.len());
    work.copy_from_slice(message);
    if let Ok(plain) = aead::open_in_place(&key, &iv, work, aad_opt) {
        let plain_len = plain.len();
        let mut again = [0u8; MAX_MESSAGE + aead::TAG_LEN];
        let (text, _) = again.split_at_mut(plain_len);
        text.copy_from_slice(plain);
        let n = aead::seal_in_place(&key, &iv, &mut again, plain_len, Some(aad))
            .expect("a buffer of MAX_MESSAGE + TAG_LEN holds any opened message resealed");
        assert_eq!(
            again.get(..n),
            Some(message),
            "open then seal gives the input back"
        );
    }

    // 2. The message as a plaintext: a genuine seal authenticates, a modified one does not.
    let mut sealed = [0u8; MAX_MESSAGE + aead::TAG_LEN];
    let (text, _) = sealed.split_at_mut(message.len());
    text.copy_from_slice(message);
    let n = aead::seal_in_place(&key, &iv, &mut sealed, message.len(), aad_opt)
        .expect("a buffer of MAX_MESSAGE + TAG_LEN holds any sealed message");
    #[cfg(feature = "alloc")]
    assert_eq!(
        sealed.get(..n),
        Some(aead::seal(&key, &iv, message, Some(aad)).as_slice()),
        "in-place and allocating seal agree"
    );
    let genuine = sealed;

    let mut copy = genuine;
    let opened = aead::open_in_place(&key, &iv, &mut copy[..n], Some(aad));
    assert_eq!(opened.as_deref(), Ok(message), "a genuine seal opens");

    let bit = usize::from(key.as_bytes()[0]) << 8 | usize::from(iv.as_bytes()[0]);
    let bit = bit % (n * 8);
    let mut copy = genuine;
    copy[bit / 8] ^= 1 << (bit % 8);
    assert!(
        aead::open_in_place(&key, &iv, &mut copy[..n], aad_opt).is_err(),
        "a flipped bit of the sealed value fails to open"
    );
    assert_eq!(
        copy[..n].get(bit / 8),
        Some(&(genuine[bit / 8] ^ (1 << (bit % 8))))
    );

    if let Some((&first, tail)) = aad.split_first() {
        let mut other_aad = [0u8; 256];
        let (changed, _) = other_aad.split_at_mut(aad.len());
        changed[0] = first ^ 0x80;
        changed[1..].copy_from_slice(tail);
        let mut copy = genuine;
        assert!(
            aead::open_in_place(&key, &iv, &mut copy[..n], Some(changed)).is_err(),
            "a flipped bit of the aad fails to open"
        );
    }
}
