#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (file name = SHA-1 of the content, as
libFuzzer names its own finds). Run from anywhere; idempotent. Only the Python standard library.

Sources: the envelope golden vectors (tests/vectors/envelope/vectors.json), the Vault config
vectors (tests/vectors/config), and hand-written KMS responses, requests and environments.
"""

import hashlib
import json
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def envelope_seeds(vectors):
    for v in vectors:
        write("envelope_decode", bytes.fromhex(v["stored"]))
        write("envelope_decode", bytes.fromhex(v["canonical"]))
    write("envelope_decode", b"")
    write("envelope_decode", b"multiwrapvalue:1\x00\x00\x00\x00")
    write("envelope_decode", b"multiwrapvalue:1\x00\x00\x00\x02\x08\x01s")
    write("envelope_decode", b"\x2a\x02\x08\x01s")
    # Deeply nested groups and a huge length prefix.
    write("envelope_decode", b"\x0b" * 200)
    write("envelope_decode", b"\x0a\xff\xff\xff\xff\x0f")


def open_seed(key, iv, aad, message):
    """The `arbitrary` layout of `OpenInput` for rest <= 256 bytes: key, iv, aad, message,
    then one length byte for the aad slice (read from the end)."""
    rest = aad + message
    assert len(rest) + 1 <= 256 and len(aad) <= len(rest)
    return key + iv + rest + bytes([len(aad)])


def envelope_open_seeds(vectors):
    for v in vectors:
        for slot in v["slots"]:
            aead = slot.get("aead")
            if not aead:
                continue
            ciphertext = bytes.fromhex(slot["ciphertext"])
            aad = bytes.fromhex(aead["aad"] or "")
            if len(aad) + len(ciphertext) + 1 > 256:
                continue
            write("envelope_open", open_seed(bytes.fromhex(aead["key"]),
                                             bytes.fromhex(aead["iv"]), aad, ciphertext))
    write("envelope_open", open_seed(bytes(32), bytes(12), b"", b""))
    write("envelope_open", open_seed(bytes(range(32)), bytes(range(12)), b"core/keyring", b"x" * 40))


def kms_response_seeds():
    arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    blob = "AQICAHhR6H4uM6uZ0/pH0VxuH0jdGkd4SMc5FZi+9ktpbtTjpAE="
    ok = [
        {"CiphertextBlob": blob, "KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        {"KeyId": arn, "Plaintext": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
         "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        {"CiphertextBlob": blob, "Plaintext": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
         "KeyId": arn},
        {"CiphertextBlob": blob, "SourceKeyId": arn, "KeyId": arn,
         "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
         "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        {"KeyMetadata": {"AWSAccountId": "111122223333", "KeyId": arn.split("/")[-1], "Arn": arn,
                         "CreationDate": 1795976393.657768, "Enabled": True, "Description": "",
                         "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "Origin": "AWS_KMS",
                         "KeyManager": "CUSTOMER", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
                         "KeySpec": "SYMMETRIC_DEFAULT", "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
                         "MultiRegion": False}},
        {"KeyMetadata": {"KeyId": "k", "Enabled": False, "KeyUsage": None, "KeyState": "Disabled"}},
        {"CiphertextBlob": "not base64!", "KeyId": 7},
    ]
    for body in ok:
        write("kms_response", b"\x00\xc8" + json.dumps(body).encode())
    errors = [
        (400, '{"__type":"NotFoundException","message":"Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found."}'),
        (400, '{"__type":"InvalidCiphertextException"}'),
        (400, '{"__type":"com.amazonaws.kms#ThrottlingException:http://internal","Message":"Rate exceeded"}'),
        (400, '{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}'),
        (400, '{"__type":"InvalidSignatureException","message":"Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z (20150830T125100Z - 5 min.)"}'),
        (403, "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error></Errors><RequestId>7a62c49f</RequestId></ErrorResponse>"),
        (502, "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
        (503, ""),
        (500, '{"__type":"KMSInternalException"'),
        (429, '{"__type":"TooManyRequestsException","message":"\\u00e9\\ud83d\\ude00"}'),
    ]
    for status, body in errors:
        write("kms_response", status.to_bytes(2, "big") + body.encode())


def kms_request_seeds():
    for key_id, plaintext, ctx_key, ctx_value in [
        (b"alias/vault", bytes(32), b"", b""),
        (b"arn:aws:kms:us-east-1:111122223333:key/abc", b"secret", b"purpose", b"seal"),
        (b"k", b"\xff\xfe\x00", b"\"quoted\"\n", b"\\u0000"),
        (b"", b"", b"", b""),
    ]:
        write("kms_request", key_id + b"\0" + plaintext + b"\0" + ctx_key + b"\0" + ctx_value)


def vault_config_seeds():
    config_dir = ROOT / "tests" / "vectors" / "config"
    files = sorted(p for p in config_dir.rglob("*") if p.is_file() and p.suffix in (".hcl", ".json"))
    envs = [b"", b"AWS_REGION=eu-west-1\nVAULT_AWSKMS_SEAL_KEY_ID=alias/env",
            b"VAULT_SEAL_TYPE=awskms\nKMS_SEAL_TEST_SESSION_TOKEN=Token0123456789abcXYZ",
            b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nAWS_ACCESS_KEY_ID=AKID"]
    for i, path in enumerate(files):
        write("vault_config", path.read_bytes() + b"\0" + envs[i % len(envs)])
    write("vault_config", b'seal "awskms" {\n  kms_key_id = "k"\n  secret_key = <<EOF\nSecret9876abcDEF\nEOF\n  access_key = "a"\n}\n')
    write("vault_config", b'seal "awskms" {\n  kms_key_id = "${var.key}"\n  region = ("eu-west-1")\n  disabled = false\n}\n')
    write("vault_config", b'{"seal": {"awskms": [{"kms_key_id": "k", "secret_key": "env://S", "access_key": 1}]}}\0S=Value9876xyzQ')
    write("vault_config", b'seal "awskms" { secret_key = ["Secret1234abcd"] }')
    write("vault_config", b"a = " + b"[" * 64 + b"]" * 64 + b"\n")


def config_params_seeds():
    for text in [
        "kms_key_id=alias/x",
        "kms_key_id=k\naccess_key=A\nsecret_key=S\nsession_token=T",
        "$AWS_REGION=eu-west-1\n$VAULT_AWSKMS_SEAL_KEY_ID=k\nregion=us-east-2",
        "disallow_env_vars=true\n$AWSKMS_WRAPPER_KEY_ID=k",
        "key_not_required=1\naccess_key=env://\nsecret_key=x",
        "kms_key_id=k\nsecret_key=file:///etc/secret\naccess_key=env://AK\n$AK=x",
        "kms_key_id=k\nendpoint=http://127.0.0.1:4566\nregion=cn-north-1",
    ]:
        write("config_params", text)


def sigv4_seeds():
    rng = random.Random(5)
    for n in (0, 8, 32, 64, 128, 256, 512, 1024):
        write("sigv4_differential", bytes(rng.randrange(256) for _ in range(n)))
    # A plain KMS-like POST: default settings, POST, first host, token, us-east-1, kms.
    write("sigv4_differential", bytes([0, 0, 0, 1, 1, 1]) + bytes(40))


def pb_varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_field(number, data):
    """A length-delimited protobuf field (wire type 2)."""
    if isinstance(data, str):
        data = data.encode()
    return pb_varint(number << 3 | 2) + pb_varint(len(data)) + data


def openbao_requests_seeds(vectors):
    """pb.Wrapper requests as OpenBao 2.7 sends them (field numbers: plugin-openbao/src/proto.rs)."""
    entry = lambda k, v: pb_field(30, pb_field(1, k) + pb_field(2, v))
    config = entry("kms_key_id", "alias/vault") + entry("region", "eu-west-1")
    config += entry("endpoint", "http://127.0.0.1:4566") + entry("disabled", "maybe")
    write("openbao_requests", pb_field(20, config))
    write("openbao_requests", pb_field(20, config + bytes([0xD0, 0x05, 0x01])))  # 90: true
    wrapper_id = pb_field(1, "0123456789abcdef0123456789abcdef")
    write("openbao_requests", wrapper_id)
    write("openbao_requests", wrapper_id + pb_field(20, b""))
    aad = pb_field(20, pb_field(20, "core/hsm/barrier-unseal-keys"))
    write("openbao_requests", wrapper_id + pb_field(10, "a") + aad)
    for v in vectors[:4]:
        write("openbao_requests", wrapper_id + pb_field(10, bytes.fromhex(v["canonical"])) + aad)
    write("openbao_requests", pb_field(1, "plugin"))
    write("openbao_requests", b"")


def main():
    vectors = json.loads((ROOT / "tests/vectors/envelope/vectors.json").read_text())["vectors"]
    envelope_seeds(vectors)
    envelope_open_seeds(vectors)
    kms_response_seeds()
    kms_request_seeds()
    vault_config_seeds()
    config_params_seeds()
    sigv4_seeds()
    openbao_requests_seeds(vectors)
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {sum(1 for _ in d.iterdir())} seeds")


if __name__ == "__main__":
    main()
