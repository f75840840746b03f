seal "awskms" {
  kms_key_id = "alias/x"
  secret_key = "do-not-echo-this-secret
}
