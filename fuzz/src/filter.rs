//! `filter_parse` and `filter_eval`: the SCIM filter engine's fuzz bodies.

use serde_json::Value;

use mfa_devices::device::Device;
use mfa_devices::filter::schema::DEVICES;
use mfa_devices::filter::{Filter, ParseOptions};

/// Arbitrary text: parsing never panics; a filter that parses prints to canonical SCIM text that
/// parses back to the same filter (and prints the same again); validating never panics.
pub fn filter_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = ParseOptions::new().max_length(1 << 16);
    let Ok(filter) = Filter::parse_with(text, &opts) else {
        return;
    };
    let printed = filter.to_string();
    let again = Filter::parse_with(&printed, &opts)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(again, filter, "{text:?} printed as {printed:?}");
    assert_eq!(again.to_string(), printed);
    assert_eq!(filter.to_scim().as_deref(), Ok(printed.as_str()));
    let _ = filter.validate(&DEVICES);
}

/// The first line is a filter, the rest a JSON resource: the interpreted and the compiled
/// evaluation agree, on the JSON value and (when it reads as one) on the typed device.
pub fn filter_eval(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (filter, json) = text.split_once('\n').unwrap_or((text, "{}"));
    let Ok(filter) = Filter::parse(filter) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<Value>(json) else {
        return;
    };
    let interpreted = filter.matches(&value);
    assert_eq!(
        interpreted,
        filter.compile::<Value>().matches(&value),
        "{filter} on {value}"
    );
    if let Ok(device) = serde_json::from_value::<Device>(value) {
        assert_eq!(
            filter.matches(&device),
            filter.compile::<Device>().matches(&device),
            "{filter} on typed device"
        );
    }
}
