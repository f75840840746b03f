seal "awskms" {
  kms_key_id = "alias/old"
  disabled   = "true"
}

seal "transit" {
  address  = "https://127.0.0.1:8201"
  key_name = "autounseal"
}
