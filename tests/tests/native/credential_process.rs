//! `credential_process` profiles against moto with SigV4 checking on: the helper prints moto's
//! access key, so only a KMS call signed with what the helper printed succeeds (a helper that
//! prints a wrong secret makes moto refuse the signature). Every scenario runs first with
//! boto3 on the same files (kms_seal_tests::aws_profiles), so a failure is ours.

use std::path::Path;
use std::time::{Duration, Instant};

use kms_seal_core::time::Timestamp;
use kms_seal_tests::aws_profiles::{Boto3, TempHome, assert_boto3_failed, boto3_access_key};
use kms_seal_tests::moto::Moto;
use kms_seal_ureq::credentials::{ChainConfig, CredentialChain, EnvLookup};

/// A shell snippet that prints `json` verbatim.
fn print_json(json: &str) -> String {
    format!("cat <<'JSON'\n{json}\nJSON\n")
}

fn document(access_key: &str, secret: &str, extra: &str) -> String {
    format!(
        r#"{{"Version": 1, "AccessKeyId": "{access_key}", "SecretAccessKey": "{secret}"{extra}}}"#
    )
}

fn chain(home: &TempHome, profile: &str, extra: &[(&str, &str)]) -> CredentialChain {
    let mut pairs = home.env();
    pairs.push(("AWS_PROFILE".to_owned(), profile.to_owned()));
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    CredentialChain::new(ChainConfig::default(), EnvLookup::from_pairs(pairs))
}

fn round_trip(moto: &Moto, chain: CredentialChain) -> Result<(), String> {
    crate::moto_round_trip(moto, chain, b"barrier keyring")
}

fn reason(chain: &CredentialChain, now: Timestamp) -> String {
    chain.resolve(now, false).unwrap_err().to_string()
}

#[test]
fn helper_credentials_sign_kms_calls_with_and_without_expiration() {
    let moto = Moto::start();
    let boto3 = Boto3::new();
    let home = TempHome::new("process");
    let plain = home.write_script(
        "bin/plain",
        &print_json(&document(&moto.access_key_id, &moto.secret_access_key, "")),
    );
    let expiring = home.write_script(
        "bin/expiring",
        &print_json(&document(
            &moto.access_key_id,
            &moto.secret_access_key,
            r#", "SessionToken": "", "Expiration": "2099-01-01T00:00:00Z""#,
        )),
    );
    let wrong = home.write_script(
        "bin/wrong",
        &print_json(&document(
            &moto.access_key_id,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY",
            "",
        )),
    );
    home.write_config(&format!(
        "[profile plain]\ncredential_process = {}\n\
         [profile expiring]\ncredential_process = {}\n\
         [profile wrong]\ncredential_process = {}\n",
        plain.display(),
        expiring.display(),
        wrong.display()
    ));
    for profile in ["plain", "expiring"] {
        let out = boto3.describe_key(&home.env(), profile, &moto.endpoint, &moto.alias);
        assert_eq!(boto3_access_key(&out), moto.access_key_id);
        round_trip(&moto, chain(&home, profile, &[]))
            .unwrap_or_else(|e| panic!("{profile}: {e}\nmoto log:\n{}", moto.log_tail()));
    }
    let (c, from) = chain(&home, "expiring", &[])
        .resolve(Timestamp(1_800_000_000), false)
        .unwrap();
    assert_eq!(from, "shared files");
    assert_eq!(c.expires_at(), Some(Timestamp(4_070_908_800)));
    assert_eq!(c.session_token(), None);

    // The helper's secret is what signs: a wrong one is refused by moto, for boto3 and us.
    let out = boto3.describe_key(&home.env(), "wrong", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "signature");
    let e = round_trip(&moto, chain(&home, "wrong", &[])).unwrap_err();
    assert!(e.contains("SignatureDoesNotMatch"), "{e}");
}

