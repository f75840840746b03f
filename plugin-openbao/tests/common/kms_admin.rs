//! Key administration in moto with boto3 (Python, moto's own dependency): create a key, point
//! an alias at another key, disable a key. Calls go straight to moto, signed with the
//! bootstrapped access key (moto checks every signature after the bootstrap).

use std::process::{Command, Stdio};

use kms_seal_tests::moto::Moto;
use serde_json::Value;

/// A KMS key: its id (UUID) and ARN.
#[derive(Clone, Debug)]
pub struct Key {
    /// Key id.
    pub id: String,
    /// Key ARN.
    pub arn: String,
}

const SCRIPT: &str = r#"
import json, sys
import boto3
endpoint, region, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
kms = boto3.client("kms", endpoint_url=endpoint, region_name=region)
if op == "create-key":
    meta = kms.create_key(Description=args[0])["KeyMetadata"]
    print(json.dumps({"KeyId": meta["KeyId"], "Arn": meta["Arn"]}))
elif op == "update-alias":
    kms.update_alias(AliasName=args[0], TargetKeyId=args[1])
    print("{}")
elif op == "disable-key":
    kms.disable_key(KeyId=args[0])
    print("{}")
elif op == "describe-key":
    meta = kms.describe_key(KeyId=args[0])["KeyMetadata"]
    print(json.dumps({"KeyId": meta["KeyId"], "Arn": meta["Arn"], "Enabled": meta["Enabled"]}))
else:
    sys.exit("unknown operation " + op)
"#;

/// Creates a symmetric key.
///
/// # Errors
/// boto3's message, with moto's log.
pub fn create_key(moto: &Moto, description: &str) -> Result<Key, String> {
    let out = run(moto, "create-key", &[description])?;
    Ok(Key {
        id: field(&out, "KeyId")?,
        arn: field(&out, "Arn")?,
    })
}

/// Points `alias` at `key_id`.
///
/// # Errors
/// boto3's message, with moto's log.
pub fn update_alias(moto: &Moto, alias: &str, key_id: &str) -> Result<(), String> {
    run(moto, "update-alias", &[alias, key_id]).map(drop)
}

/// Disables a key: Encrypt and Decrypt with it fail with `DisabledException` from then on.
///
/// # Errors
/// boto3's message, with moto's log.
pub fn disable_key(moto: &Moto, key_id: &str) -> Result<(), String> {
    run(moto, "disable-key", &[key_id]).map(drop)
}

/// The key an id, ARN or alias names.
///
/// # Errors
/// boto3's message, with moto's log.
pub fn describe_key(moto: &Moto, key: &str) -> Result<Key, String> {
    let out = run(moto, "describe-key", &[key])?;
    Ok(Key {
        id: field(&out, "KeyId")?,
        arn: field(&out, "Arn")?,
    })
}

fn run(moto: &Moto, op: &str, args: &[&str]) -> Result<Value, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .args([moto.endpoint.as_str(), moto.region.as_str(), op])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {python} for boto3 ({e}); run scripts/setup.sh"))?;
    if !out.status.success() {
        return Err(format!(
            "boto3 kms {op} {args:?} failed ({}): {}\n--- moto log ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            moto.log_tail()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "boto3 kms {op} printed non-JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn field(value: &Value, name: &str) -> Result<String, String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("boto3 answer has no {name}: {value}"))
}
