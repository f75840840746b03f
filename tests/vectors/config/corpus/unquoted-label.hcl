# The seal label without quotes: seal awskms { ... } (HCL1 accepts an identifier key).
seal awskms {
  kms_key_id = "alias/vault-unseal"
}
