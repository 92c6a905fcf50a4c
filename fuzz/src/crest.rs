//! Fuzz body for `crest_parse`: the CREST `_queryFilter` parser and renderer.

use mfa_devices::crest::{Realm, SortKey, parse_query_filter, to_query_filter};
use mfa_devices::filter::Filter;

/// Arbitrary bytes (as lossy UTF-8) must never panic the parser. When they parse, the filter
/// renders as CREST (everything the parser accepts is renderable), the rendering reparses to
/// the same filter, rendering is canonical, and where SCIM can express it the SCIM text parses
/// back to the same filter. An error's offset lies inside the input. The
/// same text also goes through the `_sortKeys` and realm path parsers.
pub fn crest_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match parse_query_filter(&text) {
        Ok(filter) => {
            let rendered = to_query_filter(&filter);
            assert!(
                rendered.is_ok(),
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
}
