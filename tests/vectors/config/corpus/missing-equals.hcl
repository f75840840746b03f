# An attribute without "=" (kms_key_id "alias/vault-unseal"): a syntax error.
seal "awskms" {
  kms_key_id "alias/vault-unseal"
}
