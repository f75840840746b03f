# A Vault server in the middle of a seal migration: the old KMS key's stanza is
# disabled, the new one is live. Other blocks must be ignored.
ui            = true
api_addr      = "https://127.0.0.1:8200"
disable_mlock = true

storage "raft" {
  path    = "/opt/vault/data"
  node_id = "node-1"
}

listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = 1
}

seal "awskms" {
  region     = "us-west-2"
  kms_key_id = "arn:aws:kms:us-west-2:111122223333:key/old-key"
  disabled   = "true"
}

seal "transit" {
  address    = "https://127.0.0.1:8201"
  key_name   = "autounseal"
  mount_path = "transit/"
  disabled   = true
}

seal "awskms" {
  region                = "eu-west-1"
  kms_key_id            = "alias/vault-unseal"
  endpoint              = "https://vpce-0123.kms.eu-west-1.vpce.amazonaws.com"
  shared_creds_profile  = "vault"
  role_session_name     = "vault-seal"
  key_not_required      = false
  name                  = "primary"
  priority              = 1
}
