//! Replays the committed seed inputs of the `filter_eval` fuzz target.

#[test]
fn filter_eval_seeds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/filter_eval");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8(data.clone()).unwrap();
        let (filter, json) = text.split_once('\n').unwrap();
        assert!(
            mfa_devices::filter::Filter::parse(filter).is_ok(),
            "{filter}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(json).is_ok(),
            "{json}"
        );
        mfa_devices::fuzz::filter_eval(&data);
        n += 1;
    }
    assert!(n >= 10, "expected the committed seeds, found {n}");
}
