# Comment markers inside a string are part of it: kms_key_id must be "alias/vault-unseal#x//y/*z*/".
seal "awskms" {
  kms_key_id = "alias/vault-unseal#x//y/*z*/"
}
