# region from the file, env overrides disallowed: the key lives in us-east-1 only, so eu-west-1 cannot find it.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  region            = "eu-west-1"
  endpoint          = "@MOTO_ENDPOINT@"
  access_key        = "env://KMS_SEAL_CORPUS_ACCESS_KEY"
  secret_key        = "env://KMS_SEAL_CORPUS_SECRET_KEY"
  disallow_env_vars = true
}
