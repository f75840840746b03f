# An extra closing brace after the stanza: trailing garbage, a syntax error.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
}
}
