//! Values that are names, checked as they are read (so errors carry the line
//! and column): presets, number formats, the `overlap` setting.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use treta_abi::NumberFormat;
use treta_lower::step::Overlap;

/// The name of a preset; reading it checks that the preset exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetName(pub String);

impl<'de> Deserialize<'de> for PresetName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if crate::preset::find(&name).is_some() {
            Ok(PresetName(name))
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown preset `{name}` (presets: {})",
                crate::preset::names().join(", ")
            )))
        }
    }
}

impl Serialize for PresetName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl JsonSchema for PresetName {
    fn schema_name() -> Cow<'static, str> {
        "PresetName".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": crate::preset::names() })
    }
}

/// A number format name (`fp32`, `bf16`, `fp16`, `fp8_e4m3`, `fp8_e5m2`, `int8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format(pub NumberFormat);

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse()
            .map(Format)
            .map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

impl Serialize for Format {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.name().serialize(s)
    }
}

impl JsonSchema for Format {
    fn schema_name() -> Cow<'static, str> {
        "Format".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = NumberFormat::ALL.iter().map(|f| f.name()).collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

/// The `overlap` key: `none`, `sfu`, `gemm`, `all`, or a boolean (none/all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverlapSpec(pub Overlap);

impl OverlapSpec {
    const NAMES: [(&'static str, Overlap); 4] = [
        ("none", Overlap::NONE),
        (
            "sfu",
            Overlap {
                gemm: false,
                sfu: true,
            },
        ),
        (
            "gemm",
            Overlap {
                gemm: true,
                sfu: false,
            },
        ),
        ("all", Overlap::ALL),
    ];

    /// The key's name for this choice.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, o)| *o == self.0)
            .map_or("all", |(n, _)| n)
    }
}

impl<'de> Deserialize<'de> for OverlapSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = OverlapSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("one of none, sfu, gemm, all (or true/false)")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<OverlapSpec, E> {
                Ok(OverlapSpec(if v { Overlap::ALL } else { Overlap::NONE }))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OverlapSpec, E> {
                OverlapSpec::NAMES
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map(|&(_, o)| OverlapSpec(o))
                    .ok_or_else(|| {
                        E::custom(format!(
                            "unknown overlap `{v}` (one of none, sfu, gemm, all, or true/false)"
                        ))
                    })
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Serialize for OverlapSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.name().serialize(s)
    }
}

impl JsonSchema for OverlapSpec {
    fn schema_name() -> Cow<'static, str> {
        "Overlap".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
        json_schema!({ "oneOf": [{ "type": "string", "enum": names }, { "type": "boolean" }] })
    }
}
