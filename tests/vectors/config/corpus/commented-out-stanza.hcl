# A block comment hides a second enabled stanza: only one stanza is live.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
}
/*
seal "awskms" {
  kms_key_id = "alias/other"
}
*/
