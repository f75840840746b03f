# \u escapes in a string: "alias/vault-\u0075nseal" must decode to alias/vault-unseal.
seal "awskms" {
  kms_key_id = "alias/vault-\u0075nseal"
}
