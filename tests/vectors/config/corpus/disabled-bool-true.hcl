# The only awskms stanza has disabled = true (HCL bool): nothing enabled to seal with.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  disabled   = true
}