#[test]
fn helper_is_run_again_when_its_credentials_expire() {
    let moto = Moto::start();
    let home = TempHome::new("process-refresh");
    let counter = home.path().join("runs");
    let body = |expiration: &str| {
        format!(
            "n=$(cat '{c}' 2>/dev/null || echo 0); echo $((n + 1)) > '{c}'\n{}",
            print_json(&document(
                &moto.access_key_id,
                &moto.secret_access_key,
                expiration
            )),
            c = counter.display()
        )
    };
    let expiring = home.write_script(
        "bin/expiring",
        &body(r#", "Expiration": "2027-01-15T08:00:00Z""#),
    );
    let forever = home.write_script("bin/forever", &body(""));
    home.write_config(&format!(
        "[profile expiring]\ncredential_process = {}\n[profile forever]\ncredential_process = {}\n",
        expiring.display(),
        forever.display()
    ));
    let runs = || -> u32 {
        std::fs::read_to_string(&counter)
            .map(|t| t.trim().parse().unwrap())
            .unwrap_or(0)
    };
    // boto3 reads the same document (an Expiration still in the future) and signs with it.
    let out = Boto3::new().describe_key(&home.env(), "expiring", &moto.endpoint, &moto.alias);
    assert_eq!(boto3_access_key(&out), moto.access_key_id);
    let _ = std::fs::remove_file(&counter);

    let expires: u64 = 1_800_000_000; // 2027-01-15T08:00:00Z
    let chain_expiring = chain(&home, "expiring", &[]);
    let at = |secs: u64| chain_expiring.resolve(Timestamp(secs), false).unwrap().0;
    assert_eq!(at(expires - 3_600).expires_at(), Some(Timestamp(expires)));
    assert_eq!(runs(), 1);
    at(expires - 600);
    assert_eq!(runs(), 1, "cached until 5 minutes before Expiration");
    at(expires - 200);
    assert_eq!(runs(), 2, "run again inside the 5 minute margin");
    at(expires + 7_200);
    assert_eq!(runs(), 3, "run again after Expiration");

    let _ = std::fs::remove_file(&counter);
    let chain_forever = chain(&home, "forever", &[]);
    for secs in [0, 1_800_000_000, 4_000_000_000] {
        chain_forever.resolve(Timestamp(secs), false).unwrap();
    }
    assert_eq!(runs(), 1, "no Expiration: run once");
}

#[test]
fn arguments_with_spaces_and_quotes_reach_the_helper_unchanged() {
    let moto = Moto::start();
    let home = TempHome::new("process-args");
    let script = home.write_script(
        "my helpers/get creds",
        &format!(
            concat!(
                r#"if [ "$#" = 3 ] && [ "$1" = 'arg one' ] && [ "$2" = 'it'\''s "quoted" \ $HOME' ] "#,
                r#"&& [ "$3" = 'a#b;c' ]; then :; else echo "unexpected arguments: $#: $*" >&2; exit 9; fi"#,
                "\n{}"
            ),
            print_json(&document(&moto.access_key_id, &moto.secret_access_key, ""))
        ),
    );
    // A shell would expand $HOME and stop at `;`; shlex keeps both.
    home.write_config(&format!(
        "[profile args]\ncredential_process = \"{}\" 'arg one' \"it's \\\"quoted\\\" \\\\ $HOME\" a#b;c\n",
        script.display()
    ));
    let out = Boto3::new().describe_key(&home.env(), "args", &moto.endpoint, &moto.alias);
    assert_eq!(boto3_access_key(&out), moto.access_key_id);
    round_trip(&moto, chain(&home, "args", &[]))
        .unwrap_or_else(|e| panic!("{e}\nmoto log:\n{}", moto.log_tail()));
}

#[test]
fn non_zero_exit_reports_the_first_stderr_line_and_never_stdout() {
    let moto = Moto::start();
    let home = TempHome::new("process-fail");
    let script = home.write_script(
        "bin/fails",
        &format!(
            "{}printf '\\n   \\nError: the seal admin token expired\\nsecond line\\n' >&2\nexit 2\n",
            print_json(&document("AKIASTDOUTLEAK", "stdout-secret-must-not-leak", ""))
        ),
    );
    home.write_config(&format!(
        "[profile fails]\ncredential_process = {}\n",
        script.display()
    ));
    let out = Boto3::new().describe_key(&home.env(), "fails", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "Error: the seal admin token expired");
    let e = reason(&chain(&home, "fails", &[]), Timestamp(1_800_000_000));
    assert!(
        e.contains(
            "credential_process of profile 'fails' exited with status 2: Error: the seal admin \
             token expired;"
        ),
        "{e}"
    );
    assert!(!e.contains("second line"), "{e}");
    assert!(
        !e.contains("stdout-secret") && !e.contains("AKIASTDOUTLEAK"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn hanging_helper_is_killed_and_reaped_within_the_bound() {
    let moto = Moto::start();
    let home = TempHome::new("process-hang");
    let script = home.write_script("bin/hangs", "echo $$ > \"$1\"\nexec sleep 300\n");
    let pid_file = home.path().join("pid");
    home.write_config(&format!(
        "[profile hangs]\ncredential_process = {} {}\n",
        script.display(),
        pid_file.display()
    ));
    let read_pid = || -> Option<u32> {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
    };
    let kill = |pid: u32| {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    };

    // boto3 has no bound: after 3 s it is still waiting for the helper.
    let mut python =
        Boto3::new().spawn_describe_key(&home.env(), "hangs", &moto.endpoint, &moto.alias);
    let started = Instant::now();
    while read_pid().is_none() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3).saturating_sub(started.elapsed()));
    let still_running = python.try_wait().unwrap().is_none();
    let _ = python.kill();
    let _ = python.wait();
    let helper = read_pid().expect("the helper started under boto3");
    kill(helper);
    assert!(
        still_running,
        "boto3 should still be waiting for the hung helper"
    );
    std::fs::remove_file(&pid_file).unwrap();

    let started = Instant::now();
    let e = reason(
        &chain(
            &home,
            "hangs",
            &[("KMS_SEAL_CREDENTIAL_PROCESS_TIMEOUT", "1")],
        ),
        Timestamp(1_800_000_000),
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert!(
        e.contains(
            "credential_process of profile 'hangs' did not finish within 1 s and was killed"
        ),
        "{e}"
    );
    let pid = read_pid().expect("the helper started under kms-seal");
    // Killed and reaped: not even a zombie is left.
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "helper {pid} is still there"
    );
}

#[test]
fn command_lines_split_exactly_like_python_shlex() {
    // Deterministic strings over the characters that matter to the splitter.
    const ALPHABET: &[char] = &[
        'a', 'b', ' ', '\t', '\n', '\'', '"', '\\', '#', '$', ';', 'é',
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let inputs: Vec<String> = (0..3_000)
        .map(|_| {
            let len = next() % 12;
            (0..len)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect()
        })
        .collect();
    let python = kms_seal_tests::moto::python_executable().unwrap_or_else(|e| panic!("{e}"));
    let script = "import json, shlex, sys\n\
        out = []\n\
        for s in json.load(sys.stdin):\n\
        \x20   try: out.append(shlex.split(s))\n\
        \x20   except ValueError: out.append(None)\n\
        json.dump(out, sys.stdout)\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    let input = serde_json::to_vec(&inputs).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let expected: Vec<Option<Vec<String>>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(expected.len(), inputs.len());
    let mut errors = 0;
    for (input, want) in inputs.iter().zip(expected) {
        let got = kms_seal_ureq::credentials::process::split_command_line(input).ok();
        errors += usize::from(want.is_none());
        assert_eq!(got, want, "splitting {input:?}");
    }
    // Both outcomes were exercised.
    assert!(errors > 100 && errors < 2_900, "{errors}");
}
