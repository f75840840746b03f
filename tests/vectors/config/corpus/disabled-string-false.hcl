# disabled = "false" (string): the stanza is enabled and seals.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  disabled   = "false"
}
