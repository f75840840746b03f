# Storage and listener only, no seal stanza: no awskms configuration in the file.
storage "file" {
  path = "/opt/vault/data"
}
