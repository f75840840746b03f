# kms_key_id at the top level outside any seal stanza: not a seal configuration.
kms_key_id = "alias/vault-unseal"
