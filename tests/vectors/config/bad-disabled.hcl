seal "awskms" {
  kms_key_id = "alias/x"
  disabled   = "sometimes"
}
