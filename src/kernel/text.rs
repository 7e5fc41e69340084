//! Closed sets of values a column stores as text (its `check (.. in (..))`): the one macro
//! that gives such an enum its names and its sqlx text encoding, so a row reads it typed
//! and code compares variants, never string literals.
//!
//! Must never carry a feature's meaning (labels, transitions): those stay with the enum.

/// `as_str`/`parse` of an enum stored in a text column, and its sqlx text encoding: rows
/// read it typed, and a value the table's check constraint forbids is a decode error.
#[macro_export]
macro_rules! text_column {
    ($t:ident { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $s),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($s => Some($t::$v),)+
                    _ => None,
                }
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?;
                $t::parse(s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($t)).into())
            }
        }
    };
}

/// A closed set of values a column stores as text (its `check (.. in (..))`) and the API
/// sends as a plain string: the enum with `as_str`, `parse`, `label` and the list of its
/// names, decoded from the column, serialized as its name, and shown in the OpenAPI
/// document as a plain `string`, exactly as the `String` field it replaces was.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal => $label:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        $crate::text_column!($name { $($variant => $text),+ });

        impl $name {
            /// Every name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Chinese name shown to users.
            pub const fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl poem_openapi::types::Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new(
                    poem_openapi::registry::MetaSchema {
                        enum_items: Self::NAMES
                            .iter()
                            .map(|n| serde_json::Value::from(*n))
                            .collect(),
                        ..poem_openapi::registry::MetaSchema::new("string")
                    },
                ))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl poem_openapi::types::ToJSON for $name {
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String(self.as_str().to_string()))
            }
        }

        impl poem_openapi::types::ParseFromJSON for $name {
            fn parse_from_json(
                value: Option<serde_json::Value>,
            ) -> poem_openapi::types::ParseResult<Self> {
                match value {
                    Some(serde_json::Value::String(s)) => Self::parse(&s).ok_or_else(|| {
                        poem_openapi::types::ParseError::custom(format!("unknown value “{s}”"))
                    }),
                    other => Err(poem_openapi::types::ParseError::expected_type(
                        other.unwrap_or_default(),
                    )),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Light {
        Red,
        Green,
    }
    crate::text_column!(Light { Red => "red", Green => "green" });

    #[test]
    fn a_text_column_reads_back_what_it_writes_and_nothing_else() {
        for l in [Light::Red, Light::Green] {
            assert_eq!(Light::parse(l.as_str()), Some(l));
        }
        assert_eq!(Light::parse("Red"), None);
        assert_eq!(Light::parse(""), None);
    }
}
