//! Replays the committed seed inputs of the `policy_json` fuzz target (no nightly needed).

use std::path::Path;

#[test]
fn policy_json_seeds_replay_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/policy_json");
    let mut n = 0;
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        mfa_devices::fuzz::policy_json(&data);
        if serde_json::from_slice::<mfa_devices::policy::DeviceAuthenticationPolicy>(&data).is_ok()
        {
            parsed += 1;
        }
        n += 1;
    }
    assert!(n >= 15, "only {n} seeds in {}", dir.display());
    // The seeds exercise both paths: bodies that parse and inputs that do not.
    assert!(parsed >= 8 && parsed < n, "{parsed} of {n} parsed");
}

#[test]
fn policy_json_survives_arbitrary_bytes() {
    // A cheap deterministic sweep on top of the seeds: every prefix of the fixture, and bytes
    // flipped across it.
    let fixture = include_bytes!("fixtures/policy/read_one.json");
    for end in (0..fixture.len()).step_by(7) {
        mfa_devices::fuzz::policy_json(&fixture[..end]);
    }
    let mut data = fixture.to_vec();
    for i in (0..data.len()).step_by(13) {
        let old = data[i];
        for b in [b'"', b'9', b'-', b'{', b'}', b'0', 0xff] {
            data[i] = b;
            mfa_devices::fuzz::policy_json(&data);
        }
        data[i] = old;
    }
}
