#!/usr/bin/env python3
"""Generate golden vectors for kms-seal's envelope with an independent implementation.

Protobuf encoding is Google's Python `protobuf` (messages compiled at run time from
blobinfo.proto with `grpcio-tools`' bundled protoc); AES-256-GCM is `cryptography`'s AESGCM.
The multiwrapvalue framing and the canary are written here from their description in
/work/shared/DESIGN.md. Randomness is a seeded PRNG, so the output is reproducible.

    pip install protobuf grpcio-tools cryptography
    python3 tests/vectors/envelope/generate.py   # rewrites vectors.json next to this file
"""

import importlib
import importlib.resources
import json
import pathlib
import random
import struct
import sys
import tempfile

import google.protobuf
import cryptography
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "vectors.json"
HEADER = b"multiwrapvalue:1"
CANARY = b"s"
U64 = 1 << 64

rng = random.Random(0x6B6D732D7365616C)  # "kms-seal"


COMPILED = tempfile.TemporaryDirectory(prefix="kms-seal-vectors-")  # removed at exit


def compile_proto():
    """Compile blobinfo.proto into a temporary package and import it."""
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    tmp = COMPILED.name
    rc = protoc.main(
        ["protoc", f"-I{HERE}", f"-I{include}", f"--python_out={tmp}", "blobinfo.proto"]
    )
    if rc != 0:
        sys.exit(f"protoc failed with {rc}")
    sys.path.insert(0, tmp)
    return importlib.import_module("blobinfo_pb2")


pb = compile_proto()


def ser(msg):
    return msg.SerializeToString(deterministic=True)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(number, wire_type):
    return varint(number << 3 | wire_type)


def len_field(number, payload):
    return tag(number, 2) + varint(len(payload)) + payload


def unknown_fields(base):
    """One unknown field of every wire type, numbered from `base`, a group holding a nested
    group included."""
    return b"".join(
        [
            tag(base, 0) + varint(150),
            tag(base + 1, 1) + struct.pack("<Q", 0x0102030405060708),
            len_field(base + 2, b"unknown bytes"),
            tag(base + 3, 3)
            + tag(1, 0) + varint(1)
            + tag(base + 4, 3) + tag(2, 5) + b"\x01\x02\x03\x04" + tag(base + 4, 4)
            + tag(base + 3, 4),
            tag(base + 5, 5) + struct.pack("<I", 0xDEADBEEF),
        ]
    )


def arn(n):
    return f"arn:aws:kms:us-east-1:111122223333:key/{n:08x}-1234-4abc-8def-0123456789ab"


def seal(plaintext, aad):
    """A mechanism-1 seal: returns (key, iv, ciphertext-with-tag)."""
    key = rng.randbytes(32)
    iv = rng.randbytes(12)
    return key, iv, AESGCM(key).encrypt(iv, plaintext, aad)


def mech1_blob(plaintext, aad, key_number, **extra):
    key, iv, ct = seal(plaintext, aad)
    blob = pb.BlobInfo(
        ciphertext=ct,
        iv=iv,
        key_info=pb.KeyInfo(
            mechanism=1,
            key_id=arn(key_number),
            wrapped_key=rng.randbytes(184),  # stands in for a KMS ciphertext blob
        ),
        **extra,
    )
    aead = {
        "key": key.hex(),
        "iv": iv.hex(),
        "aad": None if aad is None else aad.hex(),
        "plaintext": plaintext.hex(),
    }
    return blob, aead


def u64(v):
    """An int32 enum as Go and our decoder hold it: negatives sign-extended to 64 bits."""
    return v % U64


def without_unknown_fields(blob):
    copy = pb.BlobInfo()
    copy.CopyFrom(blob)
    copy.DiscardUnknownFields()
    return copy


def expect_blob(blob, aead=None):
    """The expected decoded fields of one BlobInfo, straight from the Python message."""
    key_info = None
    if blob.HasField("key_info"):
        k = blob.key_info
        key_info = {
            "mechanism": k.mechanism,
            "hmac_mechanism": k.hmac_mechanism,
            "key_id": k.key_id,
            "hmac_key_id": k.hmac_key_id,
            "wrapped_key": k.wrapped_key.hex(),
            "flags": k.flags,
            "key_type": u64(k.key_type),
            "key_purposes": [u64(p) for p in k.key_purposes],
            "key": k.key.hex(),
            "key_encoding": u64(k.key_encoding),
            "wrapped_key_encoding": u64(k.wrapped_key_encoding),
        }
    return {
        "ciphertext": blob.ciphertext.hex(),
        "iv": blob.iv.hex(),
        "hmac": blob.hmac.hex(),
        "wrapped": blob.wrapped,
        "key_info": key_info,
        "value_path": blob.value_path,
        "plaintext": blob.plaintext.hex(),
        "client_data": ser(blob.client_data).hex() if blob.HasField("client_data") else "",
        "blob": ser(without_unknown_fields(blob)).hex(),
        "aead": aead,
    }


