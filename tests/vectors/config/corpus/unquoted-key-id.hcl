# An unquoted identifier as a value (kms_key_id = foo): not a string literal in HCL1.
seal "awskms" {
  kms_key_id = foo
}
