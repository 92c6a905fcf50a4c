//! Replays every committed fuzz seed (`fuzz/seeds/<target>/`) through its target's body, on
//! stable Rust and without libFuzzer: the bodies are the fuzz crate's own code
//! (`fuzz/src/lib.rs`), included here as a module, so the targets and this test cannot drift
//! apart. Beside the one table-driven replay: checks that particular seeds reach the branches
//! they were written for, and cheap deterministic sweeps (truncations, flipped bytes, random
//! bytes) over the same bodies.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use proptest::prelude::*;

#[path = "../fuzz/src/lib.rs"]
mod bodies;

/// The fewest seeds each target keeps committed (a target whose seeds go missing fails here).
const MIN_SEEDS: [(&str, usize); 9] = [
    ("authn_flow", 20),
    ("crest_parse", 20),
    ("device_json", 10),
    ("filter_eval", 10),
    ("filter_parse", 20),
    ("filter_sql", 9),
    ("order_commands", 20),
    ("policy_json", 15),
    ("webauthn_verify", 20),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The committed seeds of one target, sorted by file name.
fn target_seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// File stems (or directory names) in `dir`.
fn names_in(dir: &Path, ext: Option<&str>) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| ext.is_none_or(|ext| p.extension().is_some_and(|x| x == ext)))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_target_has_a_body_seeds_and_a_minimum() {
    let bodies: BTreeSet<String> = bodies::TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    let minimums: BTreeSet<String> = MIN_SEEDS.iter().map(|(n, _)| n.to_string()).collect();
    let targets = names_in(&fuzz_dir().join("fuzz_targets"), Some("rs"));
    let seeds = names_in(&fuzz_dir().join("seeds"), None);
    assert_eq!(bodies, targets, "fuzz/fuzz_targets/*.rs vs bodies::TARGETS");
    assert_eq!(bodies, seeds, "fuzz/seeds/* vs bodies::TARGETS");
    assert_eq!(bodies, minimums, "MIN_SEEDS vs bodies::TARGETS");
}

/// The table-driven replay: every seed of every target through the target's body. A seed that
/// breaks an invariant is reported by target and file name (all of them, not just the first).
#[test]
fn every_seed_replays() {
    let mut failed = Vec::new();
    let mut total = 0;
    for (target, body) in bodies::TARGETS {
        let seeds = target_seeds(target);
        let min = MIN_SEEDS
            .iter()
            .find(|(n, _)| *n == target)
            .map_or(1, |m| m.1);
        assert!(
            seeds.len() >= min,
            "{target}: expected at least {min} committed seeds, found {}",
            seeds.len()
        );
        for (name, data) in &seeds {
            if catch_unwind(AssertUnwindSafe(|| body(data))).is_err() {
                failed.push(format!("{target}/{name}"));
            }
        }
        total += seeds.len();
    }
    assert!(
        failed.is_empty(),
        "seeds that break an invariant: {failed:?}"
    );
    assert!(
        total >= MIN_SEEDS.iter().map(|m| m.1).sum(),
        "{total} seeds"
    );
}

// authn_flow --------------------------------------------------------------------------------

fn seeds() -> Vec<(String, Vec<u8>)> {
    target_seeds("authn_flow")
}

#[test]
fn authn_flow_survives_truncations_of_every_seed() {
    for (_, data) in seeds() {
        for cut in (0..data.len()).step_by(7) {
            bodies::authn_flow(&data[..cut]);
        }
    }
}

#[test]
fn seeds_reach_their_branches() {
    use mfa_devices::authn::AuthenticationStatus as S;
    let seeds = seeds();
    let run = |name: &str| {
        let data = &seeds.iter().find(|(n, _)| n == name).unwrap().1;
        bodies::authn_flow_statuses(data)
    };
    let last = |name: &str| run(name).last().cloned().unwrap();
    assert_eq!(last("email_right_otp.bin"), S::Completed);
    assert_eq!(last("email_lockout.bin"), S::Failed);
    assert_eq!(last("lock_then_select_other.bin"), S::Completed);
    assert!(run("lock_then_select_other.bin").contains(&S::DeviceSelectionRequired));
    assert_eq!(last("zero_cooldown_reselect.bin"), S::Completed);
    assert!(run("push_timeout_then_approve.bin").contains(&S::PushConfirmationTimedOut));
    assert_eq!(last("push_timeout_then_approve.bin"), S::Completed);
    assert_eq!(last("push_deny.bin"), S::Failed);
    assert_eq!(last("push_cancel.bin"), S::Completed);
    assert_eq!(last("mobile_otp_only_app.bin"), S::Completed);
    assert!(run("fido2_compat.bin").contains(&S::AssertionRequired));
    assert_eq!(last("fido2_compat.bin"), S::Failed);
    assert_eq!(run("all_locked_blocked.bin"), vec![S::Failed]);
    assert_eq!(last("lock_expires_later.bin"), S::Completed);
    assert_eq!(last("unordered_authenticators.bin"), S::Completed);
    assert_eq!(
        run("unordered_authenticators.bin")[0],
        S::DeviceSelectionRequired
    );
    assert_eq!(last("select_bodies.bin"), S::Completed);
    assert_eq!(last("test_mode_sms.bin"), S::Completed);
    assert_eq!(last("prompt_single_usable.bin"), S::Completed);
    assert_eq!(run("disabled_methods.bin"), vec![S::Failed]);
    assert_eq!(last("prior_failures.bin"), S::Failed);
    assert_eq!(last("terminal_then_everything.bin"), S::Completed);
    assert_eq!(last("expired_otp.bin"), S::OtpRequired);
}

