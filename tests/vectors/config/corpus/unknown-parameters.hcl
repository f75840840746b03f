# Unknown parameters (a typo kms_keyid and a made-up one) next to Vault's generic name/priority: warned, not fatal.
seal "awskms" {
  kms_key_id = "alias/vault-unseal"
  kms_keyid  = "alias/typo"
  colour     = "blue"
  name       = "primary"
  priority   = 1
}
