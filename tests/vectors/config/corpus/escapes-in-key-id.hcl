# \" \\ \n and \u00e9 escapes in kms_key_id: decoded the same, and shown the same in the error.
seal "awskms" {
  kms_key_id = "alias/quote\"back\\slash\nnew-line-caf\u00e9"
}
