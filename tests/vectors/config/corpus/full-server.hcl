# A full server config: ui, api_addr, storage with a nested retry_join, listener with nested telemetry, telemetry, a disabled transit seal.
ui            = true
api_addr      = "https://127.0.0.1:8200"
cluster_addr  = "https://127.0.0.1:8201"
disable_mlock = true
log_level     = "info"

storage "raft" {
  path    = "/opt/vault/data"
  node_id = "node-1"
  retry_join {
    leader_api_addr = "https://10.0.0.2:8200"
  }
  retry_join {
    leader_api_addr = "https://10.0.0.3:8200"
  }
}

listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = 1
  telemetry {
    unauthenticated_metrics_access = true
  }
}

telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}

seal "transit" {
  address  = "https://127.0.0.1:8201"
  key_name = "autounseal"
  disabled = true
}

seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  name       = "primary"
  priority   = 1
}
