//! Replays the committed seed inputs of the `authn_flow` fuzz target, and checks that the seeds
//! reach the branches they were written for.

use std::path::PathBuf;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/seeds/authn_flow"
    ));
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(path).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn authn_flow_seeds() {
    let seeds = seeds();
    assert!(
        seeds.len() >= 20,
        "expected the committed seeds, found {}",
        seeds.len()
    );
    for (name, data) in &seeds {
        let run = std::panic::catch_unwind(|| mfa_devices::fuzz::authn_flow(data));
        assert!(run.is_ok(), "seed {name} broke an invariant");
    }
}

#[test]
fn authn_flow_survives_truncations_of_every_seed() {
    for (_, data) in seeds() {
        for cut in (0..data.len()).step_by(7) {
            mfa_devices::fuzz::authn_flow(&data[..cut]);
        }
    }
}

#[test]
fn seeds_reach_their_branches() {
    use mfa_devices::authn::AuthenticationStatus as S;
    let seeds = seeds();
    let run = |name: &str| {
        let data = &seeds.iter().find(|(n, _)| n == name).unwrap().1;
        mfa_devices::fuzz::authn_flow_statuses(data)
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
        mfa_devices::fuzz::authn_flow_statuses(data)
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
    let statuses = mfa_devices::fuzz::authn_flow_statuses(&data);
    assert_eq!(statuses[0], S::DeviceSelectionRequired);
    assert_eq!(statuses.last(), Some(&S::Completed));
}
