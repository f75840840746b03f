# secret_key = file:// of a file that does not exist: a configuration error naming the path.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  access_key        = "env://KMS_SEAL_CORPUS_ACCESS_KEY"
  secret_key        = "file://@CORPUS_DIR@/no-such-file.txt"
  endpoint          = "@MOTO_ENDPOINT@"
  disallow_env_vars = true
}
