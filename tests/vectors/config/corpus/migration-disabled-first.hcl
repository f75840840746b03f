# Seal migration: the disabled old awskms stanza first, the enabled new one second.
seal "awskms" {
  kms_key_id = "alias/old-key"
  disabled   = "true"
}

seal "awskms" {
  kms_key_id = "alias/vault-unseal"
}
