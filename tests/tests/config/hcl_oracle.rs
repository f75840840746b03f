//! The one HCL reader of `kms_seal_cli::config` against hcl-rs, over every configuration file
//! in `vectors/config/` (the samples and the corpus of `vectors/config/corpus/`).
//!
//! hcl-rs reads HCL 2, Vault's configurations are HCL 1: the readers may differ on what they
//! accept (HCL 2 expressions, HCL 1 `key: value`), but wherever both accept a file they must
//! find the same seal stanzas with the same values, and every file of the Vault subset that
//! hcl-rs accepts must be accepted by ours too.

use std::path::{Path, PathBuf};

use kms_seal_cli::config::{ConfigFormat, raw_seal_stanzas};
use kms_seal_tests::vault_config::{hcl_oracle_agrees, hcl_rs_seal_stanzas, vault_config};

fn config_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            config_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "hcl" || e == "json") {
            out.push(path);
        }
    }
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    config_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/config"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 10, "only {} config files found", files.len());
    files
}

#[test]
fn our_reader_and_hcl_rs_agree_on_every_sample() {
    let mut compared = 0;
    let mut only_hcl_rs = Vec::new();
    for path in all_files() {
        if path.extension().is_some_and(|e| e == "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // the non-UTF-8 sample
        };
        hcl_oracle_agrees(&text);
        let ours = raw_seal_stanzas(&text, ConfigFormat::Hcl);
        let theirs = hcl_rs_seal_stanzas(&text);
        match (&ours, &theirs) {
            (Ok(_), Some(_)) => compared += 1,
            (Err(_), Some(stanzas)) => only_hcl_rs.push(format!("{}: {stanzas:?}", path.display())),
            _ => {}
        }
    }
    assert!(compared >= 5, "only {compared} files were read by both");
    assert!(
        only_hcl_rs.is_empty(),
        "hcl-rs reads these files but our reader refuses them:\n{}",
        only_hcl_rs.join("\n")
    );
}

#[test]
fn the_fuzz_properties_hold_on_every_sample() {
    for path in all_files() {
        let bytes = std::fs::read(&path).unwrap();
        vault_config(&bytes);
    }
}
