# A single-quoted string ('alias/vault-unseal'): not a string in HCL.
seal "awskms" {
  kms_key_id = 'alias/vault-unseal'
}
