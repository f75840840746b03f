# A list for a string parameter: kms_key_id = ["alias/vault-unseal"].
seal "awskms" {
  kms_key_id = ["alias/vault-unseal"]
}
