# Block form seal { awskms { ... } }: in Vault's HCL1 the seal type is the label, so this is a seal of type "seal".
seal {
  awskms {
    kms_key_id = "alias/vault-unseal"
  }
}
