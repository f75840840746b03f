# endpoint = http:// to a non-loopback host, env overrides disallowed: must be refused before any request.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  endpoint          = "http://kms.example.com"
  access_key        = "env://KMS_SEAL_CORPUS_ACCESS_KEY"
  secret_key        = "env://KMS_SEAL_CORPUS_SECRET_KEY"
  disallow_env_vars = true
}
