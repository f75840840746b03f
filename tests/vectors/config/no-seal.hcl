storage "file" {
  path = "/opt/vault/data"
}
