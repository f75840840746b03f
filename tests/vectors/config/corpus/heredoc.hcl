# A heredoc string (<<EOF): its value keeps the trailing newline.
seal "awskms" {
  kms_key_id = <<EOF
alias/vault-unseal
EOF
}
