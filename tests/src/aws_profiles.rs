//! A private `HOME` with AWS shared files (`.aws/config`, the sso token cache, helper
//! scripts), and boto3 as the reference: [`Boto3::describe_key`] runs
//! `boto3.Session(profile_name=...)` with exactly the same files and environment as the code
//! under test, so a scenario that fails for us but works for boto3 is our bug.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::moto::python_executable;

/// A private directory used as `HOME`, removed on drop.
#[derive(Debug)]
pub struct TempHome(PathBuf);

impl TempHome {
    /// A fresh, empty directory under the system temp dir; `tag` names it.
    ///
    /// # Panics
    /// When the directory cannot be created.
    pub fn new(tag: &str) -> TempHome {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("kms-seal-home-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp home");
        TempHome(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `relative` (creating folders) and returns the full path.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write a test file");
        path
    }

    /// Writes `.aws/config`.
    pub fn write_config(&self, text: &str) -> PathBuf {
        self.write(".aws/config", text)
    }

    /// Writes an executable `sh` script and returns its path.
    ///
    /// # Panics
    /// When the file cannot be written or made executable.
    pub fn write_script(&self, relative: &str, body: &str) -> PathBuf {
        let path = self.write(relative, &format!("#!/bin/sh\n{body}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .expect("chmod a test script");
        }
        path
    }

    /// The environment that points both the code under test and boto3 at these files:
    /// `HOME`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` (absent file), metadata off,
    /// and `PATH`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("HOME".to_owned(), self.0.display().to_string()),
            (
                "AWS_CONFIG_FILE".to_owned(),
                self.0.join(".aws/config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
                self.0.join(".aws/credentials").display().to_string(),
            ),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
            ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
        ]
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// boto3 (with botocore) as the reference client.
#[derive(Debug)]
pub struct Boto3 {
    python: PathBuf,
}

/// Resolves the profile's credentials with boto3, calls KMS `DescribeKey` at the endpoint,
/// prints the access key id and the key ARN.
const DESCRIBE_KEY: &str = "\
import sys, boto3
profile, endpoint, key = sys.argv[1:4]
session = boto3.Session(profile_name=profile)
kms = session.client('kms', endpoint_url=endpoint, region_name='us-east-1')
arn = kms.describe_key(KeyId=key)['KeyMetadata']['Arn']
print(session.get_credentials().get_frozen_credentials().access_key)
print(arn)
";

impl Boto3 {
    /// The interpreter that has moto, hence boto3.
    ///
    /// # Panics
    /// When Python with moto is missing, with what to install.
    pub fn new() -> Boto3 {
        let python = python_executable().unwrap_or_else(|e| panic!("{e}"));
        Boto3 { python }
    }

    fn command(
        &self,
        env: &[(String, String)],
        profile: &str,
        endpoint: &str,
        key: &str,
    ) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.args(["-c", DESCRIBE_KEY, profile, endpoint, key])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `DescribeKey` of `key` at `endpoint` with `profile`'s credentials, environment
    /// exactly `env`.
    ///
    /// # Panics
    /// When Python cannot be started.
    pub fn describe_key(
        &self,
        env: &[(String, String)],
        profile: &str,
        endpoint: &str,
        key: &str,
    ) -> Output {
        self.command(env, profile, endpoint, key)
            .output()
            .expect("python runs")
    }

    /// Temporary credentials of `role_arn` from STS `AssumeRole` at `endpoint` (moto), signed
    /// with the given key, after adding `sts:AssumeRole` for any principal to the role's trust
    /// policy: `[access key id, secret, session token]`.
    ///
    /// # Panics
    /// When the call fails, with boto3's stderr.
    pub fn assume_role(
        &self,
        endpoint: &str,
        access_key_id: &str,
        secret_access_key: &str,
        role_arn: &str,
    ) -> [String; 3] {
        // The role trusts only web identity; let any principal of the account assume it too.
        let script = "import sys, json, boto3\n\
            kw = dict(endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                      aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])\n\
            trust = {'Version': '2012-10-17', 'Statement': [\n\
                {'Effect': 'Allow', 'Principal': {'Federated': '*'}, 'Action': 'sts:AssumeRoleWithWebIdentity'},\n\
                {'Effect': 'Allow', 'Principal': {'AWS': '*'}, 'Action': 'sts:AssumeRole'}]}\n\
            boto3.client('iam', **kw).update_assume_role_policy(\n\
                RoleName=sys.argv[4].split('/')[-1], PolicyDocument=json.dumps(trust))\n\
            sts = boto3.client('sts', **kw)\n\
            c = sts.assume_role(RoleArn=sys.argv[4], RoleSessionName='sso')['Credentials']\n\
            print(c['AccessKeyId']); print(c['SecretAccessKey']); print(c['SessionToken'])\n";
        let out = Command::new(&self.python)
            .args([
                "-c",
                script,
                endpoint,
                access_key_id,
                secret_access_key,
                role_arn,
            ])
            .env_clear()
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "sts AssumeRole with boto3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines().map(str::to_owned);
        let mut next = || lines.next().expect("AssumeRole printed three lines");
        [next(), next(), next()]
    }

    /// Starts the same call without waiting (for a helper that hangs).
    ///
    /// # Panics
    /// When Python cannot be started.
    pub fn spawn_describe_key(
        &self,
        env: &[(String, String)],
        profile: &str,
        endpoint: &str,
        key: &str,
    ) -> Child {
        self.command(env, profile, endpoint, key)
            .spawn()
            .expect("python runs")
    }
}

impl Default for Boto3 {
    fn default() -> Self {
        Boto3::new()
    }
}

/// Asserts that boto3 succeeded and returns the access key id it used.
///
/// # Panics
/// When boto3 failed, with its stderr.
#[track_caller]
pub fn boto3_access_key(out: &Output) -> String {
    assert!(
        out.status.success(),
        "boto3 (the reference) failed, so the scenario itself is wrong: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Asserts that boto3 failed with `expected` in its stderr.
///
/// # Panics
/// When boto3 succeeded or failed differently.
#[track_caller]
pub fn assert_boto3_failed(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(expected),
        "boto3 (the reference) should fail with {expected}: status {:?}, stderr {stderr}",
        out.status
    );
}