def framed(multi):
    body = ser(multi)
    return HEADER + struct.pack(">I", len(body)) + body


vectors = []


def add(name, description, stored, canonical, form, canary, generation, slots):
    # Self-check with the independent parser: the stored value (minus framing and canary)
    # must parse, and re-serialising what it parsed without unknown fields gives `canonical`.
    body = stored[:-1] if canary else stored
    if form == "multi":
        assert body[:16] == HEADER and struct.unpack(">I", body[16:20])[0] == len(body) - 20
        msg = pb.MultiWrapValue.FromString(body[20:])
        msg.DiscardUnknownFields()
        again = framed(msg)
    else:
        msg = pb.BlobInfo.FromString(body)
        msg.DiscardUnknownFields()
        again = ser(msg)
    assert again + (CANARY if canary else b"") == canonical, name
    vectors.append(
        {
            "name": name,
            "description": description,
            "stored": stored.hex(),
            "canonical": canonical.hex(),
            "form": form,
            "canary": canary,
            "generation": generation,
            "slots": slots,
        }
    )


def add_bare(name, description, blob, aead=None, canary=False):
    stored = ser(blob) + (CANARY if canary else b"")
    add(name, description, stored, stored, "bare", canary, 0, [expect_blob(blob, aead)])


def add_multi(name, description, generation, blobs_aeads, canary=False):
    multi = pb.MultiWrapValue(generation=generation, slots=[b for b, _ in blobs_aeads])
    stored = framed(multi) + (CANARY if canary else b"")
    slots = [expect_blob(b, a) for b, a in blobs_aeads]
    add(name, description, stored, stored, "multi", canary, generation, slots)


# Vault's stored barrier keys decrypt to a JSON array of base64 strings.
barrier_keys = json.dumps(["dGhpcyBpcyBub3QgYSByZWFsIGJhcnJpZXIga2V5IQ=="]).encode()

blob, aead = mech1_blob(barrier_keys, b"core/hsm/barrier-unseal-keys", 1)
add_bare("mechanism1-with-aad", "mechanism 1 blob sealed with AAD", blob, aead)

blob, aead = mech1_blob(rng.randbytes(32), None, 1)
add_bare("mechanism1-without-aad", "mechanism 1 blob, no AAD (recovery key)", blob, aead)

blob, aead = mech1_blob(b"", b"", 1)
add_bare("mechanism1-empty-plaintext", "mechanism 1 with an empty plaintext and empty AAD", blob, aead)

add_bare(
    "mechanism0-no-key-info",
    "old Vault data: a KMS ciphertext and no key_info (mechanism 0)",
    pb.BlobInfo(ciphertext=rng.randbytes(200)),
)

add_bare(
    "mechanism0-with-key-info",
    "mechanism 0 written explicitly with a key id",
    pb.BlobInfo(ciphertext=rng.randbytes(170), key_info=pb.KeyInfo(mechanism=0, key_id=arn(2))),
)

add_multi(
    "multiwrapvalue-two-slots",
    "multiwrapvalue:1 framing, generation 7, two slots under different KMS keys",
    7,
    [mech1_blob(b"sealed twice", None, 3), mech1_blob(b"sealed twice", None, 4)],
)

add_multi(
    "multiwrapvalue-large-generation",
    "a generation needing a 10-byte varint, a mechanism-0 slot and a 4 KiB mechanism-1 slot",
    U64 - 2,
    [
        (pb.BlobInfo(ciphertext=rng.randbytes(64)), None),
        mech1_blob(rng.randbytes(4096), b"aad", 5),
    ],
)

blob, aead = mech1_blob(b"seal-wrapped entry", None, 6, wrapped=True)
add_bare("canary-bare", "a seal-wrapped storage entry: bare BlobInfo + canary 's'", blob, aead, canary=True)

add_bare(
    "canary-plaintext-entry",
    "an unencrypted seal-wrapped entry (wrapped=false, value in ciphertext) + canary",
    pb.BlobInfo(ciphertext=b"plain value ending in s"),
    canary=True,
)

