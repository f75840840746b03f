# Comments of all three kinds (#, //, /* */) before, between and after attributes and values.
// a line comment before the stanza
/* a block comment
   over two lines */
seal "awskms" { # after the opening brace
  // before an attribute
  kms_key_id = /* between = and the value */ "alias/vault-unseal" # after the value
  region     = "us-east-1" // after another value
  /* seal "awskms" { kms_key_id = "alias/commented-out" } */
} /* after the closing brace */
# a final comment without a newline