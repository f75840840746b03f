# An invalid region (region = "eu west 1", spaces): a configuration error naming region.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  region     = "eu west 1"
}
