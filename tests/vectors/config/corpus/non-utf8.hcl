# Not UTF-8: a Latin-1 byte (0xE9) in a comment and in an unknown parameter's value.
# café
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  note       = "café"
}
