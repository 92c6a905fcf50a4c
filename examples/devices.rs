//! `devices`: the crate's main job as a command-line tool over a devices JSON file.
//!
//! ```text
//! cargo run --example devices -- list tests/fixtures/devices.json
//! cargo run --example devices -- validate body.json
//! ```
//!
//! `list FILE` reads a `GET …/users/{userID}/devices` response (or a JSON array of devices) and
//! prints the list response in list order, with HAL links built from `--base` (default
//! `https://api.pingone.eu/v1`). `validate FILE` checks a device creation body and prints the
//! PingOne error body when it is refused. Errors in the request print a PingOne error body and exit
//! with status 2; unreadable input exits with status 1.

use std::process::ExitCode;

use mfa_devices::device::hal::{ApiBase, render_collection};
use mfa_devices::device::{Device, DeviceStatus, NewDevice};
use mfa_devices::error::ApiError;
use serde_json::Value;

const USAGE: &str = "usage:
  devices list FILE [--base URL]
  devices validate FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure::Api(e)) => {
            println!(
                "{}",
                to_pretty(&serde_json::to_value(&e).unwrap_or_default())
            );
            eprintln!("HTTP {}", e.http_status());
            ExitCode::from(2)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("{msg}\n{USAGE}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Api(ApiError),
    Usage(String),
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
        "list" => list(rest),
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
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--base" => {
                let v = it
                    .next()
                    .ok_or_else(|| Failure::Usage("--base needs a URL".into()))?;
                base = ApiBase::new(v.as_str());
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
    let items = json.pointer("/_embedded/devices").cloned().unwrap_or(json);
    let mut devices: Vec<Device> = serde_json::from_value(items)
        .map_err(|e| Failure::Usage(format!("{path}: not a list of devices: {e}")))?;
    let first = devices
        .first()
        .map(|d| (d.environment.id, d.user.id))
        .ok_or_else(|| Failure::Usage(format!("{path}: no devices")))?;
    // ACTIVE devices keep the file's order (a GET list is in device order); the others follow by
    // creation time, then id.
    devices.sort_by(|a, b| {
        let key = |d: &Device| d.status != DeviceStatus::Active;
        key(a).cmp(&key(b)).then_with(|| {
            if key(a) {
                (a.created_at, a.id).cmp(&(b.created_at, b.id))
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    Ok(to_pretty(&render_collection(
        &devices, &base, &first.0, &first.1, None,
    )))
}
