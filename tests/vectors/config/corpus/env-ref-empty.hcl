# access_key = "env://" with no variable name: an invalid reference.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  access_key = "env://"
  secret_key = "env://KMS_SEAL_CORPUS_SECRET_KEY"
}
