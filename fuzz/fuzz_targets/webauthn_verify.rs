#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mfa_devices_fuzz::webauthn_verify(data);
});
