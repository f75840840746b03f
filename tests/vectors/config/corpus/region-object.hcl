# An object for a string parameter: region = { a = 1 }.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  region     = { a = 1 }
}
