# An unterminated string literal (the secret must not be echoed in the error).
seal "awskms" {
  kms_key_id = "alias/vault-unseal
  secret_key = "do-not-echo-this-secret"
}
