# access_key without secret_key, env overrides disallowed: half a static key pair is an error.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  access_key        = "env://KMS_SEAL_CORPUS_ACCESS_KEY"
  endpoint          = "@MOTO_ENDPOINT@"
  disallow_env_vars = true
}
