//! Fuzz body of `policy_json`: arbitrary bytes as a device authentication policy.

use mfa_devices::policy::{DeviceAuthenticationPolicy, PolicyDuration};

/// Deserializes `data` as a [`DeviceAuthenticationPolicy`]; when it parses, validates it,
/// converts every duration, and checks that serialization is a fixpoint
/// (`from_value(to_value(p)) == p`, and serializing again gives the same JSON).
///
/// Panics only when that round-trip property is broken (that is the finding).
pub fn policy_json(data: &[u8]) {
    let Ok(policy) = serde_json::from_slice::<DeviceAuthenticationPolicy>(data) else {
        return;
    };
    let _ = policy.validate();
    for d in durations(&policy) {
        let _ = d.to_time_delta();
        let _ = d.as_seconds();
    }
    let Ok(value) = serde_json::to_value(&policy) else {
        return;
    };
    let again: Result<DeviceAuthenticationPolicy, _> = serde_json::from_value(value.clone());
    assert!(
        again.as_ref().is_ok_and(|p| *p == policy),
        "policy does not round-trip: {value}"
    );
    let value2 = again.ok().and_then(|p| serde_json::to_value(&p).ok());
    assert!(
        value2.as_ref() == Some(&value),
        "serialization is not stable"
    );
}

fn durations(p: &DeviceAuthenticationPolicy) -> Vec<&PolicyDuration> {
    let mut out = Vec::new();
    for m in [&p.sms, &p.email, &p.voice, &p.whats_app]
        .into_iter()
        .flatten()
    {
        if let Some(otp) = &m.otp {
            out.extend(otp.failure.as_ref().map(|f| &f.cool_down));
            out.extend(otp.life_time.as_ref());
        }
    }
    if let Some(mobile) = &p.mobile {
        for app in mobile.applications.iter().flatten() {
            out.extend(app.push_timeout.as_ref());
            out.extend(app.pairing_key_lifetime.as_ref());
            if let Some(l) = &app.push_limit {
                out.extend(l.time_period.as_ref());
                out.extend(l.lock_duration.as_ref());
            }
        }
    }
    if let Some(web) = p.remember_me.as_ref().and_then(|r| r.web.as_ref()) {
        out.extend(web.life_time.as_ref());
    }
    out
}
