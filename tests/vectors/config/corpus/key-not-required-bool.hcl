# key_not_required = true as an HCL bool (no DescribeKey at start-up), key id still set.
seal "awskms" {
  kms_key_id       = "alias/vault-unseal"
  key_not_required = true
}
