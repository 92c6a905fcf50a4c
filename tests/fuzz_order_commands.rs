//! Replays the committed seeds of the `order_commands` fuzz target (fuzz/seeds/order_commands/)
//! so that `cargo test` covers them without nightly, and runs the same body on random bytes.

use proptest::prelude::*;

#[test]
fn seeds_replay_without_invariant_violations() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/order_commands");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        mfa_devices::fuzz::order_commands(&data);
        n += 1;
    }
    assert!(n >= 20, "expected the committed seeds, found {n}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_keep_the_invariants(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        mfa_devices::fuzz::order_commands(&data);
    }
}
