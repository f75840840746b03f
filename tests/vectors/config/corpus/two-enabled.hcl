# Two enabled seal "awskms" stanzas: ambiguous, must be rejected.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
}

seal "awskms" {
  kms_key_id = "alias/other"
}
