# Seal migration, other order: the enabled new stanza first, the disabled old one second.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
}

seal "awskms" {
  kms_key_id = "alias/old-key"
  disabled   = true
}