#[test]
fn sync_seeds_reach_their_branches() {
    use mfa_devices::authn::AuthenticationStatus as S;
    let seeds = seeds();
    let run = |name: &str| {
        let data = &seeds.iter().find(|(n, _)| n == name).unwrap().1;
        bodies::authn_flow_statuses(data)
    };
    let block = run("sync_block_selected.bin");
    assert_eq!(block[1], S::DeviceSelectionRequired);
    assert_eq!(block.last(), Some(&S::Completed));
    assert_eq!(run("sync_push_lock_fails.bin").last(), Some(&S::Failed));
    assert_eq!(run("sync_delete_all.bin").last(), Some(&S::Failed));
}

#[test]
fn aggregate_seed_reaches_its_branches() {
    use mfa_devices::authn::AuthenticationStatus as S;
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/seeds/authn_flow/aggregate_admin_changes.bin"
    ))
    .unwrap();
    let statuses = bodies::authn_flow_statuses(&data);
    assert_eq!(statuses[0], S::DeviceSelectionRequired);
    assert_eq!(statuses.last(), Some(&S::Completed));
}

// crest_parse -------------------------------------------------------------------------------

#[test]
fn crest_parse_survives_awkward_bytes() {
    for data in [
        &b""[..],
        b"\xff\xfe",
        b"\"\\",
        b"'",
        b"/a eq \"\xc3\"",
        b"! ! ! !",
        b"/~",
        b")))(((",
    ] {
        bodies::crest_parse(data);
    }
}

// filter_eval -------------------------------------------------------------------------------

#[test]
fn filter_eval_seeds_are_a_filter_line_and_a_json_resource() {
    for (name, data) in target_seeds("filter_eval") {
        let text = String::from_utf8(data).unwrap();
        let (filter, json) = text.split_once('\n').unwrap();
        assert!(
            mfa_devices::filter::Filter::parse(filter).is_ok(),
            "{name}: {filter}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(json).is_ok(),
            "{name}: {json}"
        );
    }
}

// order_commands ----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn order_commands_random_bytes_keep_the_invariants(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        bodies::order_commands(&data);
    }
}

// policy_json -------------------------------------------------------------------------------

#[test]
fn policy_json_seeds_cover_both_paths() {
    let seeds = target_seeds("policy_json");
    let parsed = seeds
        .iter()
        .filter(|(_, data)| {
            serde_json::from_slice::<mfa_devices::policy::DeviceAuthenticationPolicy>(data).is_ok()
        })
        .count();
    // The seeds exercise both paths: bodies that parse and inputs that do not.
    assert!(
        parsed >= 8 && parsed < seeds.len(),
        "{parsed} of {} parsed",
        seeds.len()
    );
}

#[test]
fn policy_json_survives_arbitrary_bytes() {
    // A cheap deterministic sweep on top of the seeds: every prefix of the fixture, and bytes
    // flipped across it.
    let fixture = include_bytes!("fixtures/policy/read_one.json");
    for end in (0..fixture.len()).step_by(7) {
        bodies::policy_json(&fixture[..end]);
    }
    let mut data = fixture.to_vec();
    for i in (0..data.len()).step_by(13) {
        let old = data[i];
        for b in [b'"', b'9', b'-', b'{', b'}', b'0', 0xff] {
            data[i] = b;
            bodies::policy_json(&data);
        }
        data[i] = old;
    }
}

// webauthn_verify -----------------------------------------------------------------------------

/// The valid seeds are accepted (so the fuzzer starts from the whole success path), and the
/// others are refused.
#[cfg(feature = "webauthn")]
#[test]
fn webauthn_seeds_reach_acceptance_and_refusal() {
    let accepted: BTreeSet<String> = target_seeds("webauthn_verify")
        .into_iter()
        .filter(|(_, data)| bodies::webauthn_verify_accepts(data))
        .map(|(name, _)| name)
        .collect();
    let expected: BTreeSet<String> = [
        "assert_extensions.json",
        "assert_ok.json",
        "reg_backup_flags.json",
        "reg_none.json",
        "reg_packed_self.json",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(accepted, expected);
}

/// Truncations and flipped bytes of every seed: no panic, no broken invariant.
#[cfg(feature = "webauthn")]
#[test]
fn webauthn_survives_truncations_and_flips() {
    for (_, data) in target_seeds("webauthn_verify") {
        for cut in (0..data.len()).step_by(11) {
            bodies::webauthn_verify(&data[..cut]);
        }
        for at in (1..data.len()).step_by(13) {
            let mut flipped = data.clone();
            flipped[at] ^= 0x20;
            bodies::webauthn_verify(&flipped);
        }
    }
}
