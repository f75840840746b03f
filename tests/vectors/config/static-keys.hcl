seal "awskms" {
  region        = "ap-southeast-2"
  access_key    = "AKIDEXAMPLEFROMFILE"
  secret_key    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  session_token = "env://KMS_SEAL_TEST_SESSION_TOKEN"
  kms_key_id    = "19ec80b0-dfdd-4d97-8164-c6examplekey"
  typo_param    = "ignored with a warning"
}
