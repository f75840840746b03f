# Minimal valid stanza: the key alias only; region, endpoint and credentials come from the environment.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
}
