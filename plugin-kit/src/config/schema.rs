//! The keys a declaration knows at each depth, learnt by deserializing it from a probe that
//! records the field list serde's derive hands to `deserialize_struct` and then walks into
//! each field with a neutral value (`0`, `""`, one list element, `Some`).
//!
//! Any error ends the walk (a derive cannot go on after one), so the probe avoids them: past a
//! depth of 8 an `Option` is `None` and a list empty, which ends every recursive type; a key
//! the derive refuses as a duplicate (an alias of one already given) is skipped in a new walk.
//! Enums are not entered: keys inside them get no did-you-mean.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Known keys by path, list indexes written `[]` (`""`, `column[]`).
pub(super) type Schema = Vec<(String, &'static [&'static str])>;

pub(super) fn schema<'de, P: Deserialize<'de>>() -> Schema {
    let mut walk = Walk::default();
    // Each walk learns at most one more alias to skip; a struct has few.
    for _ in 0..32 {
        walk.schema.clear();
        let skipped = walk.skip.len();
        let _ = P::deserialize(Probe {
            path: String::new(),
            walk: &mut walk,
            depth: 0,
        });
        if walk.skip.len() == skipped {
            break;
        }
    }
    walk.schema
}

/// What the walks learn: the schema, and the keys to skip (struct path, index in its fields).
#[derive(Default)]
struct Walk {
    schema: Schema,
    skip: Vec<(String, usize)>,
}

/// `column[2].type` → `column[]` (the path of the object holding the key) and `type`.
pub(super) fn parent_and_key(path: &str) -> (String, &str) {
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let mut normalised = String::new();
    let mut in_index = false;
    for c in parent.chars() {
        match c {
            '[' => {
                in_index = true;
                normalised.push_str("[]");
            }
            ']' => in_index = false,
            _ if !in_index => normalised.push(c),
            _ => {}
        }
    }
    (normalised, key)
}

const MAX_DEPTH: u8 = 8;

struct Probe<'a> {
    path: String,
    walk: &'a mut Walk,
    depth: u8,
}

impl Probe<'_> {
    fn child(&mut self, path: String) -> Probe<'_> {
        Probe {
            path,
            walk: &mut *self.walk,
            depth: self.depth + 1,
        }
    }

    fn too_deep(&self) -> bool {
        self.depth >= MAX_DEPTH
    }
}

macro_rules! neutral {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.$visit($value)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    neutral! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(0), deserialize_i16 => visit_i64(0),
        deserialize_i32 => visit_i64(0), deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u64(0), deserialize_u16 => visit_u64(0),
        deserialize_u32 => visit_u64(0), deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0), deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('a'),
        deserialize_str => visit_str(""), deserialize_string => visit_str(""),
        deserialize_identifier => visit_str(""),
        deserialize_bytes => visit_bytes(b""), deserialize_byte_buf => visit_bytes(b""),
    }

    /// `serde_json::Value` and the lenient adapters: `null`.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.too_deep() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let path = format!("{}[]", self.path);
        let left = usize::from(!self.too_deep());
        visitor.visit_seq(Elements {
            parent: self,
            path,
            left,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let path = format!("{}[]", self.path);
        visitor.visit_seq(Elements {
            parent: self,
            path,
            left: len,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Fields {
            parent: self,
            fields: &[],
            next: 0,
            awaiting_value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Only a type that recurses without an Option or a list gets here; it has no values.
        if self.depth > 2 * MAX_DEPTH {
            return Err(de::Error::custom("endless recursion"));
        }
        self.walk.schema.push((self.path.clone(), fields));
        let mut access = Fields {
            parent: self,
            fields,
            next: 0,
            awaiting_value: None,
        };
        let result = visitor.visit_map(&mut access);
        // Refused right after its key: a duplicate, an alias of a key given before.
        if let (Err(_), Some(index)) = (&result, access.awaiting_value) {
            let path = access.parent.path.clone();
            access.parent.walk.skip.push((path, index));
        }
        result
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("enums are not entered"))
    }
}

/// A struct's fields, each with a probe for its value.
struct Fields<'a> {
    parent: Probe<'a>,
    fields: &'static [&'static str],
    next: usize,
    /// The index of the key just given, until its value is asked for.
    awaiting_value: Option<usize>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = de::value::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let skip = &self.parent.walk.skip;
        while skip.contains(&(self.parent.path.clone(), self.next)) {
            self.next += 1;
        }
        let Some(field) = self.fields.get(self.next) else {
            return Ok(None);
        };
        self.awaiting_value = Some(self.next);
        seed.deserialize(field.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let field = self.fields[self.next];
        self.awaiting_value = None;
        self.next += 1;
        let path = super::join(&self.parent.path, field);
        seed.deserialize(self.parent.child(path))
    }
}

/// A list's elements (one) or a tuple's, each a probe.
struct Elements<'a> {
    parent: Probe<'a>,
    path: String,
    left: usize,
}

impl<'de> SeqAccess<'de> for Elements<'_> {
    type Error = de::value::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let path = self.path.clone();
        seed.deserialize(self.parent.child(path)).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        #[serde(alias = "title")]
        name: String,
        column: Option<Vec<Inner>>,
        nested: Inner,
        recursive: Option<Box<Outer>>,
        pair: (u8, Inner),
        value: serde_json::Value,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        #[serde(rename = "type")]
        column_type: String,
        date_format: Option<String>,
    }

    #[test]
    fn every_struct_is_found_at_its_path() {
        let schema = schema::<Outer>();
        let keys = |path: &str| {
            schema
                .iter()
                .find(|(at, _)| at == path)
                .map(|(_, keys)| *keys)
        };
        let outer: &[&str] = &[
            "name",
            "title",
            "column",
            "nested",
            "recursive",
            "pair",
            "value",
        ];
        let inner: &[&str] = &["type", "dateFormat"];
        assert_eq!(keys(""), Some(outer));
        assert_eq!(keys("column[]"), Some(inner));
        assert_eq!(keys("nested"), Some(inner));
        assert_eq!(keys("recursive.column[]"), Some(inner));
        assert_eq!(keys("pair[]"), Some(inner));
        assert!(keys("recursive.recursive.recursive.nested").is_some());
        assert!(schema.len() < 64, "recursion is bounded");
    }

    #[test]
    fn paths_lose_their_indexes() {
        assert_eq!(
            parent_and_key("column[12].type"),
            ("column[]".to_string(), "type")
        );
        assert_eq!(
            parent_and_key("sliceRecordCount"),
            (String::new(), "sliceRecordCount")
        );
        assert_eq!(parent_and_key("a[1].b[2].c"), ("a[].b[]".to_string(), "c"));
    }
}
