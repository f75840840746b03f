storage "raft" {
  path = "/opt/vault/data"
}
