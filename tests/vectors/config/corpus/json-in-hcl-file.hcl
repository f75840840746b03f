# JSON content in a file named .hcl (Vault's HCL1 parser accepts JSON here):
{"seal": {"awskms": {"kms_key_id": "alias/vault-unseal"}}}
