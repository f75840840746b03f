# kms_key_id = null: HCL1 (Vault) has no null literal; HCL2 does. Accepted as unset, or a syntax error?
seal "awskms" {
  kms_key_id = null
}
