seal "awskms" {
  kms_key_id = "alias/one"
}

seal "awskms" {
  kms_key_id = "alias/two"
}
