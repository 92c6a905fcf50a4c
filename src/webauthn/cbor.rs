//! A bounded reader for the CBOR WebAuthn uses (RFC 8949, the CTAP2 subset): the attestation
//! object, the COSE key, extension maps.
//!
//! Definite lengths only; integers, byte and text strings, arrays, maps, `false`, `true`,
//! `null`. Tags, floats, indefinite lengths and other simple values are refused, as are
//! nesting deeper than [`MAX_DEPTH`], containers of more than [`MAX_ENTRIES`] entries,
//! lengths past the end of the input, duplicate map keys and non-UTF-8 text. Every length is
//! checked against the bytes left before anything is allocated, so memory stays linear in the
//! input; it never panics.

/// The deepest nesting read (the attestation object needs 3).
pub(super) const MAX_DEPTH: usize = 8;

/// The most entries of one array or map (a COSE key has 5, an attestation object 3).
pub(super) const MAX_ENTRIES: usize = 64;

/// One CBOR data item, borrowing its strings from the input.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item<'a> {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Neg(u64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3.
    Text(&'a str),
    /// Major type 4.
    Array(Vec<Item<'a>>),
    /// Major type 5, in the order written.
    Map(Vec<(Item<'a>, Item<'a>)>),
    /// `false` / `true`.
    Bool(bool),
    /// `null`.
    Null,
}

impl<'a> Item<'a> {
    /// The integer, when it is one that fits an `i64`.
    pub(super) fn int(&self) -> Option<i64> {
        match self {
            Self::Uint(u) => i64::try_from(*u).ok(),
            Self::Neg(n) => i64::try_from(*n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// The map's entries, when it is a map.
    pub(super) fn entries(&self) -> Option<&[(Item<'a>, Item<'a>)]> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value at text key `key` of a map.
    pub(super) fn get_text(&self, key: &str) -> Option<&Item<'a>> {
        self.entries()?
            .iter()
            .find(|(k, _)| matches!(k, Item::Text(t) if *t == key))
            .map(|(_, v)| v)
    }

    /// The value at integer key `key` of a map.
    pub(super) fn get_int(&self, key: i64) -> Option<&Item<'a>> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.int() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the item's type, for error messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::Uint(_) | Self::Neg(_) => "an integer",
            Self::Bytes(_) => "a byte string",
            Self::Text(_) => "a text string",
            Self::Array(_) => "an array",
            Self::Map(_) => "a map",
            Self::Bool(_) => "a boolean",
            Self::Null => "null",
        }
    }
}

/// Reads one item from the front of `input`; returns it and the bytes after it.
pub(super) fn read(input: &[u8]) -> Result<(Item<'_>, &[u8]), String> {
    let mut reader = Reader { rest: input };
    let item = reader.item(0)?;
    Ok((item, reader.rest))
}

/// Reads exactly one item: bytes after it are an error.
pub(super) fn read_exact(input: &[u8]) -> Result<Item<'_>, String> {
    let (item, rest) = read(input)?;
    if rest.is_empty() {
        Ok(item)
    } else {
        Err(format!("{} bytes after the end of the item", rest.len()))
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn offset_note(&self) -> String {
        format!("{} bytes before the end", self.rest.len())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.rest.len() {
            return Err(format!(
                "a length of {n} bytes runs past the end ({} left)",
                self.rest.len()
            ));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, String> {
        match self.rest.split_first() {
            Some((b, tail)) => {
                self.rest = tail;
                Ok(*b)
            }
            None => Err("the input ends inside an item".into()),
        }
    }

    /// The argument of an initial byte with additional information `info`.
    fn argument(&mut self, info: u8) -> Result<u64, String> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => {
                return Err(format!(
                    "indefinite lengths are not read ({})",
                    self.offset_note()
                ));
            }
            _ => {
                return Err(format!(
                    "reserved additional information {info} ({})",
                    self.offset_note()
                ));
            }
        };
        let bytes = self.take(width)?;
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length argument, bounded by the bytes left (each entry or byte needs at least one).
    fn length(&mut self, info: u8) -> Result<usize, String> {
        let n = self.argument(info)?;
        match usize::try_from(n) {
            Ok(n) if n <= self.rest.len() => Ok(n),
            _ => Err(format!(
                "a length of {n} runs past the end ({} bytes left)",
                self.rest.len()
            )),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Item<'a>, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        match major {
            0 => Ok(Item::Uint(self.argument(info)?)),
            1 => Ok(Item::Neg(self.argument(info)?)),
            2 => {
                let n = self.length(info)?;
                Ok(Item::Bytes(self.take(n)?))
            }
            3 => {
                let n = self.length(info)?;
                let bytes = self.take(n)?;
                std::str::from_utf8(bytes)
                    .map(Item::Text)
                    .map_err(|_| "a text string is not UTF-8".to_owned())
            }
            4 => {
                let n = self.entries(info)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Item::Array(items))
            }
            5 => {
                let n = self.entries(info)?;
                let mut entries: Vec<(Item<'a>, Item<'a>)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth + 1)?;
                    if matches!(key, Item::Array(_) | Item::Map(_)) {
                        return Err(format!("a map key is {}", key.kind()));
                    }
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err("a map has a key twice".into());
                    }
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Item::Map(entries))
            }
            6 => Err("tags are not read".into()),
            _ => match info {
                20 => Ok(Item::Bool(false)),
                21 => Ok(Item::Bool(true)),
                22 => Ok(Item::Null),
                25..=27 => Err("floating-point numbers are not read".into()),
                _ => Err(format!("the simple value {info} is not read")),
            },
        }
    }

    fn entries(&mut self, info: u8) -> Result<usize, String> {
        let n = self.length(info)?;
        if n > MAX_ENTRIES {
            return Err(format!(
                "a container of {n} entries (at most {MAX_ENTRIES} are read)"
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_subset() {
        // {"fmt": "none", 1: -7, "b": h'0102', "a": [true, null]}
        let bytes = [
            0xa4, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0x01, 0x26, 0x61, b'b',
            0x42, 1, 2, 0x61, b'a', 0x82, 0xf5, 0xf6,
        ];
        let item = read_exact(&bytes).unwrap();
        assert_eq!(item.get_text("fmt"), Some(&Item::Text("none")));
        assert_eq!(item.get_int(1).and_then(Item::int), Some(-7));
        assert_eq!(item.get_text("b"), Some(&Item::Bytes(&[1, 2])));
        assert_eq!(
            item.get_text("a"),
            Some(&Item::Array(vec![Item::Bool(true), Item::Null]))
        );
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        for (bytes, what) in [
            (&[0x5f][..], "indefinite"),
            (&[0x5a, 0xff, 0xff, 0xff, 0xff][..], "past the end"),
            (
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
                "past the end",
            ),
            (&[0xc0, 0x00][..], "tags"),
            (&[0xfa, 0, 0, 0, 0][..], "floating"),
            (&[0x62, 0xff, 0xfe][..], "UTF-8"),
            (&[0xa2, 0x01, 0x01, 0x01, 0x02][..], "twice"),
            (&[0x1c][..], "reserved"),
            (&[0x01, 0x02][..], "after the end"),
        ] {
            let e = read_exact(bytes).unwrap_err();
            assert!(e.contains(what), "{bytes:?}: {e}");
        }
        let deep = [0x81u8; 20];
        assert!(read(&deep).unwrap_err().contains("nesting"));
    }
}