add_multi(
    "canary-multiwrapvalue",
    "multiwrapvalue:1 framing followed by the canary 's'",
    2,
    [mech1_blob(b"multi with canary", None, 7), mech1_blob(b"multi with canary", None, 8)],
    canary=True,
)

blob, aead = mech1_blob(b"with client data", None, 9)
blob.client_data.update(
    {"name": "vault", "n": 1.5, "list": [True, None, "x"], "nested": {"k": "v", "z": 0}}
)
add_bare("client-data", "client_data (google.protobuf.Struct) kept opaque and re-emitted", blob, aead)

blob, aead = mech1_blob(b"every field", b"aad", 10, wrapped=True, value_path="sys/ü✓/path")
blob.hmac = rng.randbytes(32)
blob.plaintext = b"field 7 set"
k = blob.key_info
k.hmac_mechanism = 3
k.hmac_key_id = "hmac-key"
k.flags = 0x8000000000000001
k.key_type = 2
k.key_purposes.extend([1, 2, 300, 0])
k.key = rng.randbytes(16)
k.key_encoding = 1
k.wrapped_key_encoding = 2
add_bare("key-purposes-packed", "every BlobInfo and KeyInfo field set; key_purposes packed", blob, aead)

blob = pb.BlobInfo(
    ciphertext=rng.randbytes(40),
    key_info=pb.KeyInfo(key_type=-1, key_encoding=-2147483648, wrapped_key_encoding=12345,
                        key_purposes=[-5, 7]),
)
add_bare("negative-and-unknown-enums", "negative and unknown enum values re-encode bit for bit", blob)

# key_purposes written unpacked (by the test-only twin message), embedded by hand.
unpacked = pb.KeyInfoUnpacked(mechanism=1, key_id=arn(11), key_purposes=[2, 1, 300])
ct = rng.randbytes(30)
stored = len_field(1, ct) + len_field(5, ser(unpacked))
parsed = pb.BlobInfo.FromString(stored)
assert list(parsed.key_info.key_purposes) == [2, 1, 300]
add(
    "key-purposes-unpacked",
    "key_purposes written unpacked; re-encoded packed",
    stored,
    ser(parsed),
    "bare",
    False,
    0,
    [expect_blob(parsed)],
)

# Unknown fields of every wire type, between and after known fields, in all three messages.
blob, aead = mech1_blob(b"unknown fields", None, 12)
key_info_raw = unknown_fields(100) + ser(blob.key_info) + unknown_fields(200)
stored_blob = (
    unknown_fields(300)
    + len_field(1, blob.ciphertext)
    + unknown_fields(400)
    + len_field(2, blob.iv)
    + len_field(5, key_info_raw)
    + unknown_fields(500)
)
parsed = pb.BlobInfo.FromString(stored_blob)
assert parsed.key_info.key_id == arn(12)
add(
    "unknown-fields-bare",
    "unknown fields of every wire type (groups too) in BlobInfo and KeyInfo; dropped on re-encode",
    stored_blob,
    ser(pb.BlobInfo(ciphertext=blob.ciphertext, iv=blob.iv, key_info=blob.key_info)),
    "bare",
    False,
    0,
    [expect_blob(parsed, aead)],
)
second = pb.BlobInfo(ciphertext=rng.randbytes(20))
body = (
    unknown_fields(600)
    + len_field(2, stored_blob)
    + tag(1, 0) + varint(5)
    + unknown_fields(700)
    + len_field(2, ser(second))
)
clean = pb.MultiWrapValue(generation=5, slots=[parsed, second])
clean.DiscardUnknownFields()
add(
    "unknown-fields-multi",
    "unknown fields in MultiWrapValue and its slots",
    HEADER + struct.pack(">I", len(body)) + body,
    framed(clean),
    "multi",
    False,
    5,
    [expect_blob(parsed, aead), expect_blob(second)],
)

doc = {
    "about": "Golden vectors for kms-seal's envelope, made by generate.py with Python protobuf "
    "and cryptography (AESGCM); see README.md. 'stored' is the input, 'canonical' what a "
    "Go-compatible encoder writes for the decoded value. Enum values are u64 (negative int32 "
    "sign-extended). A slot's 'aead' gives the data key, IV, AAD and plaintext of its "
    "ciphertext.",
    "generator": {
        "protobuf": google.protobuf.__version__,
        "cryptography": cryptography.__version__,
    },
    "vectors": vectors,
}
OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {len(vectors)} vectors to {OUT}")
