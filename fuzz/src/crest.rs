//! Fuzz body for `crest_parse`: the CREST `_queryFilter` parser and renderer.

use mfa_devices::crest::{
    CookieKey, CrestError, DeviceCategory, Paging, QueryRequest, Realm, SortKey,
    parse_query_filter, query_with, to_query_filter,
};
use mfa_devices::filter::{Filter, FilterErrorKind};

/// Arbitrary bytes (as lossy UTF-8) must never panic the parser. When they parse, the filter
/// renders as CREST (everything the parser accepts is renderable, or `TooLong` when the text
/// would exceed the parser's cap), the rendering reparses to
/// the same filter, rendering is canonical, and where SCIM can express it the SCIM text parses
/// back to the same filter. An error's offset lies inside the input. The
/// same text also goes through the `_sortKeys` and realm path parsers, is tried as a paging
/// cookie (never accepted: it was not issued under the key) and as an id in the endpoint path
/// builders (never a `.`/`..` segment).
pub fn crest_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match parse_query_filter(&text) {
        Ok(filter) => {
            let rendered = to_query_filter(&filter);
            // Renderable, unless the text would be longer than the parser reads (a filter can
            // render longer than its input: escaped quotes, `~0`, doubles written out).
            assert!(
                rendered.is_ok()
                    || rendered
                        .as_ref()
                        .is_err_and(|e| e.kind() == &FilterErrorKind::TooLong { max: 8192 }),
                "parsed filter not renderable: {text:?} {rendered:?}"
            );
            if let Ok(rendered) = rendered {
                let again = parse_query_filter(&rendered);
                assert_eq!(again.as_ref(), Ok(&filter), "{text:?} -> {rendered:?}");
                if let Ok(again) = again {
                    assert_eq!(to_query_filter(&again).as_ref(), Ok(&rendered));
                }
            }
            // Where SCIM can say it too, the SCIM text reads back as the same filter.
            if let Ok(scim) = filter.to_scim() {
                assert_eq!(
                    Filter::parse(&scim).as_ref(),
                    Ok(&filter),
                    "{text:?} -> SCIM {scim:?}"
                );
            }
        }
        Err(e) => assert!(e.offset() <= text.len(), "{text:?}: {e}"),
    }
    if let Ok(key) = text.parse::<SortKey>() {
        assert_eq!(key.to_string().parse::<SortKey>().ok(), Some(key));
    }
    if let Ok(realm) = text.parse::<Realm>() {
        assert_eq!(realm.to_string(), text);
    }
    cookie_and_paths(&text);
}

/// `text` as a `_pagedResultsCookie` and as ids in endpoint paths.
fn cookie_and_paths(text: &str) {
    let key = CookieKey::from([0x42; 32]);
    let now = chrono::DateTime::UNIX_EPOCH;
    let paging = Paging::new(&key, "owner", now, [0; 16]);
    let items = [serde_json::json!({"a": 1}), serde_json::json!({"a": 2})];
    if let Ok(mut req) =
        QueryRequest::from_query_pairs([("_queryFilter", "true"), ("_sortKeys", "a")])
    {
        req.paged_results_cookie = Some(text.to_owned());
        let r = query_with(&items, &req, &paging, |_, _| true);
        assert!(
            matches!(r, Err(CrestError::InvalidCookie(_))),
            "a cookie not issued under the key was accepted: {text:?}"
        );
    }
    let root = Realm::root();
    for path in [
        root.devices_path(text, DeviceCategory::Oath),
        root.device_path("u", DeviceCategory::Push, text),
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            !path.split('/').any(|s| s == "." || s == ".."),
            "dot segment in {path:?}"
        );
    }
}
