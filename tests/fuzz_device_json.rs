//! Replays the committed seed inputs of the `device_json` fuzz target.

#[test]
fn device_json_seeds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/device_json");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        mfa_devices::fuzz::device_json(&data);
        n += 1;
    }
    assert!(n >= 10, "expected the committed seeds, found {n}");
}
