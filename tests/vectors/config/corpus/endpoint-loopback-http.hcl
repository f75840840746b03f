# endpoint = http:// on loopback (moto), env overrides disallowed: plain HTTP is allowed on loopback.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  endpoint          = "@MOTO_ENDPOINT@"
  access_key        = "env://KMS_SEAL_CORPUS_ACCESS_KEY"
  secret_key        = "env://KMS_SEAL_CORPUS_SECRET_KEY"
  disallow_env_vars = true
}
