//! A private `HOME` with AWS shared files (`.aws/config`, the sso token cache, helper
//! scripts), a stub of the IAM Identity Center portal ([`sso_portal`]), and boto3 as the
//! reference: [`Boto3::describe_key`] runs
//! `boto3.Session(profile_name=...)` with exactly the same files and environment as the code
//! under test, so a scenario that fails for us but works for boto3 is our bug.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use std::sync::Arc;

use crate::moto::{Moto, RecordedRequest, Reply, StubServer, python_executable};

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

/// The access token the portal stub accepts.
pub const SSO_TOKEN: &str = "aoaAAAAAGdG-valid-sso-access-token";
/// The account id in [`SSO_CONFIG`].
pub const SSO_ACCOUNT: &str = "111122223333";
/// The role name in [`SSO_CONFIG`].
pub const SSO_ROLE: &str = "VaultSeal";
/// The start URL in [`SSO_CONFIG`].
pub const SSO_START_URL: &str = "https://corp.awsapps.com/start";
/// The sso-session form's token cache file: hashlib.sha1(b"corp").hexdigest().
pub const SSO_SESSION_CACHE: &str = ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";
/// The legacy form's token cache file: hashlib.sha1(SSO_START_URL.encode()).hexdigest().
pub const SSO_LEGACY_CACHE: &str = ".aws/sso/cache/a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json";
/// 2099-01-01T00:00:00Z in milliseconds.
pub const SSO_ROLE_EXPIRATION_MS: u64 = 4_070_908_800_000;

/// A config file with an sso-session profile `modern` and a legacy profile `legacy`, both
/// for [`SSO_ROLE`] in [`SSO_ACCOUNT`].
pub const SSO_CONFIG: &str = "\
[profile modern]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = VaultSeal
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
[profile legacy]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = VaultSeal
";

/// A loopback stub of the IAM Identity Center portal's GetRoleCredentials, answering with
/// role credentials (an assumed role's, which moto accepts) for [`SSO_TOKEN`], [`SSO_ACCOUNT`]
/// and [`SSO_ROLE`] only: 401 `UnauthorizedException` for another token, 400 for another
/// request. Returns the server and the credentials it hands out.
///
/// # Panics
/// When moto's STS refuses the role.
pub fn sso_portal(moto: &Moto) -> (StubServer, [String; 3]) {
    // Role session credentials that moto's IAM checks (an assumed allow-all role).
    let role = Boto3::new().assume_role(
        &moto.endpoint,
        &moto.access_key_id,
        &moto.secret_access_key,
        &moto.role_arn,
    );
    let answer = serde_json::json!({
        "roleCredentials": {
            "accessKeyId": role[0],
            "secretAccessKey": role[1],
            "sessionToken": role[2],
            "expiration": SSO_ROLE_EXPIRATION_MS,
        }
    })
    .to_string();
    let answer = Arc::new(answer);
    let server = StubServer::start(move |r: &RecordedRequest| {
        let (path, query) = r.path.split_once('?').unwrap_or((&r.path, ""));
        let mut params: Vec<&str> = query.split('&').collect();
        params.sort_unstable();
        let wanted = [
            format!("account_id={SSO_ACCOUNT}"),
            format!("role_name={SSO_ROLE}"),
        ];
        if r.method != "GET" || path != "/federation/credentials" || params != wanted {
            return Reply::status(400, r#"{"message":"unexpected request"}"#);
        }
        if r.header("x-amz-sso_bearer_token") != Some(SSO_TOKEN) {
            return Reply::Respond {
                status: 401,
                headers: vec![(
                    "x-amzn-ErrorType".to_owned(),
                    "UnauthorizedException:http://internal.amazon.com/coral/".to_owned(),
                )],
                body: br#"{"message":"Session token not found or invalid"}"#.to_vec(),
            };
        }
        Reply::status(200, answer.as_bytes().to_vec())
    });
    (server, role)
}

/// A token cache file's JSON, as `aws sso login` writes it.
pub fn sso_cached_token(token: &str, expires_at: &str) -> String {
    serde_json::json!({
        "startUrl": SSO_START_URL,
        "region": "us-east-1",
        "accessToken": token,
        "expiresAt": expires_at,
    })
    .to_string()
}
