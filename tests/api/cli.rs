//! The `devices` command line (`examples/devices.rs`), run through its `cli` function: the same
//! code `main` runs, which only prints what `cli` returns and exits with its status. CI
//! (`.ci/run`) also runs the built example as a process.

#[allow(dead_code)]
#[path = "../../examples/devices.rs"]
mod devices;

fn run(args: &[&str]) -> (u8, String, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = devices::cli(&args);
    (out.status, out.stdout, out.stderr)
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/devices.json");

#[test]
fn help_prints_the_usage_on_stdout_with_status_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["list", "--help"],
        &["list", FIXTURE, "-h"],
        &["validate", "--help"],
    ] {
        let (status, stdout, stderr) = run(args);
        assert_eq!(status, 0, "{args:?}");
        assert!(stdout.contains("usage:"), "{args:?}: {stdout}");
        assert!(stdout.contains("devices list FILE"), "{args:?}");
        assert!(stdout.contains("--filter"), "{args:?}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn a_wrong_command_line_exits_1_with_the_usage_on_stderr() {
    for (args, message) in [
        (&[][..], "missing command"),
        (&["bogus"], "unknown command 'bogus'"),
        (&["--version"], "unknown command '--version'"),
        (&["list"], "list needs a FILE"),
        (&["list", FIXTURE, "--colour"], "unknown option '--colour'"),
        (&["list", FIXTURE, "--filter"], "--filter needs a value"),
        (&["validate"], "validate takes one FILE"),
        (&["list", "/nonexistent/devices.json"], "cannot read"),
    ] {
        let (status, stdout, stderr) = run(args);
        assert_eq!(status, 1, "{args:?}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("usage:"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_help_flag_as_an_option_value_is_the_value() {
    // `--filter -h` filters by the text "-h" (refused as a SCIM filter), it does not ask for help.
    let (status, stdout, stderr) = run(&["list", FIXTURE, "--filter", "-h"]);
    assert_eq!(status, 2, "{stdout}");
    assert!(stdout.contains("INVALID_FILTER"), "{stdout}");
    assert_eq!(stderr, "HTTP 400");
}

#[test]
fn list_prints_the_list_response() {
    let (status, stdout, stderr) = run(&[
        "list",
        FIXTURE,
        "--filter",
        r#"type eq "SMS""#,
        "--now",
        "2025-03-05T12:00:00Z",
    ]);
    assert_eq!((status, stderr.as_str()), (0, ""));
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let devices = body["_embedded"]["devices"].as_array().unwrap();
    assert!(!devices.is_empty());
    assert!(devices.iter().all(|d| d["type"] == "SMS"), "{stdout}");
    assert_eq!(body["count"], devices.len());
}

#[test]
fn a_refused_filter_exits_2_with_pingones_error_body() {
    let (status, stdout, stderr) = run(&["list", FIXTURE, "--filter", r#"nickname co "x""#]);
    assert_eq!(status, 2);
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(body["code"], "INVALID_DATA");
    assert_eq!(body["details"][0]["code"], "INVALID_FILTER");
    assert_eq!(stderr, "HTTP 400");
}
