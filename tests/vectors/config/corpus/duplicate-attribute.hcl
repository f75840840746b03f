# The same attribute twice in one stanza (kms_key_id): rejected, first wins, or last wins?
seal "awskms" {
  kms_key_id = "alias/first"
  kms_key_id = "alias/vault-unseal"
}
