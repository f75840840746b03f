# disabled = 1 (HCL number): Go's ParseBool accepts "1" once Vault stringifies it.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  disabled   = 1
}
