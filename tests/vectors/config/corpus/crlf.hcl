# CRLF line endings throughout (a config written on Windows).
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  region     = "us-east-1"
}
