//! Replays the committed `crest_parse` fuzz seeds (`fuzz/seeds/crest_parse/`) through the fuzz
//! body, so `cargo test` covers them without nightly.

#[test]
fn replay_crest_parse_seeds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/crest_parse");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        mfa_devices::fuzz::crest_parse(&data);
        n += 1;
    }
    assert!(n >= 20, "only {n} seeds");
}

#[test]
fn fuzz_body_survives_awkward_bytes() {
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
        mfa_devices::fuzz::crest_parse(data);
    }
}
