//! Fuzzing entry: every `pb.Wrapper` request message (and the BlobInfo inside Decrypt) decoded
//! from arbitrary bytes, and round-tripped where decoding succeeds.

use kms_seal_core::envelope::BlobInfo;
use prost::Message;

use crate::proto::{
    DecryptRequest, Empty, EncryptRequest, HealthCheckRequest, KeyIdRequest, LifecycleRequest,
    SetConfigRequest, TypeRequest,
};

/// Decodes `data` as each request type; never panics on any input, and asserts that what
/// decodes encodes to bytes that decode to the same value.
pub fn wrapper_requests(data: &[u8]) {
    round_trip::<SetConfigRequest>(data);
    round_trip::<TypeRequest>(data);
    round_trip::<KeyIdRequest>(data);
    round_trip::<EncryptRequest>(data);
    round_trip::<LifecycleRequest>(data);
    round_trip::<Empty>(data);
    round_trip::<HealthCheckRequest>(data);
    if let Some(request) = round_trip::<DecryptRequest>(data)
        && let Ok(blob) = BlobInfo::decode(&request.ciphertext)
    {
        let again = BlobInfo::decode(&blob.encode()).expect("an encoded BlobInfo decodes");
        assert!(again == blob, "BlobInfo round trip changed the value");
    }
}

fn round_trip<M: Message + Default + PartialEq>(data: &[u8]) -> Option<M> {
    let message = M::decode(data).ok()?;
    let again = M::decode(message.encode_to_vec().as_slice()).expect("an encoded message decodes");
    assert!(again == message, "round trip changed the value");
    Some(message)
}

#[cfg(test)]
mod tests {
    /// The committed seeds of the `openbao_requests` fuzz target replay on stable too.
    #[test]
    fn seed_corpus_replays() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/corpus/openbao_requests"
        );
        let mut seeds = 0;
        for entry in std::fs::read_dir(dir).expect("the seed corpus is committed") {
            let data = std::fs::read(entry.expect("entry").path()).expect("seed");
            super::wrapper_requests(&data);
            seeds += 1;
        }
        assert!(seeds >= 5, "{seeds} seeds in {dir}");
    }
}
