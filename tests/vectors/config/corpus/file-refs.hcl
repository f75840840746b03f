# access_key/secret_key as file:// references (files the test writes next to the config), env overrides disallowed.
seal "awskms" {
  kms_key_id        = "alias/vault-unseal"
  access_key        = "file://@CORPUS_DIR@/access-key.txt"
  secret_key        = "file://@CORPUS_DIR@/secret-key.txt"
  endpoint          = "@MOTO_ENDPOINT@"
  disallow_env_vars = "true"
}
