use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::{CreateDeviceAuthentication, FlowError};
use mfa_devices::device::hal::{render_collection, render_device};
use mfa_devices::device::{Device, NewDevice, mask_email, mask_phone};
use mfa_devices::error::{ApiError, MAX_DETAILS};

/// Fuzz body of `device_json`: arbitrary bytes as a device, a devices collection, a creation
/// body and a device authentication's creation body. Never panics; whatever reads as a
/// [`Device`] writes back to JSON that reads as the same device, with or without HAL links;
/// whatever reads as a [`NewDevice`] validates without panic; whatever reads as a
/// [`CreateDeviceAuthentication`] writes back to JSON that reads as itself, and a refusal lists
/// at most [`MAX_DETAILS`] problems in an error body of bounded size.
pub fn device_json(data: &[u8]) {
    create_device_authentication(data);
    // Read straight from the bytes (duplicate keys refused, times in range) and written back,
    // the device reads again as itself.
    if let Ok(direct) = serde_json::from_slice::<Device>(data) {
        let text = serde_json::to_string(&direct);
        assert!(text.is_ok(), "a device read is a device written");
        let again = text
            .ok()
            .and_then(|t| serde_json::from_str::<Device>(&t).ok());
        assert_eq!(again.as_ref(), Some(&direct), "device text round-trip");
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let base = ApiBase::new("https://api.pingone.eu/v1");
    if let Ok(device) = serde_json::from_value::<Device>(value.clone()) {
        let body = serde_json::to_value(&device).ok();
        let again = body.and_then(|b| serde_json::from_value::<Device>(b).ok());
        assert_eq!(again.as_ref(), Some(&device), "device body round-trip");
        let hal = render_device(&device, &base);
        assert_eq!(
            serde_json::from_value::<Device>(hal).ok().as_ref(),
            Some(&device)
        );
        let _ = mask_email(device.email().unwrap_or_default());
        let _ = mask_phone(device.phone().unwrap_or_default());
    }
    let embedded = value
        .get("_embedded")
        .and_then(|e| e.get("devices"))
        .cloned()
        .unwrap_or(value.clone());
    if let Ok(devices) = serde_json::from_value::<Vec<Device>>(embedded)
        && let Some(first) = devices.first()
    {
        let _ = render_collection(&devices, &base, &first.environment.id, &first.user.id, None);
    }
    if let Ok(body) = serde_json::from_value::<NewDevice>(value) {
        let _ = body.validate();
    }
}

/// [`CreateDeviceAuthentication::from_json`]: round trip of what it accepts, bounded refusals.
fn create_device_authentication(data: &[u8]) {
    match CreateDeviceAuthentication::from_json(data) {
        Ok(request) => {
            let back = serde_json::to_vec(&request);
            assert!(back.is_ok(), "an accepted body is written");
            let again = back
                .ok()
                .and_then(|b| CreateDeviceAuthentication::from_json(&b).ok());
            assert_eq!(again.as_ref(), Some(&request), "creation body round-trip");
        }
        Err(error) => {
            if let FlowError::InvalidBody { problems, .. } = &error {
                assert!(!problems.is_empty() && problems.len() <= MAX_DETAILS);
            }
            // Refusals never amplify the input: a 4 KiB body cannot yield a 256 KiB error.
            let body = serde_json::to_string(&ApiError::from(error)).unwrap_or_default();
            assert!(
                body.len() <= 256 * 1024 + 64 * data.len(),
                "error body of {} bytes",
                body.len()
            );
        }
    }
}
