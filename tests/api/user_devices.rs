//! The user device aggregate, rule by rule (PingOne's MFA Devices page: "Device order",
//! "Deleting a default device", "Removing device order", lock/block properties, audit events;
//! "Read All MFA User Devices": list order and `expand=order`; the crate's decisions in
//! DESIGN.md).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::device::*;
use mfa_devices::error::ApiError;
use mfa_devices::lock::{FailureRule, PushLimitRule};
use mfa_devices::user_devices::*;
use serde_json::{Value, json};

fn env() -> EnvironmentId {
    "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6".parse().unwrap()
}
fn usr() -> UserId {
    "b30ac647-e33e-464f-a6ea-0275082d4c26".parse().unwrap()
}
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}
fn id(n: u8) -> DeviceId {
    DeviceId::from_bytes([n; 16])
}
fn mins(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

fn totp(status: DeviceStatus) -> NewDevice {
    NewDevice {
        status: Some(status),
        ..NewDevice::new(DeviceType::Totp)
    }
}

fn create(u: &mut UserDevices, n: u8, status: DeviceStatus, at: DateTime<Utc>) {
    u.execute(
        Command::Create {
            id: id(n),
            device: totp(status),
            secrets: Default::default(),
        },
        at,
    )
    .unwrap();
}

/// A new user with ACTIVE devices `ns`, created one minute apart.
fn with_active(ns: &[u8]) -> UserDevices {
    let mut u = UserDevices::new(env(), usr()).with_settings(DeviceSettings::new(15).unwrap());
    for (i, n) in ns.iter().enumerate() {
        create(&mut u, *n, DeviceStatus::Active, t0() + mins(i as i64));
    }
    u
}

fn ids(list: Vec<&Device>) -> Vec<DeviceId> {
    list.into_iter().map(|d| d.id).collect()
}

fn default_id(u: &UserDevices) -> Option<DeviceId> {
    u.default_device().map(|d| d.id)
}

/// Asserts `command` is refused and changes nothing; returns the error.
fn refused(u: &UserDevices, command: Command, now: DateTime<Utc>) -> UserDevicesError {
    let before = u.clone();
    let mut after = u.clone();
    let err = after.execute(command, now).unwrap_err();
    assert_eq!(after, before, "a refused command changed the state");
    err
}

// ---------------------------------------------------------------- ordering

#[test]
fn activation_appends_and_the_first_is_the_default() {
    let mut u = with_active(&[1]);
    create(&mut u, 2, DeviceStatus::ActivationRequired, t0());
    create(&mut u, 3, DeviceStatus::ActivationRequired, t0());
    assert_eq!(u.expand_order(), [id(1)]);
    u.execute(
        Command::Activate {
            id: id(3),
            otp: None,
        },
        t0(),
    )
    .unwrap();
    u.execute(
        Command::Activate {
            id: id(2),
            otp: None,
        },
        t0(),
    )
    .unwrap();
    assert_eq!(u.expand_order(), [id(1), id(3), id(2)]);
    assert_eq!(default_id(&u), Some(id(1)));
    // Creating a device ACTIVE appends too.
    create(&mut u, 4, DeviceStatus::Active, t0());
    assert_eq!(u.expand_order(), [id(1), id(3), id(2), id(4)]);
}

#[test]
fn deleting_the_default_promotes_the_next() {
    let mut u = with_active(&[1, 2, 3]);
    let events = u.execute(Command::Delete { id: id(1) }, t0()).unwrap();
    assert_eq!(default_id(&u), Some(id(2)));
    assert_eq!(u.expand_order(), [id(2), id(3)]);
    let Change::DeviceDeleted {
        order_before,
        order,
        ..
    } = &events[0].change
    else {
        panic!("{events:?}")
    };
    assert_eq!(order_before.as_deref(), Some(&[id(1), id(2), id(3)][..]));
    assert_eq!(order.as_deref(), Some(&[id(2), id(3)][..]));
    // Deleting a non-default device keeps the default.
    u.execute(Command::Delete { id: id(3) }, t0()).unwrap();
    assert_eq!(default_id(&u), Some(id(2)));
    u.execute(Command::Delete { id: id(2) }, t0()).unwrap();
    assert_eq!(default_id(&u), None);
    assert!(u.is_ordered());
}

#[test]
fn reorder_sets_the_order_and_the_default() {
    let mut u = with_active(&[1, 2, 3]);
    let events = u
        .execute(
            Command::Reorder {
                order: vec![id(3), id(1), id(2)],
            },
            t0(),
        )
        .unwrap();
    assert_eq!(events[0].audit_type(), "DEVICE.REORDERED");
    assert_eq!(u.expand_order(), [id(3), id(1), id(2)]);
    assert_eq!(default_id(&u), Some(id(3)));
    assert_eq!(ids(u.list()), [id(3), id(1), id(2)]);
    // Activation after an explicit order still appends.
    create(&mut u, 4, DeviceStatus::ActivationRequired, t0());
    u.execute(
        Command::Activate {
            id: id(4),
            otp: None,
        },
        t0(),
    )
    .unwrap();
    assert_eq!(u.expand_order(), [id(3), id(1), id(2), id(4)]);
    // The same order again changes nothing.
    let rev = u.revision();
    let again = u
        .execute(
            Command::Reorder {
                order: u.expand_order(),
            },
            t0(),
        )
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(u.revision(), rev);
}

#[test]
fn reorder_is_strict_with_one_detail_per_bad_entry() {
    let mut u = with_active(&[1, 2, 3]);
    create(&mut u, 4, DeviceStatus::ActivationRequired, t0());
    let err = refused(
        &u,
        Command::Reorder {
            order: vec![id(2), id(9), id(2), id(4)],
        },
        t0(),
    );
    let api = ApiError::from(err);
    assert_eq!((api.code(), api.http_status()), ("INVALID_DATA", 400));
    let got: Vec<(&str, &str)> = api
        .details
        .iter()
        .map(|d| (d.code.as_str(), d.target.as_deref().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("INVALID_VALUE", "order[1].id"),  // unknown
            ("INVALID_VALUE", "order[2].id"),  // duplicate
            ("INVALID_VALUE", "order[3].id"),  // not ACTIVE
            ("CONSTRAINT_VIOLATION", "order"), // 1 missing
            ("CONSTRAINT_VIOLATION", "order"), // 3 missing
        ]
    );
    assert!(api.details[3].message.contains(&id(1).to_string()));
    assert!(api.details[4].message.contains(&id(3).to_string()));

    let empty = ApiError::from(refused(&u, Command::Reorder { order: vec![] }, t0()));
    assert_eq!(empty.details.len(), 1);
    assert_eq!(empty.details[0].code.as_str(), "REQUIRED_VALUE");
    assert_eq!(empty.details[0].target.as_deref(), Some("order"));

    // A missing device alone is refused as well.
    let missing = refused(
        &u,
        Command::Reorder {
            order: vec![id(1), id(2)],
        },
        t0(),
    );
    assert_eq!(
        missing,
        UserDevicesError::InvalidOrder(vec![OrderViolation::Missing { id: id(3) }])
    );
}

#[test]
fn legacy_users_have_no_order_until_one_is_set() {
    let dev = |n: u8, s: DeviceStatus, m: i64| {
        Device::new(id(n), env(), usr(), DeviceType::Sms, s, t0() + mins(m))
    };
    let mut u = UserDevices::legacy_unordered(
        env(),
        usr(),
        vec![
            dev(1, DeviceStatus::Active, 5),
            dev(2, DeviceStatus::Active, 1),
            dev(3, DeviceStatus::ActivationRequired, 0),
        ],
    )
    .unwrap();
    assert!(!u.is_ordered());
    assert_eq!(default_id(&u), None);
    assert!(u.expand_order().is_empty());
    // No particular order → createdAt, then id, for every device.
    assert_eq!(ids(u.list()), [id(3), id(2), id(1)]);
    // Activation does not create an order.
    u.execute(
        Command::Activate {
            id: id(3),
            otp: None,
        },
        t0(),
    )
    .unwrap();
    assert!(!u.is_ordered());
    assert_eq!(default_id(&u), None);
    // Reorder makes the user ordered.
    u.execute(
        Command::Reorder {
            order: vec![id(1), id(3), id(2)],
        },
        t0(),
    )
    .unwrap();
    assert_eq!(default_id(&u), Some(id(1)));
    // Remove order makes any user unordered.
    let events = u.execute(Command::RemoveOrder, t0()).unwrap();
    assert_eq!(events[0].audit_type(), "DEVICE.REORDERED");
    assert!(!u.is_ordered());
    assert_eq!(default_id(&u), None);
    assert!(u.execute(Command::RemoveOrder, t0()).unwrap().is_empty());
}

#[test]
fn an_unordered_user_left_with_one_active_device_is_ordered_again() {
    let mut u = with_active(&[1, 2, 3]);
    create(&mut u, 4, DeviceStatus::ActivationRequired, t0());
    u.execute(Command::RemoveOrder, t0()).unwrap();
    u.execute(Command::Delete { id: id(1) }, t0()).unwrap();
    assert!(!u.is_ordered(), "two ACTIVE devices left: still unordered");
    // Deleting an ACTIVATION_REQUIRED device leaves two ACTIVE: still unordered.
    u.execute(Command::Delete { id: id(4) }, t0()).unwrap();
    assert!(!u.is_ordered());
    u.execute(Command::Delete { id: id(2) }, t0()).unwrap();
    assert!(u.is_ordered());
    assert_eq!(default_id(&u), Some(id(3)));
    assert_eq!(u.expand_order(), [id(3)]);

    // Left with zero: ordered, empty.
    let mut v = with_active(&[1]);
    create(&mut v, 2, DeviceStatus::ActivationRequired, t0());
    v.execute(Command::RemoveOrder, t0()).unwrap();
    assert!(!v.is_ordered());
    v.execute(Command::Delete { id: id(1) }, t0()).unwrap();
    assert!(v.is_ordered());
    assert_eq!(v.expand_order(), []);
}

#[test]
fn a_legacy_user_with_at_most_one_active_device_is_ordered() {
    let d = Device::new(
        id(1),
        env(),
        usr(),
        DeviceType::Email,
        DeviceStatus::Active,
        t0(),
    );
    let u = UserDevices::legacy_unordered(env(), usr(), vec![d]).unwrap();
    assert_eq!(default_id(&u), Some(id(1)));
    let other = Device::new(
        id(2),
        env(),
        UserId::from_bytes([0; 16]),
        DeviceType::Email,
        DeviceStatus::Active,
        t0(),
    );
    assert!(matches!(
        UserDevices::legacy_unordered(env(), usr(), vec![other]),
        Err(UserDevicesError::InvalidSnapshot(_))
    ));
}

#[test]
fn list_puts_ordered_active_devices_first_then_the_rest_by_created_at_then_id() {
    let mut u = with_active(&[5, 6]);
    // ACTIVATION_REQUIRED devices: 8 and 7 created at the same time (tie → id), 9 earlier.
    create(&mut u, 9, DeviceStatus::ActivationRequired, t0() + mins(3));
    create(&mut u, 8, DeviceStatus::ActivationRequired, t0() + mins(10));
    create(&mut u, 7, DeviceStatus::ActivationRequired, t0() + mins(10));
    u.execute(
        Command::Reorder {
            order: vec![id(6), id(5)],
        },
        t0(),
    )
    .unwrap();
    assert_eq!(ids(u.list()), [id(6), id(5), id(9), id(7), id(8)]);
}

// ---------------------------------------------------------------- limits

#[test]
fn max_allowed_devices_counts_active_and_blocked_devices() {
    let mut u = UserDevices::new(env(), usr()).with_settings(DeviceSettings::new(2).unwrap());
    create(&mut u, 1, DeviceStatus::Active, t0());
    create(&mut u, 2, DeviceStatus::ActivationRequired, t0());
    u.execute(Command::Block { id: id(2) }, t0()).unwrap();
    // One ACTIVE + one BLOCKED = 2: creating one more fails, whatever its status.
    let err = refused(
        &u,
        Command::Create {
            id: id(3),
            device: totp(DeviceStatus::ActivationRequired),
            secrets: Default::default(),
        },
        t0(),
    );
    assert_eq!(err, UserDevicesError::LimitExceeded { maximum: 2 });
    let api = ApiError::from(err);
    assert_eq!(api.details[0].code.as_str(), "LIMIT_EXCEEDED");
    assert_eq!(
        api.details[0].inner_error.as_ref().unwrap()["maximumAllowed"],
        2
    );
    // Unblocking frees the slot (an ACTIVATION_REQUIRED device does not count).
    u.execute(Command::Unblock { id: id(2) }, t0()).unwrap();
    create(&mut u, 3, DeviceStatus::ActivationRequired, t0());
    u.execute(
        Command::Activate {
            id: id(3),
            otp: None,
        },
        t0(),
    )
    .unwrap();
    // Now 2 ACTIVE: activating another one is refused too.
    assert_eq!(
        refused(
            &u,
            Command::Activate {
                id: id(2),
                otp: None
            },
            t0()
        ),
        UserDevicesError::LimitExceeded { maximum: 2 }
    );
}

#[test]
fn settings_are_validated() {
    assert_eq!(DeviceSettings::default().max_allowed_devices(), 5);
    for bad in [0, 16, 300] {
        assert_eq!(
            DeviceSettings::new(bad),
            Err(UserDevicesError::InvalidSettings {
                max_allowed_devices: bad
            })
        );
    }
    let mut u = UserDevices::new(env(), usr());
    for n in 1..=5 {
        create(&mut u, n, DeviceStatus::Active, t0());
    }
    assert_eq!(
        refused(
            &u,
            Command::Create {
                id: id(6),
                device: totp(DeviceStatus::Active),
                secrets: Default::default()
            },
            t0()
        ),
        UserDevicesError::LimitExceeded { maximum: 5 }
    );
}

// ---------------------------------------------------------------- locks

fn otp_failure(n: u8, count: u32, cool_down: TimeDelta) -> Command {
    Command::RecordOtpFailure {
        id: id(n),
        rule: FailureRule::new(count, cool_down).unwrap(),
    }
}

#[test]
fn otp_failures_reaching_the_count_lock_until_failure_time_plus_cool_down() {
    let mut u = with_active(&[1]);
    u.execute(otp_failure(1, 3, mins(2)), t0()).unwrap();
    u.execute(otp_failure(1, 3, mins(2)), t0() + mins(1))
        .unwrap();
    assert!(!u.device(&id(1)).unwrap().is_locked(t0() + mins(1)));
    let last = t0() + mins(1) + TimeDelta::seconds(30);
    let events = u.execute(otp_failure(1, 3, mins(2)), last).unwrap();
    assert!(matches!(
        events[0].change,
        Change::OtpFailureRecorded {
            limit_reached: true,
            activation: false,
            ..
        }
    ));
    let d = u.device(&id(1)).unwrap();
    let lock = d.lock.as_ref().unwrap();
    assert_eq!(lock.status, LockStatus::Locked);
    assert_eq!(lock.reason, Some(LockReason::Otp));
    assert_eq!(lock.expires_at, Some(last + mins(2)));
    assert!(d.is_locked(last + mins(2) - TimeDelta::milliseconds(1)));
    // A locked device keeps its place and stays the default.
    assert_eq!(default_id(&u), Some(id(1)));
    // While locked, further failures are refused.
    assert!(matches!(
        refused(&u, otp_failure(1, 3, mins(2)), last + mins(1)),
        UserDevicesError::Locked { .. }
    ));
    // At expiresAt the lock reads UNLOCKED and the counter restarts.
    let expiry = last + mins(2);
    assert!(!u.device(&id(1)).unwrap().is_locked(expiry));
    assert_eq!(
        u.device_at(&id(1), expiry).unwrap().lock,
        Some(LockState::unlocked())
    );
    u.execute(otp_failure(1, 3, mins(2)), expiry).unwrap();
    assert_eq!(u.counters(&id(1)).otp_failures, 1);
    assert!(!u.device(&id(1)).unwrap().is_locked(expiry));
}

#[test]
fn cool_down_zero_fails_the_challenge_without_locking() {
    let mut u = with_active(&[1]);
    for i in 0..7 {
        u.execute(otp_failure(1, 3, TimeDelta::zero()), t0() + mins(i))
            .unwrap();
        assert!(!u.device(&id(1)).unwrap().is_locked(t0() + mins(i)));
    }
    assert_eq!(u.counters(&id(1)).otp_failures, 1); // 7 = 3 + 3 + 1
}

#[test]
fn activation_otp_failures_are_audited_as_such() {
    let mut u = with_active(&[]);
    create(&mut u, 1, DeviceStatus::ActivationRequired, t0());
    let e1 = u.execute(otp_failure(1, 2, mins(2)), t0()).unwrap();
    assert_eq!(e1[0].audit_type(), "DEVICE.ACTIVATION_OTP_INVALID");
    let e2 = u.execute(otp_failure(1, 2, mins(2)), t0()).unwrap();
    assert_eq!(e2[0].audit_type(), "DEVICE.ACTIVATION_OTP_FAILED");
    // A locked device cannot be activated until the lock expires.
    assert!(matches!(
        refused(
            &u,
            Command::Activate {
                id: id(1),
                otp: None
            },
            t0() + mins(1)
        ),
        UserDevicesError::Locked { .. }
    ));
    u.execute(
        Command::Activate {
            id: id(1),
            otp: None,
        },
        t0() + mins(2),
    )
    .unwrap();
    assert_eq!(default_id(&u), Some(id(1)));
}

#[test]
fn otp_success_and_unlock_restart_the_counter() {
    let mut u = with_active(&[1]);
    u.execute(otp_failure(1, 3, mins(2)), t0()).unwrap();
    u.execute(otp_failure(1, 3, mins(2)), t0()).unwrap();
    u.execute(Command::RecordOtpSuccess { id: id(1) }, t0())
        .unwrap();
    assert_eq!(u.counters(&id(1)).otp_failures, 0);
    assert!(
        u.execute(Command::RecordOtpSuccess { id: id(1) }, t0())
            .unwrap()
            .is_empty()
    );
    for _ in 0..3 {
        u.execute(otp_failure(1, 3, mins(2)), t0()).unwrap();
    }
    assert!(u.device(&id(1)).unwrap().is_locked(t0()));
    let events = u.execute(Command::Unlock { id: id(1) }, t0()).unwrap();
    assert_eq!(events[0].audit_type(), "DEVICE.UPDATED");
    assert!(!u.device(&id(1)).unwrap().is_locked(t0()));
    assert_eq!(u.device(&id(1)).unwrap().lock, Some(LockState::unlocked()));
    assert!(u.counters(&id(1)).is_zero());
    // Unlock clears a partial counter too, and is a no-op when there is nothing to clear.
    u.execute(otp_failure(1, 3, mins(2)), t0()).unwrap();
    u.execute(Command::Unlock { id: id(1) }, t0()).unwrap();
    assert!(u.counters(&id(1)).is_zero());
    assert!(
        u.execute(Command::Unlock { id: id(1) }, t0())
            .unwrap()
            .is_empty()
    );
}

fn push(n: u8) -> Command {
    Command::RecordPushRejected {
        id: id(n),
        rule: PushLimitRule::new(3, mins(10), mins(30)).unwrap(),
    }
}

#[test]
fn push_rejections_within_the_time_period_lock_for_the_lock_duration() {
    let mut u = with_active(&[1]);
    u.execute(push(1), t0()).unwrap();
    u.execute(push(1), t0() + mins(5)).unwrap();
    // The first rejection is now 10 minutes old: outside the period.
    u.execute(push(1), t0() + mins(10)).unwrap();
    assert!(!u.device(&id(1)).unwrap().is_locked(t0() + mins(10)));
    assert_eq!(u.counters(&id(1)).push_rejections.len(), 2);
    let at = t0() + mins(11);
    u.execute(push(1), at).unwrap();
    let lock = u.device(&id(1)).unwrap().lock.clone().unwrap();
    assert_eq!(lock, LockState::locked(at + mins(30), LockReason::Push));
    assert!(u.counters(&id(1)).is_zero());
    assert!(matches!(
        refused(&u, push(1), at + mins(29)),
        UserDevicesError::Locked { .. }
    ));
    u.execute(push(1), at + mins(30)).unwrap();
    assert_eq!(u.counters(&id(1)).push_rejections, [at + mins(30)]);
    // Pushes go to ACTIVE devices only.
    create(&mut u, 2, DeviceStatus::ActivationRequired, t0());
    assert_eq!(
        refused(&u, push(2), t0()),
        UserDevicesError::NotActive(id(2))
    );
}

/// Commands carry validated lock rules (issue 10 §2): the numbers the aggregate used to
/// re-check in `decide` cannot be built at all, and the refusal names the property.
#[test]
fn policy_numbers_are_checked_where_the_rules_are_built() {
    use mfa_devices::lock::RuleError;
    assert_eq!(FailureRule::new(0, mins(2)), Err(RuleError::ZeroCount));
    assert!(matches!(
        FailureRule::new(3, mins(-1)),
        Err(RuleError::NegativeDuration {
            name: "coolDown",
            ..
        })
    ));
    assert_eq!(
        PushLimitRule::new(0, mins(1), mins(1)),
        Err(RuleError::ZeroCount)
    );
    for (window, lock, name) in [
        (mins(-1), mins(1), "timePeriod"),
        (mins(1), mins(-1), "lockDuration"),
    ] {
        let err = PushLimitRule::new(1, window, lock).unwrap_err();
        assert!(
            matches!(err, RuleError::NegativeDuration { name: n, .. } if n == name),
            "{err}"
        );
    }
    // As policy input they are 400 OUT_OF_RANGE at the property.
    let api = ApiError::from(mfa_devices::policy::PolicyError::from(RuleError::ZeroCount));
    assert_eq!(api.details[0].target.as_deref(), Some("count"));
    assert_eq!(api.details[0].code.as_str(), "OUT_OF_RANGE");
    // A zero lock duration is a rule that never locks (the count is still reached).
    let mut u = with_active(&[1]);
    let never = Command::RecordPushRejected {
        id: id(1),
        rule: PushLimitRule::new(1, mins(1), TimeDelta::zero()).unwrap(),
    };
    u.execute(never, t0()).unwrap();
    assert!(!u.device(&id(1)).unwrap().is_locked(t0()));
}

#[test]
fn block_never_expires_and_unblock_clears_it() {
    let mut u = with_active(&[1, 2]);
    let at = t0() + mins(3);
    u.execute(Command::Block { id: id(1) }, at).unwrap();
    let d = u.device(&id(1)).unwrap();
    assert!(d.is_blocked());
    assert_eq!(d.block, Some(BlockState::blocked(at)));
    let years_later = at + TimeDelta::days(3650);
    assert!(u.device_at(&id(1), years_later).unwrap().is_blocked());
    // A blocked device keeps its place (still the default) but is refused OTP and activation.
    assert_eq!(default_id(&u), Some(id(1)));
    assert_eq!(u.expand_order(), [id(1), id(2)]);
    assert_eq!(
        refused(&u, otp_failure(1, 3, mins(2)), years_later),
        UserDevicesError::Blocked(id(1))
    );
    // Blocking twice keeps the first blockedAt.
    assert!(
        u.execute(Command::Block { id: id(1) }, years_later)
            .unwrap()
            .is_empty()
    );
    u.execute(Command::Unblock { id: id(1) }, years_later)
        .unwrap();
    assert_eq!(
        u.device(&id(1)).unwrap().block,
        Some(BlockState::unblocked())
    );
    assert!(
        u.execute(Command::Unblock { id: id(1) }, years_later)
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------- revision, updatedAt, refusals

#[test]
fn every_applied_event_bumps_revision_and_updated_at() {
    let mut u = with_active(&[1, 2]);
    let mut rev = u.revision();
    assert_eq!(rev, 2);
    let steps: Vec<Command> = vec![
        Command::SetNickname {
            id: id(1),
            nickname: "Work phone".into(),
        },
        Command::Block { id: id(1) },
        Command::Unblock { id: id(1) },
        otp_failure(1, 1, mins(1)),
        Command::Unlock { id: id(1) },
        push(1),
    ];
    for (i, cmd) in steps.into_iter().enumerate() {
        let at = t0() + TimeDelta::hours(i as i64 + 1) + TimeDelta::microseconds(1500);
        let events = u.execute(cmd, at).unwrap();
        assert_eq!(events.len(), 1);
        rev += 1;
        assert_eq!(u.revision(), rev);
        assert_eq!(events[0].revision, rev);
        // Time is truncated to milliseconds (PingOne's precision).
        let at_ms = at - TimeDelta::microseconds(500);
        assert_eq!(events[0].at, at_ms);
        assert_eq!(u.device(&id(1)).unwrap().updated_at, at_ms);
        assert_eq!(u.device(&id(2)).unwrap().updated_at, t0() + mins(1));
    }
}

#[test]
fn refused_commands_leave_state_and_revision_untouched() {
    let mut u = with_active(&[1]);
    create(&mut u, 2, DeviceStatus::ActivationRequired, t0());
    assert_eq!(
        refused(&u, Command::Delete { id: id(9) }, t0()),
        UserDevicesError::NotFound(id(9))
    );
    assert_eq!(
        refused(
            &u,
            Command::Activate {
                id: id(1),
                otp: None
            },
            t0()
        ),
        UserDevicesError::AlreadyActive(id(1))
    );
    assert_eq!(
        refused(
            &u,
            Command::Create {
                id: id(1),
                device: totp(DeviceStatus::Active),
                secrets: Default::default()
            },
            t0()
        ),
        UserDevicesError::DuplicateId(id(1))
    );
    let long = "é".repeat(101);
    assert_eq!(
        refused(
            &u,
            Command::SetNickname {
                id: id(1),
                nickname: long
            },
            t0()
        ),
        UserDevicesError::NicknameTooLong { chars: 101 }
    );
    let bad = NewDevice::new(DeviceType::Email);
    let UserDevicesError::InvalidDevice(api) = refused(
        &u,
        Command::Create {
            id: id(5),
            device: bad,
            secrets: Default::default(),
        },
        t0(),
    ) else {
        panic!("validation error expected")
    };
    assert_eq!(api.details[0].target.as_deref(), Some("email"));
    assert_eq!(
        ApiError::from(refused(&u, Command::Delete { id: id(9) }, t0())).http_status(),
        404
    );
}

#[test]
fn a_stale_revision_is_a_409_conflict() {
    let mut u = with_active(&[1, 2]);
    let read = u.revision();
    u.execute(Command::Block { id: id(2) }, t0()).unwrap();
    let err = u
        .decide_at_revision(read, Command::Delete { id: id(1) }, t0())
        .unwrap_err();
    assert_eq!(
        err,
        UserDevicesError::StaleRevision {
            expected: read,
            actual: read + 1
        }
    );
    let api = ApiError::from(err);
    assert_eq!((api.code(), api.http_status()), ("CONFLICT", 409));
    let before = u.clone();
    assert!(
        u.execute_at_revision(read, Command::Delete { id: id(1) }, t0())
            .is_err()
    );
    assert_eq!(u, before);
    u.execute_at_revision(read + 1, Command::Delete { id: id(1) }, t0())
        .unwrap();
    assert_eq!(u.revision(), read + 2);
}

#[test]
fn nickname_is_set_and_an_empty_string_removes_it() {
    let mut u = with_active(&[1]);
    let e = u
        .execute(
            Command::SetNickname {
                id: id(1),
                nickname: "x".repeat(100),
            },
            t0(),
        )
        .unwrap();
    assert_eq!(e[0].audit_type(), "DEVICE.UPDATED");
    assert_eq!(
        u.device(&id(1)).unwrap().nickname.as_deref(),
        Some(&*"x".repeat(100))
    );
    u.execute(
        Command::SetNickname {
            id: id(1),
            nickname: String::new(),
        },
        t0(),
    )
    .unwrap();
    assert_eq!(u.device(&id(1)).unwrap().nickname, None);
}

// ---------------------------------------------------------------- creation details, events

#[test]
fn creation_fills_the_type_details_from_the_body() {
    let mut u = UserDevices::new(env(), usr());
    let body: NewDevice = serde_json::from_value(json!({
        "type": "VOICE", "phone": "+1 (512) 555-1234", "extension": "12#", "testMode": true,
        "nickname": "Desk", "status": "ACTIVATION_REQUIRED",
        "notification": {"template": {"locale": "en", "variant": "variant_B"}},
        "policy": {"id": "p1"}
    }))
    .unwrap();
    let events = u
        .execute(
            Command::Create {
                id: id(1),
                device: body,
                secrets: Default::default(),
            },
            t0(),
        )
        .unwrap();
    assert_eq!(events[0].audit_type(), "DEVICE.CREATED");
    let d = u.device(&id(1)).unwrap();
    let json = serde_json::to_value(d).unwrap();
    assert_eq!(json["phone"], "+1 (512) 555-1234");
    assert_eq!(json["extension"], "12#");
    assert_eq!(json["testMode"], true);
    assert_eq!(json["nickname"], "Desk");
    assert_eq!(json["notification"]["template"]["variant"], "variant_B");
    assert_eq!(json["status"], "ACTIVATION_REQUIRED");
    assert_eq!(json["createdAt"], "2025-03-01T12:00:00.000Z");
    assert!(json.get("policy").is_none(), "policy is not returned");

    let fido: NewDevice = serde_json::from_value(json!({
        "type": "FIDO2", "rp": {"id": "example.com", "name": "Example"}
    }))
    .unwrap();
    u.execute(
        Command::Create {
            id: id(2),
            device: fido,
            secrets: Default::default(),
        },
        t0(),
    )
    .unwrap();
    let json = serde_json::to_value(u.device(&id(2)).unwrap()).unwrap();
    assert_eq!(json["rp"], json!({"id": "example.com", "name": "Example"}));

    let email: NewDevice =
        serde_json::from_value(json!({"type": "EMAIL", "email": "a@example.com"})).unwrap();
    u.execute(
        Command::Create {
            id: id(3),
            device: email,
            secrets: Default::default(),
        },
        t0(),
    )
    .unwrap();
    assert_eq!(u.device(&id(3)).unwrap().email(), Some("a@example.com"));
}

#[test]
fn events_carry_the_envelope_and_round_trip_through_json() {
    let mut u = with_active(&[1, 2]);
    let mut all = Vec::new();
    for cmd in [
        Command::Reorder {
            order: vec![id(2), id(1)],
        },
        otp_failure(1, 1, mins(2)),
        push(2),
        Command::Unlock { id: id(1) },
        Command::Block { id: id(2) },
        Command::Unblock { id: id(2) },
        Command::RemoveOrder,
        Command::Delete { id: id(1) },
    ] {
        all.extend(u.execute(cmd, t0()).unwrap());
    }
    for e in &all {
        assert_eq!(e.environment.id, env());
        assert_eq!(e.user.id, usr());
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["environment"]["id"], env().to_string());
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(&back, e);
    }
    let types: Vec<&str> = all.iter().map(Event::audit_type).collect();
    assert_eq!(
        types,
        [
            "DEVICE.REORDERED",
            "DEVICE.UPDATED",
            "DEVICE.UPDATED",
            "DEVICE.UPDATED",
            "DEVICE.UPDATED",
            "DEVICE.UPDATED",
            "DEVICE.REORDERED",
            "DEVICE.DELETED"
        ]
    );
}

// ---------------------------------------------------------------- snapshots, fixture, rendering

fn fixture() -> Value {
    serde_json::from_str(include_str!("../fixtures/devices.json")).unwrap()
}

#[test]
fn the_spec_list_response_loads_and_renders_back() {
    let body = fixture();
    let u = UserDevices::from_list_response(env(), usr(), &body, 12).unwrap();
    let sms: DeviceId = "e112c96d-d165-45c5-8061-87ff268fd520".parse().unwrap();
    let fido: DeviceId = "f44fa23e-67db-493a-8278-570010dc57f0".parse().unwrap();
    let browser: DeviceId = "a837a752-714f-4fcb-9963-902c9e31ce67".parse().unwrap();
    let totp_ar: DeviceId = "44e3c0b5-fda7-4f48-86ec-457184437cd3".parse().unwrap();
    let fido_ar: DeviceId = "0d26cb0d-a938-46ca-986f-d55aa9bb12c6".parse().unwrap();
    assert_eq!(u.expand_order(), [sms, fido, browser]);
    assert_eq!(default_id(&u), Some(sms));
    assert_eq!(u.revision(), 12);
    // ACTIVE devices in order, then ACTIVATION_REQUIRED by createdAt (2024-09 before 2025-03).
    assert_eq!(ids(u.list()), [sms, fido, browser, totp_ar, fido_ar]);

    let rendered = u.render_list(
        &ApiBase::new("https://api.pingone.eu/v1"),
        false,
        t0(),
        |_| true,
    );
    assert_eq!(rendered["_links"], body["_links"]);
    assert_eq!(
        (rendered["count"].clone(), rendered["size"].clone()),
        (json!(5), json!(5))
    );
    let originals = body["_embedded"]["devices"].as_array().unwrap();
    for item in rendered["_embedded"]["devices"].as_array().unwrap() {
        let original = originals.iter().find(|o| o["id"] == item["id"]).unwrap();
        assert_eq!(
            item, original,
            "device {} renders as in the spec",
            item["id"]
        );
    }
    assert!(rendered["_embedded"].get("order").is_none());

    let expanded = u.render_list(
        &ApiBase::new("https://api.pingone.eu/v1"),
        true,
        t0(),
        |d| d.status == DeviceStatus::ActivationRequired,
    );
    assert_eq!(expanded["count"], 2);
    assert_eq!(
        expanded["_embedded"]["order"],
        json!([{"id": sms.to_string()}, {"id": fido.to_string()}, {"id": browser.to_string()}])
    );
}

#[test]
fn an_expanded_empty_order_loads_as_unordered() {
    let mut body = fixture();
    body["_embedded"]["order"] = json!([]);
    let u = UserDevices::from_list_response(env(), usr(), &body, 0).unwrap();
    assert!(!u.is_ordered());
    body["_embedded"]["order"] = json!([{"id": "e112c96d-d165-45c5-8061-87ff268fd520"}]);
    assert!(matches!(
        UserDevices::from_list_response(env(), usr(), &body, 0),
        Err(UserDevicesError::InvalidSnapshot(_))
    ));
}

#[test]
fn render_list_shows_expired_locks_as_unlocked() {
    let mut u = with_active(&[1]);
    u.execute(otp_failure(1, 1, mins(2)), t0()).unwrap();
    let base = ApiBase::new("https://api.pingone.com/v1");
    let during = u.render_list(&base, false, t0() + mins(1), |_| true);
    assert_eq!(
        during["_embedded"]["devices"][0]["lock"]["status"],
        "LOCKED"
    );
    assert_eq!(during["_embedded"]["devices"][0]["lock"]["reason"], "OTP");
    let after = u.render_list(&base, false, t0() + mins(2), |_| true);
    assert_eq!(
        after["_embedded"]["devices"][0]["lock"],
        json!({"status": "UNLOCKED"})
    );
}

#[test]
fn snapshots_round_trip_and_inconsistent_ones_are_refused() {
    let mut u = with_active(&[1, 2]);
    create(&mut u, 3, DeviceStatus::ActivationRequired, t0());
    u.execute(otp_failure(1, 3, mins(2)), t0()).unwrap();
    u.execute(push(2), t0()).unwrap();
    let json = serde_json::to_value(&u).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    assert!(
        json.get("settings").is_none(),
        "settings are environment configuration"
    );
    assert_eq!(json["counters"][id(1).to_string()]["otpFailures"], 1);
    let back: UserDevices = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back.with_settings(u.settings()), u);

    let mut bad = json.clone();
    bad["order"] = json!([id(1).to_string(), id(3).to_string()]);
    assert!(serde_json::from_value::<UserDevices>(bad).is_err());
    let mut bad = json;
    bad["devices"][1] = bad["devices"][0].clone();
    assert!(serde_json::from_value::<UserDevices>(bad).is_err());
}

// ---------------------------------------------------------------- requests

#[test]
fn requests_map_to_commands_by_media_type() {
    let new_id = id(42);
    let coll = RequestTarget::Devices { new_id };
    let c = Command::from_request(
        "Application/JSON; charset=UTF-8",
        coll,
        br#"{"type":"SMS","phone":"+11235557890"}"#,
    )
    .unwrap();
    assert!(
        matches!(c, Command::Create { id, ref device, .. } if id == new_id && device.phone.as_deref() == Some("+11235557890"))
    );
    assert_eq!(
        Command::from_request(DEVICES_ORDER_REMOVE_MEDIA_TYPE, coll, b"").unwrap(),
        Command::RemoveOrder
    );
    let dev = RequestTarget::Device(id(1));
    for (mt, expected) in [
        (
            DEVICE_ACTIVATE_MEDIA_TYPE,
            Command::Activate {
                id: id(1),
                otp: Some(Secret::new("123456")),
            },
        ),
        (DEVICE_UNLOCK_MEDIA_TYPE, Command::Unlock { id: id(1) }),
        (DEVICE_BLOCK_MEDIA_TYPE, Command::Block { id: id(1) }),
        (DEVICE_UNBLOCK_MEDIA_TYPE, Command::Unblock { id: id(1) }),
    ] {
        assert_eq!(
            Command::from_request(mt, dev, br#"{"otp":"123456"}"#).unwrap(),
            expected
        );
    }
    let nick = RequestTarget::Nickname(id(1));
    assert_eq!(
        Command::from_request(APPLICATION_JSON, nick, br#"{"nickname":"Mine"}"#).unwrap(),
        Command::SetNickname {
            id: id(1),
            nickname: "Mine".into()
        }
    );
    assert_eq!(
        Command::from_request(APPLICATION_JSON, nick, br#"{"nickname":null}"#).unwrap(),
        Command::SetNickname {
            id: id(1),
            nickname: String::new()
        }
    );
    assert_eq!(
        DEVICES_REORDER_MEDIA_TYPE,
        "application/vnd.pingidentity.devices.reorder+json"
    );
}

#[test]
fn unknown_or_misplaced_media_types_are_415() {
    let coll = RequestTarget::Devices { new_id: id(1) };
    for (mt, target) in [
        ("text/plain", coll),
        (DEVICE_UNLOCK_MEDIA_TYPE, coll),
        (DEVICES_REORDER_MEDIA_TYPE, RequestTarget::Device(id(1))),
        (
            DEVICES_ORDER_REMOVE_MEDIA_TYPE,
            RequestTarget::Nickname(id(1)),
        ),
        (
            "application/vnd.pingidentity.otp.check+json",
            RequestTarget::Device(id(1)),
        ),
        ("", coll),
    ] {
        let e = Command::from_request(mt, target, b"{}").unwrap_err();
        assert_eq!(
            (e.code(), e.http_status()),
            ("INVALID_REQUEST", 415),
            "{mt}"
        );
    }
}

#[test]
fn malformed_bodies_are_invalid_data_with_targets() {
    let coll = RequestTarget::Devices { new_id: id(1) };
    let e = Command::from_request(
        DEVICES_REORDER_MEDIA_TYPE,
        coll,
        br#"{"order":[{"id":"nope"},{"x":1},{"id":"e112c96d-d165-45c5-8061-87ff268fd520"}]}"#,
    )
    .unwrap_err();
    let targets: Vec<&str> = e
        .details
        .iter()
        .map(|d| d.target.as_deref().unwrap())
        .collect();
    assert_eq!(targets, ["order[0].id", "order[1]"]);
    assert_eq!(e.code(), "INVALID_DATA");
    let e = Command::from_request(DEVICES_REORDER_MEDIA_TYPE, coll, b"{}").unwrap_err();
    assert_eq!(e.details[0].code.as_str(), "REQUIRED_VALUE");
    let e = Command::from_request(APPLICATION_JSON, coll, b"{not json").unwrap_err();
    assert_eq!(e.details[0].target.as_deref(), Some("body"));
    assert!(e.details[0].message.contains("line 1"));
    let e = Command::from_request(APPLICATION_JSON, coll, br#"{"type":"MOBILE"}"#).unwrap_err();
    assert_eq!(e.details[0].target.as_deref(), Some("type"));
    let e = Command::from_request(
        APPLICATION_JSON,
        RequestTarget::Nickname(id(1)),
        br#"{"nickname":5}"#,
    )
    .unwrap_err();
    assert_eq!(e.details[0].target.as_deref(), Some("nickname"));
}

#[test]
fn an_event_serializes_to_a_stable_audit_record() {
    let mut u = with_active(&[1, 2]);
    let events = u
        .execute(
            Command::Reorder {
                order: vec![id(2), id(1)],
            },
            t0() + mins(1) + TimeDelta::milliseconds(614),
        )
        .unwrap();
    assert_eq!(
        serde_json::to_value(&events[0]).unwrap(),
        json!({
            // UUIDv5(EVENT_ID_NAMESPACE, env ‖ user ‖ 3u64 big-endian), checked independently.
            "id": "79a309ac-04b2-5420-977c-86d40bdc83f2",
            "environment": {"id": env().to_string()},
            "user": {"id": usr().to_string()},
            "revision": 3,
            "at": "2025-03-01T12:01:00.614Z",
            "type": "ORDER_SET",
            "before": [id(1).to_string(), id(2).to_string()],
            "order": [id(2).to_string(), id(1).to_string()],
        })
    );
}

// ------------------------------------------------------- issue 12: times and the clock -------

fn reads_back(u: &UserDevices, events: &[Event]) {
    let json = serde_json::to_string(u).expect("a state the aggregate accepted serializes");
    let back: UserDevices = serde_json::from_str(&json).expect("and reads back");
    assert_eq!(&back.with_settings(u.settings()), u);
    for e in events {
        let json = serde_json::to_string(e).expect("an event serializes");
        assert_eq!(&serde_json::from_str::<Event>(&json).unwrap(), e);
    }
}

/// Issue 12 point 1: a cool-down of millennia, a push lock of `TimeDelta::MAX` and a `now` at
/// either edge of years 0000–9999 all leave a state whose JSON reads back; a `now` outside the
/// range is refused (500) and writes nothing.
#[test]
fn point_01_every_written_time_reads_back() {
    let mut u = with_active(&[1, 2]);
    let events = u
        .execute(
            Command::RecordOtpFailure {
                id: id(1),
                rule: mfa_devices::lock::FailureRule::new(1, TimeDelta::days(3_000_000)).unwrap(),
            },
            t0() + mins(5),
        )
        .unwrap();
    assert_eq!(
        u.device(&id(1)).unwrap().lock,
        Some(LockState::locked(timestamp::MAX, LockReason::Otp)),
        "a lock past the range ends at its last instant"
    );
    reads_back(&u, &events);
    let last_ms = timestamp::MAX - TimeDelta::milliseconds(1);
    assert!(u.device_at(&id(1), last_ms).unwrap().is_locked(last_ms));
    let events = u
        .execute(
            Command::RecordPushRejected {
                id: id(2),
                rule: mfa_devices::lock::PushLimitRule::new(1, mins(10), TimeDelta::MAX).unwrap(),
            },
            t0() + mins(6),
        )
        .unwrap();
    reads_back(&u, &events);
    assert_eq!(
        u.device(&id(2)).unwrap().lock.as_ref().unwrap().expires_at,
        Some(timestamp::MAX)
    );

    // `now` at the edges is accepted and reads back; one millisecond outside is refused.
    for (now, ok) in [
        (timestamp::MAX, true),
        (timestamp::MAX + TimeDelta::microseconds(999), true),
        (timestamp::MAX + TimeDelta::milliseconds(1), false),
        (DateTime::<Utc>::MAX_UTC, false),
        (DateTime::<Utc>::MIN_UTC, false),
        (timestamp::MIN - TimeDelta::milliseconds(1), false),
    ] {
        let mut fresh = UserDevices::new(env(), usr());
        let before = fresh.clone();
        match fresh.execute(
            Command::Create {
                id: id(3),
                device: totp(DeviceStatus::Active),
                secrets: Default::default(),
            },
            now,
        ) {
            Ok(events) => {
                assert!(ok, "{now:?} accepted");
                reads_back(&fresh, &events);
            }
            Err(e) => {
                assert!(!ok, "{now:?} refused: {e}");
                assert!(matches!(e, UserDevicesError::TimeOutOfRange(_)));
                assert_eq!(fresh, before, "nothing written");
                let api = ApiError::from(e);
                assert_eq!((api.code(), api.http_status()), ("UNEXPECTED_ERROR", 500));
                assert!(
                    api.message.contains("9999-12-31T23:59:59.999Z"),
                    "{}",
                    api.message
                );
            }
        }
    }
    let mut fresh = UserDevices::new(env(), usr());
    let events = fresh
        .execute(
            Command::Create {
                id: id(3),
                device: totp(DeviceStatus::Active),
                secrets: Default::default(),
            },
            timestamp::MIN,
        )
        .unwrap();
    reads_back(&fresh, &events);

    // The serde writer refuses a time outside the range rather than writing `+10238-…`.
    let mut d = u.device(&id(1)).unwrap().clone();
    d.updated_at = DateTime::<Utc>::MAX_UTC;
    assert!(serde_json::to_string(&d).is_err());
    assert!(timestamp::parse("9999-12-31T23:59:59.999-00:01").is_none());
}

mod point_01_props {
    use super::*;
    use proptest::prelude::*;

    fn any_now() -> impl Strategy<Value = DateTime<Utc>> {
        let edge = timestamp::MAX.timestamp_millis();
        let start = timestamp::MIN.timestamp_millis();
        prop_oneof![
            (start - 5..start + 5).prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap()),
            (edge - 5..edge + 5).prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap()),
            (-3_000_000_000i64..3_000_000_000).prop_map(|s| t0() + TimeDelta::seconds(s)),
            Just(DateTime::<Utc>::MAX_UTC),
            Just(DateTime::<Utc>::MIN_UTC),
        ]
    }

    fn any_delta() -> impl Strategy<Value = TimeDelta> {
        prop_oneof![
            (1i64..3_600_000).prop_map(TimeDelta::milliseconds),
            (1i64..i64::MAX / 1_000_000).prop_map(TimeDelta::milliseconds),
            Just(TimeDelta::MAX),
        ]
    }

    fn command() -> impl Strategy<Value = Command> {
        let n = (1u8..4).prop_map(id);
        prop_oneof![
            (n.clone(), any::<bool>()).prop_map(|(id, active)| Command::Create {
                id,
                device: totp(if active {
                    DeviceStatus::Active
                } else {
                    DeviceStatus::ActivationRequired
                }),
                secrets: Default::default(),
            }),
            n.clone().prop_map(|id| Command::Activate { id, otp: None }),
            (n.clone(), 1u32..3, any_delta()).prop_map(|(id, failure_count, cool_down)| {
                Command::RecordOtpFailure {
                    id,
                    rule: mfa_devices::lock::FailureRule::new(failure_count, cool_down).unwrap(),
                }
            }),
            (n.clone(), 1u32..3, any_delta(), any_delta()).prop_map(
                |(id, limit, time_period, lock_duration)| Command::RecordPushRejected {
                    id,
                    rule: mfa_devices::lock::PushLimitRule::new(limit, time_period, lock_duration)
                        .unwrap(),
                }
            ),
            n.clone().prop_map(|id| Command::Block { id }),
            n.clone().prop_map(|id| Command::Unlock { id }),
            n.prop_map(|id| Command::SetNickname {
                id,
                nickname: "n".into()
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Issue 12 points 1 and 13: any accepted command at any `now` (extreme, out of range,
        /// going backwards) leaves a state whose snapshot and events read back equal, event
        /// times never go back and no `updatedAt` precedes its `createdAt`.
        #[test]
        fn point_01_any_accepted_command_at_any_now_reads_back(
            steps in proptest::collection::vec((command(), any_now()), 1..24),
        ) {
            let mut u = UserDevices::new(env(), usr());
            let mut last = None;
            for (command, now) in steps {
                let before = u.clone();
                match u.execute(command, now) {
                    Ok(events) => {
                        reads_back(&u, &events);
                        for e in &events {
                            prop_assert!(last.is_none_or(|l| e.at >= l), "event time went back");
                            last = Some(e.at);
                        }
                    }
                    Err(UserDevicesError::TimeOutOfRange(_)) => {
                        prop_assert!(!timestamp::is_representable(&now));
                        prop_assert_eq!(&u, &before);
                    }
                    Err(_) => prop_assert_eq!(&u, &before),
                }
                for d in u.list() {
                    prop_assert!(d.updated_at >= d.created_at);
                }
            }
        }
    }
}

/// Issue 12 point 13: a `now` earlier than the latest recorded time is that time — `updatedAt`
/// never precedes `createdAt`, and a push rejection is never dated after the decision that
/// counts it.
#[test]
fn point_13_a_clock_going_backwards_is_the_last_recorded_time() {
    let mut u = with_active(&[1]);
    let created = u.device(&id(1)).unwrap().created_at;
    let back = created - TimeDelta::hours(1);
    assert_eq!(u.effective_now(back), created);
    let events = u.execute(Command::Block { id: id(1) }, back).unwrap();
    assert_eq!(
        events[0].at, created,
        "the event is dated at the last recorded time"
    );
    let d = u.device(&id(1)).unwrap();
    assert!(d.updated_at >= d.created_at, "updatedAt < createdAt");
    assert_eq!(d.block, Some(BlockState::blocked(created)));

    // A rejection recorded while the clock ran an hour ahead; the clock then comes back.
    let mut u = with_active(&[2]);
    let ahead = t0() + TimeDelta::hours(1);
    let push = |limit| Command::RecordPushRejected {
        id: id(2),
        rule: mfa_devices::lock::PushLimitRule::new(limit, mins(10), mins(30)).unwrap(),
    };
    u.execute(push(3), ahead).unwrap();
    let events = u.execute(push(3), t0()).unwrap();
    assert_eq!(events[0].at, ahead);
    assert!(
        u.counters(&id(2))
            .push_rejections
            .iter()
            .all(|t| *t <= ahead)
    );
    // The lock (third rejection) lasts lockDuration from the last recorded time, not from a
    // clock that went back, and reads the same at every earlier `now`.
    u.execute(push(3), t0()).unwrap();
    let lock = u.device(&id(2)).unwrap().lock.clone().unwrap();
    assert_eq!(lock.expires_at, Some(ahead + mins(30)));
    assert_eq!(u.device_at(&id(2), t0()), u.device_at(&id(2), ahead));
}

/// Issue 12 point 14: lenient input, each a documented decision (DESIGN.md) — control
/// characters in nicknames, non-HTTP whitespace in media types, nested parentheses in phones,
/// numeric top-level labels in emails and lower-case enum values in flow bodies are refused.
#[test]
fn point_14_lenient_input_is_refused_as_documented() {
    use mfa_devices::authn::{
        ASSERTION_CHECK_MEDIA_TYPE, Action, CANCEL_PUSH_MEDIA_TYPE, DEVICE_SELECT_MEDIA_TYPE,
    };
    // Nicknames: NUL, ESC, DEL, a line break → INVALID_VALUE at `nickname`, on PUT and on POST.
    let mut u = with_active(&[1]);
    for bad in [
        "a\u{0}b",
        "x\u{1b}[2J",
        "del\u{7f}",
        "two\nlines",
        "c1\u{85}",
    ] {
        let e = u
            .execute(
                Command::SetNickname {
                    id: id(1),
                    nickname: bad.into(),
                },
                t0() + mins(1),
            )
            .unwrap_err();
        assert_eq!(e, UserDevicesError::NicknameControlCharacters);
        let api = ApiError::from(e);
        assert_eq!(api.details[0].target.as_deref(), Some("nickname"));
        let body = NewDevice {
            nickname: Some(bad.into()),
            ..totp(DeviceStatus::Active)
        };
        let api = body.validate().unwrap_err();
        assert_eq!(
            api.details[0].target.as_deref(),
            Some("nickname"),
            "{bad:?}"
        );
    }
    u.execute(
        Command::SetNickname {
            id: id(1),
            nickname: "Work phone 📱 (ünïcode)".into(),
        },
        t0() + mins(1),
    )
    .unwrap();

    // Media types: only space and tab are HTTP whitespace.
    let coll = RequestTarget::Devices { new_id: id(9) };
    let body = br#"{"type":"TOTP"}"#;
    assert!(Command::from_request(" application/json\t", coll, body).is_ok());
    for mt in [
        "\u{a0}application/json",
        "application/json\u{2003}",
        "\napplication/json",
    ] {
        let e = Command::from_request(mt, coll, body).unwrap_err();
        assert_eq!(e.http_status(), 415, "{mt:?}");
    }

    // Phones: one balanced, unnested group of digits.
    assert!(is_valid_phone("+1 (512) 555-1234"));
    assert!(is_valid_phone("+(44) 20 7946 0958"));
    for bad in [
        "+1 ((512)) 555-1234",
        "+1 (512 555-1234",
        "+1 512) 555-1234",
        "+1 () 5125551234",
        "+1 (512) (555) 1234",
    ] {
        assert!(!is_valid_phone(bad), "{bad}");
    }
    // Emails: the top-level label is not all digits.
    assert!(is_valid_email("a@b1.c2"));
    for bad in ["a@1.2", "a@10.0.0.1", "a@example.123"] {
        assert!(!is_valid_email(bad), "{bad}");
    }

    // Flow bodies: enumerated values are PingOne's, exactly.
    let a = "e112c96d-d165-45c5-8061-87ff268fd520";
    for (mt, body, target) in [
        (
            DEVICE_SELECT_MEDIA_TYPE,
            format!(r#"{{"device":{{"id":"{a}"}},"compatibility":"none"}}"#),
            "compatibility",
        ),
        (
            ASSERTION_CHECK_MEDIA_TYPE,
            r#"{"origin":"https://a","assertion":"x","compatibility":"Full"}"#.to_string(),
            "compatibility",
        ),
        (
            CANCEL_PUSH_MEDIA_TYPE,
            r#"{"reason":"signout"}"#.to_string(),
            "reason",
        ),
    ] {
        let e = Action::from_request(mt, body.as_bytes()).unwrap_err();
        assert_eq!(
            (e.code(), e.details[0].target.as_deref()),
            ("INVALID_DATA", Some(target)),
            "{body}"
        );
        let upper = body
            .replace("none", "NONE")
            .replace("Full", "FULL")
            .replace("signout", "SIGNOUT");
        assert!(
            Action::from_request(mt, upper.as_bytes()).is_ok(),
            "{upper}"
        );
    }
}

// ---------------------------------------------------------------- persistence contract

/// The snapshot JSON main wrote before `schemaVersion` (generated from 0.2.0's code, committed
/// unchanged): settings inside, no version, counters, a lock and a block.
const UNVERSIONED_SNAPSHOT: &str =
    include_str!("../fixtures/snapshots/user_devices_0.2.0-main.json");

#[test]
fn an_unversioned_snapshot_still_loads_with_the_environments_settings() {
    let settings = DeviceSettings::new(3).unwrap();
    let u = UserDevices::from_snapshot(UNVERSIONED_SNAPSHOT.as_bytes(), settings).unwrap();
    // The snapshot's own settings (7) are ignored: they are environment configuration.
    assert_eq!(u.settings(), settings);
    assert_eq!(u.revision(), 9);
    let a = DeviceId::from_bytes([10; 16]);
    let b = DeviceId::from_bytes([11; 16]);
    let d = DeviceId::from_bytes([13; 16]);
    assert_eq!(u.order(), Some(&[d, b, a][..]));
    assert_eq!(u.counters(&a).otp_failures, 1);
    assert_eq!(u.counters(&b).push_rejections.len(), 1);
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 10).unwrap();
    assert!(u.device(&d).unwrap().is_locked(t));
    assert!(u.device(&b).unwrap().is_blocked());
    // Written back: versioned, without settings, and reads back equal.
    let json = serde_json::to_value(&u).unwrap();
    assert_eq!(json["schemaVersion"], SNAPSHOT_SCHEMA_VERSION);
    assert!(json.get("settings").is_none());
    let back = UserDevices::from_snapshot(&serde_json::to_vec(&json).unwrap(), settings).unwrap();
    assert_eq!(back, u);
    // Plain serde reads it too (default settings; with_settings gives the environment's).
    let plain: UserDevices = serde_json::from_str(UNVERSIONED_SNAPSHOT).unwrap();
    assert_eq!(plain.with_settings(settings), u);
}

#[test]
fn a_snapshot_of_an_unknown_schema_version_is_refused() {
    let mut json: Value = serde_json::from_str(UNVERSIONED_SNAPSHOT).unwrap();
    json["schemaVersion"] = json!(2);
    let err = UserDevices::from_snapshot(
        &serde_json::to_vec(&json).unwrap(),
        DeviceSettings::default(),
    )
    .unwrap_err();
    assert!(matches!(err, UserDevicesError::InvalidSnapshot(_)));
    assert!(err.to_string().contains("schemaVersion 2"), "{err}");
    assert_eq!(ApiError::from(err).http_status(), 500);
}

fn a_log() -> (UserDevices, Vec<Event>) {
    let mut u = UserDevices::new(env(), usr());
    let mut log = Vec::new();
    create(&mut u, 1, DeviceStatus::Active, t0());
    log.extend(
        UserDevices::new(env(), usr())
            .decide(
                Command::Create {
                    id: id(1),
                    device: totp(DeviceStatus::Active),
                    secrets: Default::default(),
                },
                t0(),
            )
            .unwrap(),
    );
    for cmd in [
        Command::Block { id: id(1) },
        Command::Unblock { id: id(1) },
        Command::RemoveOrder,
    ] {
        log.extend(u.execute(cmd, t0()).unwrap());
    }
    (u, log)
}

#[test]
fn replay_refuses_a_log_with_a_gap_a_duplicate_or_a_foreign_user() {
    let (u, log) = a_log();
    assert_eq!(UserDevices::replay(env(), usr(), &log).unwrap(), u);

    let mut gap = log.clone();
    gap.remove(1);
    let err = UserDevices::replay(env(), usr(), &gap).unwrap_err();
    assert_eq!(
        err,
        UserDevicesError::InvalidEventLog {
            revision: 3,
            fault: LogFault::Gap { expected: 2 }
        }
    );
    assert!(err.to_string().contains("revision 3"), "{err}");
    assert_eq!(ApiError::from(err).http_status(), 500);

    let mut duplicate = log.clone();
    duplicate.insert(2, log[1].clone());
    let err = UserDevices::replay(env(), usr(), &duplicate).unwrap_err();
    assert_eq!(
        err,
        UserDevicesError::InvalidEventLog {
            revision: 2,
            fault: LogFault::Duplicate { expected: 3 }
        }
    );
    assert!(err.to_string().contains("revision 2"), "{err}");

    let other = UserId::from_bytes([9; 16]);
    let err = UserDevices::replay(env(), other, &log).unwrap_err();
    assert!(matches!(
        err,
        UserDevicesError::InvalidEventLog {
            revision: 1,
            fault: LogFault::ForeignUser { .. }
        }
    ));

    // The tail of a log onto a snapshot: try_apply checks the same, and refuses without change.
    let mut at_two = UserDevices::replay(env(), usr(), &log[..2]).unwrap();
    let before = at_two.clone();
    assert!(at_two.try_apply(&log[3]).is_err());
    assert_eq!(at_two, before);
    for e in &log[2..] {
        at_two.try_apply(e).unwrap();
    }
    assert_eq!(at_two, u);
}

#[test]
fn revision_arithmetic_refuses_at_u64_max_instead_of_saturating() {
    let device = Device::new(
        id(1),
        env(),
        usr(),
        DeviceType::Totp,
        DeviceStatus::Active,
        t0(),
    );
    let mut u =
        UserDevices::restore(env(), usr(), vec![device], Some(vec![id(1)]), u64::MAX - 1).unwrap();
    let events = u.execute(Command::Block { id: id(1) }, t0()).unwrap();
    assert_eq!(events[0].revision, u64::MAX);
    assert_eq!(u.revision(), u64::MAX);
    let err = refused(&u, Command::Unblock { id: id(1) }, t0());
    assert_eq!(err, UserDevicesError::RevisionExhausted);
    assert_eq!(ApiError::from(err).http_status(), 500);
    // A no-op still decides (nothing to number).
    assert!(
        u.decide(Command::Block { id: id(1) }, t0())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn events_carry_a_deterministic_id_checked_on_read() {
    let (_, log) = a_log();
    let (_, again) = a_log();
    let ids: Vec<_> = log.iter().map(Event::id).collect();
    assert_eq!(ids, again.iter().map(Event::id).collect::<Vec<_>>());
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(ids[0], Event::id_for(env(), usr(), 1));
    assert_ne!(ids[0], Event::id_for(env(), UserId::from_bytes([9; 16]), 1));
    assert_eq!(ids[0].get_version_num(), 5);

    let mut json = serde_json::to_value(&log[0]).unwrap();
    assert_eq!(json["id"], ids[0].to_string());
    // Older logs without `id` still read; a wrong id is refused.
    json.as_object_mut().unwrap().remove("id");
    assert_eq!(
        serde_json::from_value::<Event>(json.clone()).unwrap(),
        log[0]
    );
    json["id"] = json!(ids[1].to_string());
    let err = serde_json::from_value::<Event>(json).unwrap_err();
    assert!(err.to_string().contains("is not the id"), "{err}");
}

#[test]
fn restore_with_keeps_the_failure_counters() {
    let device = Device::new(
        id(1),
        env(),
        usr(),
        DeviceType::Sms,
        DeviceStatus::Active,
        t0(),
    );
    let counters = mfa_devices::lock::FailureCounters {
        otp_failures: 2,
        ..Default::default()
    };
    let mut u = UserDevices::restore_with(env(), usr(), [(device, counters)], Some(vec![id(1)]), 4)
        .unwrap();
    assert_eq!(u.counters(&id(1)).otp_failures, 2);
    let events = u.execute(otp_failure(1, 3, mins(2)), t0()).unwrap();
    assert_eq!(events[0].revision, 5);
    assert!(u.device(&id(1)).unwrap().is_locked(t0()));
    // The snapshot carries them, so snapshot and one-row-per-device stores agree.
    let back = UserDevices::from_snapshot(&serde_json::to_vec(&u).unwrap(), u.settings()).unwrap();
    assert_eq!(back, u);
}

// ---------------------------------------------------------------- feature `http`

#[cfg(feature = "http")]
mod http_integration {
    use super::*;
    use http::StatusCode;
    use http::header::{CONTENT_TYPE, IF_MATCH};
    use mfa_devices::authn::{Action, DEVICE_SELECT_MEDIA_TYPE};
    use mfa_devices::http::if_match_headers;

    #[test]
    fn errors_become_json_responses_with_their_status() {
        let u = with_active(&[1]);
        let cases: Vec<(ApiError, StatusCode)> = vec![
            (
                UserDevicesError::NotFound(id(9)).into(),
                StatusCode::NOT_FOUND,
            ),
            (
                UserDevicesError::LimitExceeded { maximum: 5 }.into(),
                StatusCode::BAD_REQUEST,
            ),
            (
                u.decide_at_revision(0, Command::RemoveOrder, t0())
                    .unwrap_err()
                    .into(),
                StatusCode::CONFLICT,
            ),
            (
                if_match(&etag(0), u.revision()).unwrap_err().into(),
                StatusCode::PRECONDITION_FAILED,
            ),
            (
                ApiError::unsupported_media_type("text/plain"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                UserDevicesError::RevisionExhausted.into(),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.status_code(), status, "{error}");
            let expected = serde_json::to_value(error.clone().with_id("abc")).unwrap();
            let response = error.with_id("abc").into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            let body: Value = serde_json::from_str(response.body()).unwrap();
            assert_eq!(body, expected);
            assert_eq!(body["id"], "abc");
        }
        // Without with_id there is no id (the crate draws no randomness).
        let body: Value =
            serde_json::from_str(ApiError::not_found("x").into_response().body()).unwrap();
        assert!(body.get("id").is_none());
    }

    #[test]
    fn commands_and_actions_come_from_http_requests() {
        let new_id = id(42);
        let request = http::Request::post("/v1/environments/e/users/u/devices")
            .header(CONTENT_TYPE, "Application/JSON; charset=UTF-8")
            .body(br#"{"type":"SMS","phone":"+11235557890"}"#)
            .unwrap();
        let c = Command::from_http_request(&request, RequestTarget::Devices { new_id }).unwrap();
        assert!(matches!(c, Command::Create { id, .. } if id == new_id));
        let reorder = http::Request::post("/")
            .header(CONTENT_TYPE, DEVICES_REORDER_MEDIA_TYPE)
            .body(format!(r#"{{"order":[{{"id":"{}"}}]}}"#, id(1)))
            .unwrap();
        assert_eq!(
            Command::from_http_request(&reorder, RequestTarget::Devices { new_id }).unwrap(),
            Command::Reorder { order: vec![id(1)] }
        );
        // No Content-Type, or an unreadable one: 415.
        let bare = http::Request::new(Vec::<u8>::new());
        let e = Command::from_http_request(&bare, RequestTarget::Device(id(1))).unwrap_err();
        assert_eq!(e.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let mut odd = http::Request::new(Vec::<u8>::new());
        odd.headers_mut().insert(
            CONTENT_TYPE,
            http::HeaderValue::from_bytes(b"application/json\xff").unwrap(),
        );
        let e = Command::from_http_request(&odd, RequestTarget::Device(id(1))).unwrap_err();
        assert_eq!(e.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let select = http::Request::post("/")
            .header(CONTENT_TYPE, DEVICE_SELECT_MEDIA_TYPE)
            .body(format!(r#"{{"device":{{"id":"{}"}}}}"#, id(1)))
            .unwrap();
        assert!(matches!(
            Action::from_http_request(&select),
            Ok(Action::Select(_))
        ));
        let e = Action::from_http_request(&http::Request::new("{}")).unwrap_err();
        assert_eq!(e.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn if_match_lines_follow_rfc_9110() {
        let mut headers = http::HeaderMap::new();
        assert!(if_match_headers(&headers, 3).is_ok(), "unconditional");
        headers.append(IF_MATCH, r#"W/"3""#.parse().unwrap());
        let e = ApiError::from(if_match_headers(&headers, 3).unwrap_err());
        assert_eq!(e.status_code(), StatusCode::PRECONDITION_FAILED);
        headers.append(IF_MATCH, r#""1", "3""#.parse().unwrap());
        assert!(
            if_match_headers(&headers, 3).is_ok(),
            "a later line matches"
        );
        let mut star = http::HeaderMap::new();
        star.append(IF_MATCH, "*".parse().unwrap());
        assert!(if_match_headers(&star, 3).is_ok());
        assert!(if_match_headers(&star, 0).is_err(), "no such user yet");
        let mut unreadable = http::HeaderMap::new();
        unreadable.append(
            IF_MATCH,
            http::HeaderValue::from_bytes(b"\"3\xff\"").unwrap(),
        );
        assert!(if_match_headers(&unreadable, 3).is_err());
    }
}

/// Issue 12, point 10: error bodies are bounded whatever the request held. Details are capped
/// (100, then one "and N more" summary) and echoed input is cut: a reorder body of 100,000
/// malformed entries, a decided reorder of 100,000 unknown ids, a 1 MB media type, phone,
/// email or device type each give a body of a few KiB (before: 117 MB for a 2 MB body, 14 MB
/// for 100,000 ids, 1 MB out for 1 MB in).
#[test]
fn point_10_error_bodies_are_bounded() {
    const BOUND: usize = 32 * 1024;
    let body_len = |e: &ApiError| serde_json::to_string(e).unwrap().len();
    let coll = RequestTarget::Devices { new_id: id(1) };
    let mega = "9".repeat(1 << 20);

    // A reorder body of malformed entries, and one of ids that are not UUIDs.
    let malformed = format!("{{\"order\":[{}1]}}", "1,".repeat(100_000));
    let texts = format!(
        "{{\"order\":[{}{{\"id\":\"x\"}}]}}",
        format!("{{\"id\":\"{}\"}},", "z".repeat(1000)).repeat(2000)
    );
    for body in [malformed, texts] {
        let e =
            Command::from_request(DEVICES_REORDER_MEDIA_TYPE, coll, body.as_bytes()).unwrap_err();
        assert!(e.details.len() <= 101, "{} details", e.details.len());
        assert!(body_len(&e) < BOUND, "{} bytes", body_len(&e));
        assert!(e.details.last().unwrap().message.contains("more"));
    }

    // A decided reorder naming 100,000 unknown devices.
    let u = with_active(&[1, 2]);
    let order: Vec<DeviceId> = (0..100_000u32)
        .map(|i| {
            let mut b = [7u8; 16];
            b[..4].copy_from_slice(&i.to_be_bytes());
            DeviceId::from_bytes(b)
        })
        .collect();
    let err = refused(&u, Command::Reorder { order }, t0());
    assert!(
        err.to_string().len() < BOUND,
        "Display: {} bytes",
        err.to_string().len()
    );
    let e = ApiError::from(err);
    assert!(e.details.len() <= 101, "{} details", e.details.len());
    assert!(body_len(&e) < BOUND, "{} bytes", body_len(&e));

    // Echoed input: media type, phone, email, device type.
    let e = Command::from_request(&format!("application/{mega}"), coll, b"{}").unwrap_err();
    assert!(body_len(&e) < 1024, "media type: {} bytes", body_len(&e));
    let sms = NewDevice {
        phone: Some(format!("+1{mega}x")),
        ..NewDevice::new(DeviceType::Sms)
    };
    let email = NewDevice {
        email: Some(format!("{mega}@")),
        ..NewDevice::new(DeviceType::Email)
    };
    for d in [sms, email] {
        let e = d.validate().unwrap_err();
        assert!(body_len(&e) < 1024, "{} bytes", body_len(&e));
    }
    let json = format!("{{\"type\":\"{mega}\"}}");
    let e = Command::from_request(APPLICATION_JSON, coll, json.as_bytes()).unwrap_err();
    assert!(body_len(&e) < 2048, "type: {} bytes", body_len(&e));
}

// --- Secrets drawn at creation: activation challenges, TOTP secrets (issue 11 §3) --------

mod secrets {
    use super::*;
    use mfa_devices::otp::{Algorithm, Totp};
    use mfa_devices::policy::{
        DeviceAuthenticationPolicy, OtpFailurePolicy, OtpMethodPolicy, OtpSettings, PolicyDuration,
        TotpPolicy, UriParameters,
    };
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(42)
    }

    /// SMS: 8 digits, 5 minutes, 2 failures lock for 10 minutes; TOTP issuer "Acme".
    fn policy() -> DeviceAuthenticationPolicy {
        DeviceAuthenticationPolicy {
            sms: Some(OtpMethodPolicy {
                enabled: Some(true),
                otp: Some(OtpSettings {
                    otp_length: Some(8),
                    life_time: Some(PolicyDuration::minutes(5)),
                    failure: Some(OtpFailurePolicy::new(2, PolicyDuration::minutes(10))),
                    ..OtpSettings::default()
                }),
                ..OtpMethodPolicy::default()
            }),
            totp: Some(TotpPolicy {
                enabled: Some(true),
                uri_parameters: Some(UriParameters {
                    issuer: Some("Acme".into()),
                    ..UriParameters::default()
                }),
                ..TotpPolicy::default()
            }),
            ..DeviceAuthenticationPolicy::default()
        }
    }

    fn sms() -> NewDevice {
        NewDevice {
            phone: Some("+1 512 555 1234".into()),
            ..NewDevice::new(DeviceType::Sms)
        }
    }

    /// Creates device `n` from `new` with secrets drawn from `rng`; the passcode in clear.
    fn provisioned(
        u: &mut UserDevices,
        n: u8,
        new: NewDevice,
        rng: &mut ChaCha20Rng,
    ) -> (Vec<Event>, Option<ActivationPasscode>) {
        let mut c = Command::Create {
            id: id(n),
            device: new,
            secrets: DeviceSecrets::none(),
        };
        let passcode = c.provision(&policy(), "jo@example.com", rng, t0()).unwrap();
        (u.execute(c, t0()).unwrap(), passcode)
    }

    fn activate(otp: &str) -> Command {
        Command::Activate {
            id: id(1),
            otp: Some(Secret::new(otp)),
        }
    }

    #[test]
    fn an_sms_device_is_activated_only_with_the_passcode_it_was_sent() {
        let mut r = rng();
        let mut u = UserDevices::new(env(), usr());
        let (events, passcode) = provisioned(&mut u, 1, sms(), &mut r);
        let passcode =
            passcode.expect("an SMS device created ACTIVATION_REQUIRED is sent a passcode");
        assert_eq!(passcode.code().len(), 8, "the policy's otpLength");
        // Kept sealed: the passcode is in no event, snapshot or Debug.
        let stored = format!(
            "{}{}{events:?}{u:?}",
            serde_json::to_string(&events).unwrap(),
            serde_json::to_string(&u).unwrap()
        );
        assert!(!stored.contains(passcode.code()));
        let challenge = u.activation(&id(1)).unwrap();
        assert_eq!(challenge.expires_at(), t0() + mins(5));
        // The old way (no passcode) is refused, and so is trusting the caller.
        assert_eq!(
            u.decide(
                Command::Activate {
                    id: id(1),
                    otp: None
                },
                t0()
            ),
            Err(UserDevicesError::ActivationOtpRequired(id(1)))
        );
        let events = u
            .execute(activate(passcode.code()), t0() + mins(4))
            .unwrap();
        assert!(matches!(events[0].change, Change::DeviceActivated { .. }));
        assert!(u.device(&id(1)).unwrap().is_active());
        assert!(u.activation(&id(1)).is_none(), "spent");
    }

    #[test]
    fn wrong_activation_passcodes_are_recorded_and_lock_with_the_policy_rule() {
        let mut r = rng();
        let mut u = UserDevices::new(env(), usr());
        let (mut log, passcode) = provisioned(&mut u, 1, sms(), &mut r);
        let passcode = passcode.unwrap();
        let wrong = if passcode.code() == "00000000" {
            "11111111"
        } else {
            "00000000"
        };

        let first = u.execute(activate(wrong), t0()).unwrap();
        assert_eq!(first[0].audit_type(), "DEVICE.ACTIVATION_OTP_INVALID");
        let api = first[0].activation_error().unwrap();
        assert_eq!(
            (api.http_status(), api.details[0].code.as_str()),
            (400, "INVALID_OTP")
        );
        assert!(!u.device(&id(1)).unwrap().is_active());
        assert_eq!(u.counters(&id(1)).otp_failures, 1);

        let second = u.execute(activate(wrong), t0()).unwrap();
        assert_eq!(second[0].audit_type(), "DEVICE.ACTIVATION_OTP_FAILED");
        assert!(u.device(&id(1)).unwrap().is_locked(t0() + mins(9)));
        assert!(
            u.activation(&id(1)).is_none(),
            "the run spent the challenge"
        );
        // Even the right passcode no longer works: locked, then nothing pending.
        assert!(matches!(
            u.decide(activate(passcode.code()), t0()),
            Err(UserDevicesError::Locked { .. })
        ));
        assert_eq!(
            u.decide(activate(passcode.code()), t0() + mins(10)),
            Err(UserDevicesError::NoActivationOtp(id(1)))
        );

        // Resend: a new challenge; the old passcode is not it.
        let (challenge, again) = ActivationChallenge::issue(
            &mut r,
            policy().sms.unwrap().otp.as_ref().unwrap(),
            t0() + mins(10),
        )
        .unwrap();
        let resent = u
            .execute(
                Command::ResendActivation {
                    id: id(1),
                    challenge,
                },
                t0() + mins(10),
            )
            .unwrap();
        let ok = u.execute(activate(again.code()), t0() + mins(11)).unwrap();
        assert!(u.device(&id(1)).unwrap().is_active());

        // Events carry results: replay equals live state.
        log.extend(first);
        log.extend(second);
        log.extend(resent);
        log.extend(ok);
        let json = serde_json::to_string(&log).unwrap();
        assert!(!json.contains(again.code()) && !json.contains(passcode.code()));
        let back: Vec<Event> = serde_json::from_str(&json).unwrap();
        assert_eq!(UserDevices::replay(env(), usr(), &back).unwrap(), u);
    }

    #[test]
    fn an_expired_activation_passcode_is_refused_without_counting() {
        let mut r = rng();
        let mut u = UserDevices::new(env(), usr());
        let passcode = provisioned(&mut u, 1, sms(), &mut r).1.unwrap();
        assert_eq!(
            u.decide(activate(passcode.code()), t0() + mins(5)),
            Err(UserDevicesError::ActivationOtpExpired(id(1)))
        );
        let api = ApiError::from(UserDevicesError::ActivationOtpExpired(id(1)));
        assert_eq!(api.details[0].code.as_str(), "INVALID_OTP");
    }

    #[test]
    fn the_activation_request_body_carries_the_passcode() {
        let target = RequestTarget::Device(id(1));
        let c = Command::from_request(DEVICE_ACTIVATE_MEDIA_TYPE, target, br#"{"otp":"123456"}"#)
            .unwrap();
        assert_eq!(c, activate("123456"));
        let n = Command::from_request(DEVICE_ACTIVATE_MEDIA_TYPE, target, br#"{"otp":123456}"#)
            .unwrap();
        assert_eq!(n, activate("123456"));
        assert!(
            !format!("{c:?}").contains("123456"),
            "Debug hides the passcode"
        );
        let fido = Command::from_request(DEVICE_ACTIVATE_MEDIA_TYPE, target, b"").unwrap();
        assert_eq!(
            fido,
            Command::Activate {
                id: id(1),
                otp: None
            }
        );
        let e = Command::from_request(DEVICE_ACTIVATE_MEDIA_TYPE, target, br#"{"otp":[1]}"#)
            .unwrap_err();
        assert_eq!(e.details[0].target.as_deref(), Some("otp"));
        // A passcode for a device that was never sent one is not accepted unchecked.
        let mut u = UserDevices::new(env(), usr());
        u.execute(
            Command::Create {
                id: id(1),
                device: sms(),
                secrets: DeviceSecrets::none(),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(
            u.decide(c, t0()),
            Err(UserDevicesError::NoActivationOtp(id(1)))
        );
    }

    #[test]
    fn a_test_mode_device_shows_its_passcode_as_test_otp() {
        let mut r = rng();
        let mut u = UserDevices::new(env(), usr());
        let new = NewDevice {
            test_mode: Some(true),
            ..sms()
        };
        let passcode = provisioned(&mut u, 1, new, &mut r).1.unwrap();
        assert_eq!(passcode.test_otp(true).unwrap().otp, passcode.code());
        assert!(passcode.test_otp(false).is_none());
        assert!(!format!("{passcode:?}").contains(passcode.code()));
    }

    #[test]
    fn a_totp_secret_is_drawn_at_creation_with_the_policy_issuer() {
        let mut r = rng();
        let mut u = UserDevices::new(env(), usr());
        let (_, passcode) = provisioned(&mut u, 1, NewDevice::new(DeviceType::Totp), &mut r);
        assert!(passcode.is_none());
        let d = u.device_at(&id(1), t0()).unwrap();
        let DeviceDetails::Totp(t) = &d.details else {
            panic!("TOTP details")
        };
        let secret = t.secret.as_ref().unwrap().expose().to_owned();
        assert_eq!(secret.len(), 32, "20 bytes in base32");
        let uri = t.key_uri.as_ref().unwrap().expose();
        assert!(
            uri.starts_with("otpauth://totp/Acme:jo@example.com?secret="),
            "{uri}"
        );
        assert!(uri.ends_with("&issuer=Acme"));
        // Another RNG state, another secret.
        let mut v = UserDevices::new(env(), usr());
        provisioned(&mut v, 1, NewDevice::new(DeviceType::Totp), &mut r);
        let DeviceDetails::Totp(t2) = &v.device(&id(1)).unwrap().details else {
            panic!()
        };
        assert_ne!(t2.secret.as_ref().unwrap().expose(), secret);
    }

    fn totp_engine(u: &UserDevices) -> Totp {
        let DeviceDetails::Totp(t) = &u.device(&id(1)).unwrap().details else {
            panic!()
        };
        let bytes = data_encoding::BASE32_NOPAD
            .decode(t.secret.as_ref().unwrap().expose().as_bytes())
            .unwrap();
        Totp::new(bytes, Algorithm::Sha1, 6, 30).unwrap()
    }

    #[test]
    fn a_totp_device_activates_with_a_code_of_its_secret_used_once() {
        let mut r = rng();
        let mut u = UserDevices::new(env(), usr());
        provisioned(&mut u, 1, NewDevice::new(DeviceType::Totp), &mut r);
        let totp = totp_engine(&u);
        let unix = t0().timestamp() as u64;
        let code = totp.code_at(unix);
        assert_eq!(
            u.decide(
                Command::Activate {
                    id: id(1),
                    otp: None
                },
                t0()
            ),
            Err(UserDevicesError::ActivationOtpRequired(id(1)))
        );
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let e = u.execute(activate(wrong), t0()).unwrap();
        assert_eq!(e[0].audit_type(), "DEVICE.ACTIVATION_OTP_INVALID");
        u.execute(activate(&code), t0()).unwrap();
        assert!(u.device(&id(1)).unwrap().is_active());
        assert_eq!(u.totp_last_step(&id(1)), Some(totp.step_at(unix)));
        // The same step again (as the flow would record it) is a replay.
        assert_eq!(
            u.decide(
                Command::RecordTotpSuccess {
                    id: id(1),
                    step: totp.step_at(unix)
                },
                t0()
            ),
            Err(UserDevicesError::TotpReplayed(id(1)))
        );
        u.execute(
            Command::RecordTotpSuccess {
                id: id(1),
                step: totp.step_at(unix) + 1,
            },
            t0(),
        )
        .unwrap();
        assert_eq!(u.totp_last_step(&id(1)), Some(totp.step_at(unix) + 1));
        // Persisted with the user's state.
        let back: UserDevices = serde_json::from_str(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(back.totp_last_step(&id(1)), u.totp_last_step(&id(1)));
    }

    /// Issue 12 point 5: a TOTP secret appeared in the derived `Debug` of `Device`,
    /// `UserDevices` and `Event`, and the renderers returned it for ACTIVE devices forever.
    #[test]
    fn point_05_totp_secret_is_redacted_in_debug_and_rendered_only_in_its_window() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let device: Device = serde_json::from_value(json!({
            "id": id(1).to_string(), "environment": {"id": env().to_string()},
            "user": {"id": usr().to_string()}, "type": "TOTP", "status": "ACTIVATION_REQUIRED",
            "createdAt": "2025-03-01T12:00:00.000Z", "updatedAt": "2025-03-01T12:00:00.000Z",
            "secret": secret,
            "keyUri": format!("otpauth://totp/jo?secret={secret}")
        }))
        .unwrap();
        let mut u =
            UserDevices::restore(env(), usr(), vec![device.clone()], Some(vec![]), 0).unwrap();
        let base = ApiBase::new("https://api.pingone.eu/v1");
        // Inside the window (ACTIVATION_REQUIRED, < 30 min): shown.
        let list = u.render_list(&base, false, t0() + mins(29), |_| true);
        assert_eq!(list["_embedded"]["devices"][0]["secret"], secret);
        // After it: gone, from the list and the single-device view.
        let list = u.render_list(&base, false, t0() + mins(30), |_| true);
        assert!(list["_embedded"]["devices"][0].get("secret").is_none());
        assert!(list["_embedded"]["devices"][0].get("keyUri").is_none());
        // ACTIVE: never again, even inside 30 minutes.
        let code = Totp::new(b"12345678901234567890".to_vec(), Algorithm::Sha1, 6, 30)
            .unwrap()
            .code_at((t0() + mins(1)).timestamp() as u64);
        let events = u.execute(activate(&code), t0() + mins(1));
        let events = events.unwrap_or_else(|e| panic!("{e}"));
        let shown = serde_json::to_string(&u.device_at(&id(1), t0() + mins(2)).unwrap()).unwrap();
        assert!(!shown.contains(secret), "{shown}");
        let list = u.render_list(&base, false, t0() + mins(2), |_| true);
        assert!(!list.to_string().contains(secret));
        // Never in Debug.
        let deleted = u
            .decide(Command::Delete { id: id(1) }, t0() + mins(3))
            .unwrap();
        for text in [
            format!("{device:?}"),
            format!("{u:?}"),
            format!("{events:?}"),
            format!("{deleted:?}"),
        ] {
            assert!(
                !text.contains(secret) && !text.contains("GEZDGNBV"),
                "{text}"
            );
        }
        // The snapshot keeps it (it is needed to verify codes).
        assert!(serde_json::to_string(&u).unwrap().contains(secret));
    }
}
