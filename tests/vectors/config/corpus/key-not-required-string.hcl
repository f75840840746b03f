# key_not_required = "true" as a string: must behave exactly like the bool.
seal "awskms" {
  kms_key_id       = "alias/vault-unseal"
  key_not_required = "true"
}
