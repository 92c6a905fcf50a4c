//! Replays the committed seed inputs of the `filter_parse` fuzz target.

#[test]
fn filter_parse_seeds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/filter_parse");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        mfa_devices::fuzz::filter_parse(&data);
        n += 1;
    }
    assert!(n >= 20, "expected the committed seeds, found {n}");
}
