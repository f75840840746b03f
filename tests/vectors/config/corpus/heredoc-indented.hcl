# An indented heredoc (<<-EOF): leading indentation is stripped, the trailing newline kept.
seal "awskms" {
  kms_key_id = <<-EOF
    alias/vault-unseal
    EOF
}
