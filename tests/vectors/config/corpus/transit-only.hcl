# Only another seal type (seal "transit"): no awskms stanza at all.
seal "transit" {
  address    = "https://127.0.0.1:8201"
  key_name   = "autounseal"
  mount_path = "transit/"
}
