# A nested block inside the awskms stanza: not a seal parameter (ignored, warned or rejected).
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  extra {
    inner = "value"
  }
}
