# access_key/secret_key as env:// references, env overrides disallowed, endpoint from the file: must seal.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  access_key        = "env://KMS_SEAL_CORPUS_ACCESS_KEY"
  secret_key        = "env://KMS_SEAL_CORPUS_SECRET_KEY"
  endpoint          = "@MOTO_ENDPOINT@"
  disallow_env_vars = true
}
