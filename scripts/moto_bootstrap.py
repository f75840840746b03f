#!/usr/bin/env python3
"""Bootstraps a moto server started with INITIAL_NO_AUTH_ACTION_COUNT=4 for kms-seal.

The four free calls create an IAM user, its access key, an allow-all policy and a KMS key; every
later call must be signed with that access key, so moto checks our SigV4 signatures with
botocore. Prints one JSON object: endpoint, access_key_id, secret_access_key, key_id, key_arn,
alias. Usage: moto_bootstrap.py http://127.0.0.1:PORT [ALIAS]
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
alias = sys.argv[2] if len(sys.argv) > 2 else "alias/vault-unseal"
region = "us-east-1"

bootstrap = dict(
    endpoint_url=endpoint,
    region_name=region,
    aws_access_key_id="bootstrap",
    aws_secret_access_key="bootstrap",
)
iam = boto3.client("iam", **bootstrap)
iam.create_user(UserName="kms-seal")
key = iam.create_access_key(UserName="kms-seal")["AccessKey"]
iam.put_user_policy(
    UserName="kms-seal",
    PolicyName="allow-all",
    PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
)
kms_free = boto3.client("kms", **bootstrap)
meta = kms_free.create_key(Description="kms-seal test key")["KeyMetadata"]

kms = boto3.client(
    "kms",
    endpoint_url=endpoint,
    region_name=region,
    aws_access_key_id=key["AccessKeyId"],
    aws_secret_access_key=key["SecretAccessKey"],
)
kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
print(
    json.dumps(
        {
            "endpoint": endpoint,
            "region": region,
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
            "key_id": meta["KeyId"],
            "key_arn": meta["Arn"],
            "alias": alias,
        }
    )
)
