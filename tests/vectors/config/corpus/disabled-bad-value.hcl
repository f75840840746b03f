# disabled = "yes": not a Go strconv.ParseBool value, must be a configuration error.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  disabled   = "yes"
}
