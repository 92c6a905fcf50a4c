//! `devices`: the crate's main job as a command-line tool over a devices JSON file.
//!
//! ```text
//! cargo run --example devices -- list tests/fixtures/devices.json
//! cargo run --example devices -- list tests/fixtures/devices.json --filter 'type eq "FIDO2"' --expand order
//! cargo run --example devices -- validate body.json
//! ```
//!
//! `list FILE` reads a `GET …/users/{userID}/devices` response (or a JSON array of devices) into
//! the user's device aggregate ([`UserDevices::from_list_response`]: the ACTIVE devices in the
//! order listed are the device order, unless the file carries `_embedded.order`) and prints the
//! list response for the devices that match `--filter` (a SCIM filter, validated against what
//! PingOne's devices collection allows), in list order, with `_embedded.order` for
//! `--expand order`, HAL links built from `--base` (default `https://api.pingone.eu/v1`), and
//! locks read at `--now` (RFC 3339; default: the current time). `validate FILE` checks a device creation body and prints the
//! PingOne error body when it is refused. `--help` (or `-h`, or `help`) prints the usage on
//! standard output and exits with status 0. Errors in the request print a PingOne error body and
//! exit with status 2; a wrong command line or unreadable input exits with status 1, with the
//! usage on standard error.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::device::{Device, NewDevice, timestamp};
use mfa_devices::error::ApiError;
use mfa_devices::filter::CompileOptions;
use mfa_devices::filter::schema::DEVICES;
use mfa_devices::user_devices::UserDevices;
use serde_json::{Value, json};

const USAGE: &str = "usage:
  devices list FILE [--filter SCIM_FILTER] [--expand order] [--base URL] [--now RFC3339]
  devices validate FILE
  devices --help";

/// What `devices --help` prints (standard output, exit status 0).
const HELP: &str = "devices: PingOne MFA devices from a JSON file, as the devices API serves them.

usage:
  devices list FILE [--filter SCIM_FILTER] [--expand order] [--base URL] [--now RFC3339]
  devices validate FILE
  devices --help

commands:
  list FILE      read a `GET .../users/{userID}/devices` response (or a JSON array of devices)
                 and print the list response, in device order
  validate FILE  check a device creation body (`POST .../devices`); print PingOne's error body
                 when it is refused

options of list:
  --filter SCIM_FILTER  only the devices matching a SCIM filter PingOne's devices collection
                        allows (e.g. 'type eq \"SMS\"')
  --expand order        include `_embedded.order`
  --base URL            API base URL for the HAL links (default https://api.pingone.eu/v1)
  --now RFC3339         the instant at which locks are read (default: now)
  -h, --help            print this help

exit status: 0 success, 1 wrong command line or unreadable input, 2 request refused (PingOne
error body on standard output)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = cli(&args);
    if !out.stdout.is_empty() {
        println!("{}", out.stdout);
    }
    if !out.stderr.is_empty() {
        eprintln!("{}", out.stderr);
    }
    ExitCode::from(out.status)
}

/// One run of the command line: what goes to standard output and error, and the exit status.
/// (Public so that the integration tests, which include this file as a module, can call it.)
#[derive(Debug)]
pub struct Output {
    /// The exit status: 0 success, 1 wrong command line or unreadable input, 2 request refused.
    pub status: u8,
    /// Standard output (without the final newline).
    pub stdout: String,
    /// Standard error (without the final newline).
    pub stderr: String,
}

/// The whole command line as a function of its arguments (without the program name); `main`
/// only prints what it returns.
pub fn cli(args: &[String]) -> Output {
    match run(args) {
        Ok(stdout) => Output {
            status: 0,
            stdout,
            stderr: String::new(),
        },
        Err(Failure::Api(e)) => Output {
            status: 2,
            stdout: to_pretty(&serde_json::to_value(&e).unwrap_or_default()),
            stderr: format!("HTTP {}", e.http_status()),
        },
        Err(Failure::Usage(msg)) => Output {
            status: 1,
            stdout: String::new(),
            stderr: format!("{msg}\n{USAGE}"),
        },
    }
}

enum Failure {
    Api(ApiError),
    Usage(String),
}

fn is_help(arg: &str) -> bool {
    matches!(arg, "--help" | "-h")
}

fn to_pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn read_json(path: &str) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {path}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("{path} is not JSON: {e}")))
}

fn run(args: &[String]) -> Result<String, Failure> {
    let (cmd, rest) = args
        .split_first()
        .ok_or_else(|| Failure::Usage("missing command".into()))?;
    match cmd.as_str() {
        "help" => Ok(HELP.to_owned()),
        help if is_help(help) => Ok(HELP.to_owned()),
        "list" => list(rest),
        "validate" if rest.iter().any(|a| is_help(a)) => Ok(HELP.to_owned()),
        "validate" => {
            let [path] = rest else {
                return Err(Failure::Usage("validate takes one FILE".into()));
            };
            let body: NewDevice = serde_json::from_value(read_json(path)?)
                .map_err(|e| Failure::Usage(format!("not a device creation body: {e}")))?;
            body.validate().map_err(Failure::Api)?;
            Ok(to_pretty(&serde_json::json!({"valid": true})))
        }
        other => Err(Failure::Usage(format!("unknown command '{other}'"))),
    }
}

fn list(args: &[String]) -> Result<String, Failure> {
    let mut path = None;
    let mut base = ApiBase::new("https://api.pingone.eu/v1");
    let mut filter = None;
    let mut expand_order = false;
    let mut now: DateTime<Utc> = std::time::SystemTime::now().into();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| Failure::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            help if is_help(help) => return Ok(HELP.to_owned()),
            "--base" => base = ApiBase::new(value("--base")?.as_str()),
            "--filter" => filter = Some(value("--filter")?.clone()),
            "--expand" => match value("--expand")?.as_str() {
                "order" => expand_order = true,
                other => {
                    return Err(Failure::Api(ApiError::invalid_request(format!(
                        "Unsupported expand value '{other}'; supported: order"
                    ))));
                }
            },
            "--now" => {
                let v = value("--now")?;
                now = timestamp::parse(v)
                    .ok_or_else(|| Failure::Usage(format!("--now: '{v}' is not RFC 3339")))?;
            }
            flag if flag.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown option '{flag}'")));
            }
            p if path.is_none() => path = Some(p.to_owned()),
            extra => return Err(Failure::Usage(format!("unexpected argument '{extra}'"))),
        }
    }
    let path = path.ok_or_else(|| Failure::Usage("list needs a FILE".into()))?;
    let json = read_json(&path)?;
    // Accept a bare array of devices as well as a list response.
    let body = match json {
        Value::Array(items) => json!({ "_embedded": { "devices": items } }),
        other => other,
    };
    let first: Device = body
        .pointer("/_embedded/devices/0")
        .cloned()
        .ok_or_else(|| Failure::Usage(format!("{path}: no devices")))
        .and_then(|d| {
            serde_json::from_value(d).map_err(|e| Failure::Usage(format!("{path}: {e}")))
        })?;
    let user = UserDevices::from_list_response(first.environment.id, first.user.id, &body, 0)
        .map_err(|e| Failure::Usage(format!("{path}: {e}")))?;
    let compiled = match &filter {
        Some(text) => {
            let parsed = DEVICES.parse(text).map_err(Failure::Api)?;
            Some(parsed.compile_with::<Device>(&CompileOptions::new().schema(&DEVICES)))
        }
        None => None,
    };
    let rendered = user.render_list(&base, expand_order, now, |d| {
        compiled.as_ref().is_none_or(|f| f.matches(d))
    });
    Ok(to_pretty(&rendered))
}
