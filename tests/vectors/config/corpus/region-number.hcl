# A number for a string parameter: region = 1 (Vault stringifies it to "1").
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  region     = 1
}
