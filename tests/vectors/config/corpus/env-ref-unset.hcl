# secret_key = env:// of a variable that is not set: a configuration error naming the variable.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  access_key        = "env://KMS_SEAL_CORPUS_ACCESS_KEY"
  secret_key        = "env://KMS_SEAL_CORPUS_NOT_SET"
  endpoint          = "@MOTO_ENDPOINT@"
  disallow_env_vars = true
}
