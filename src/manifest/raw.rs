//! The serde layer of the loader (pure core): permissive raw structs read by serde-saphyr.
//!
//! Design notes:
//! - Only the fields kcpu needs are declared; everything else is skipped as `IgnoredAny`, so
//!   non-workload documents (CRDs, ConfigMaps) cost a parse but are never built.
//! - The path down to a pod spec is *lenient* ([`Lenient`]): a CRD whose `spec.template` is not a
//!   mapping is simply not a workload. Inside a pod spec, types are strict and errors carry the
//!   position serde-saphyr reports.
//! - The top-level object is deserialized kind-first by hand ([`RawObject`]), so the bodies of
//!   known non-workload kinds are skipped without being built (crates.md §3 reports that a
//!   `#[serde(tag = "kind")]` enum loses positions; this avoids it).
//! - Quantities are read as `String`: serde-saphyr hands back the scalar text as written
//!   (`0.5`, `1e3`, `01.50`), which is what `Quantity.UnmarshalJSON` parses.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;
use std::marker::PhantomData;

/// A mapping kept as ordered (key, value) pairs (keys need not be `Ord`, so they can carry spans).
#[derive(Debug)]
pub(crate) struct Pairs<K, V>(pub Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Pairs<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Vis<K, V> {
            type Value = Pairs<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key()? {
                    v.push((k, m.next_value()?));
                }
                Ok(Pairs(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Pairs(Vec::new()))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

/// `Some(T)` when the node is a mapping (deserialized strictly), `None` for anything else.
#[derive(Debug)]
pub(crate) struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Vis<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(m)).map(|t| Lenient(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(Vis(PhantomData))
    }
}

/// A sequence of `T` when the node is a sequence, empty for anything else.
#[derive(Debug)]
pub(crate) struct LenientSeq<T>(pub Vec<T>);

impl<T> Default for LenientSeq<T> {
    fn default() -> Self {
        LenientSeq(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LenientSeq<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Vis<T> {
            type Value = LenientSeq<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = s.next_element()? {
                    v.push(x);
                }
                Ok(LenientSeq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientSeq(Vec::new()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LenientSeq(Vec::new()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LenientSeq(Vec::new()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LenientSeq(Vec::new()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LenientSeq(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(LenientSeq(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientSeq(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientSeq(Vec::new()))
            }
        }
        d.deserialize_any(Vis(PhantomData))
    }
}

/// A scalar as text, whatever its YAML type (`1`, `true`, `x`); `None` for null or a collection.
#[derive(Debug, Default)]
pub(crate) struct Text(pub Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // serde-saphyr hands plain scalars to `deserialize_str` as written, so prefer it; a
        // collection in a scalar slot is skipped rather than failing the document.
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Text, D2::Error> {
                Text::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Text, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Text, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_str(Vis)
    }
}

/// A resource map (`requests`, `limits`, `overhead`, `hard`): name → quantity text.
pub(crate) type RawResourceList = Pairs<Spanned<String>, Spanned<Option<String>>>;

/// A `resources:` block: `requests`, `limits`, `claims`, and any misspelled key (kept with its
/// span so the loader can warn about it).
#[derive(Debug, Default)]
pub(crate) struct RawResources {
    pub requests: Option<Spanned<RawResourceList>>,
    pub limits: Option<Spanned<RawResourceList>>,
    pub unknown: Vec<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawResources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = RawResources;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a resources mapping (requests, limits)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawResources, A::Error> {
                let mut r = RawResources::default();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    match k.value.as_str() {
                        "requests" => r.requests = m.next_value()?,
                        "limits" => r.limits = m.next_value()?,
                        "claims" => {
                            m.next_value::<IgnoredAny>()?;
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                            r.unknown.push(k);
                        }
                    }
                }
                Ok(r)
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawResources, E> {
                Ok(RawResources::default())
            }
        }
        d.deserialize_map(Vis)
    }
}

/// A container (app, init or sidecar).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawContainer {
    pub name: Option<Text>,
    pub resources: Option<Spanned<RawResources>>,
    pub restart_policy: Option<Text>,
}

/// A pod spec, or any `spec` on the way to one (union of the fields kcpu reads).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawSpec {
    // Pod spec.
    pub containers: Option<Vec<Spanned<RawContainer>>>,
    pub init_containers: Option<Vec<Spanned<RawContainer>>>,
    pub overhead: Option<Spanned<RawResourceList>>,
    pub resources: Option<Spanned<RawResources>>,
    // Workload spec.
    pub replicas: Text,
    pub template: Option<Box<Spanned<Lenient<RawTemplate>>>>,
    pub job_template: Box<Lenient<RawJobTemplate>>,
    // LimitRange.
    pub limits: LenientSeq<RawLimitItem>,
    // ResourceQuota.
    pub hard: Option<Spanned<Lenient<RawResourceList>>>,
    // HorizontalPodAutoscaler.
    pub scale_target_ref: Lenient<RawTargetRef>,
    pub min_replicas: Text,
    pub max_replicas: Text,
}

/// A pod template (`metadata` + `spec`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct RawTemplate {
    pub metadata: Lenient<RawMeta>,
    pub spec: Option<Spanned<Lenient<RawSpec>>>,
}

/// A CronJob's `jobTemplate`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct RawJobTemplate {
    pub metadata: Lenient<RawMeta>,
    pub spec: Lenient<RawSpec>,
}

/// A LimitRange item.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawLimitItem {
    #[serde(rename = "type")]
    pub kind: Text,
    pub default: Option<Spanned<RawResourceList>>,
    pub default_request: Option<Spanned<RawResourceList>>,
    pub max: Option<Spanned<RawResourceList>>,
    pub min: Option<Spanned<RawResourceList>>,
}

/// An HPA's `scaleTargetRef`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct RawTargetRef {
    pub kind: Text,
    pub name: Text,
}

/// Object metadata.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawMeta {
    pub name: Text,
    pub generate_name: Text,
    pub namespace: Text,
    pub uid: Text,
    pub labels: Lenient<Pairs<Text, Text>>,
    pub annotations: Lenient<Pairs<Text, Spanned<Text>>>,
}

/// `status` (only a stored Pod's `qosClass` matters).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawStatus {
    pub qos_class: Text,
}

/// A top-level object, read kind-first.
#[derive(Debug, Default)]
pub(crate) struct RawObject {
    pub api_version: Text,
    pub kind: Option<Spanned<Text>>,
    pub metadata: Lenient<RawMeta>,
    pub spec: Option<Spanned<Lenient<RawSpec>>>,
    pub template: Lenient<RawTemplate>,
    pub items: LenientSeq<Spanned<RawObject>>,
    pub status: Lenient<RawStatus>,
    /// True when `spec` was skipped because the kind holds no pod template.
    pub skipped_body: bool,
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = RawObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Kubernetes object (a mapping with apiVersion and kind)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawObject, A::Error> {
                let mut o = RawObject::default();
                while let Some(Text(key)) = m.next_key::<Text>()? {
                    let kind = o.kind.as_ref().and_then(|k| k.value.0.as_deref());
                    let skip = kind.is_some_and(super::kinds::is_non_workload);
                    match key.as_deref() {
                        Some("apiVersion") => o.api_version = m.next_value()?,
                        Some("kind") => o.kind = Some(m.next_value()?),
                        Some("metadata") => o.metadata = m.next_value()?,
                        Some("spec") if skip => {
                            m.next_value::<IgnoredAny>()?;
                            o.skipped_body = true;
                        }
                        Some("spec") => o.spec = m.next_value()?,
                        Some("template") if !skip => o.template = m.next_value()?,
                        Some("items")
                            if !skip && kind.is_none_or(|k| k == "List" || k.ends_with("List")) =>
                        {
                            o.items = m.next_value()?
                        }
                        Some("status") if kind == Some("Pod") => o.status = m.next_value()?,
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(o)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _s: A) -> Result<RawObject, A::Error> {
                Err(de::Error::custom(
                    "expected a Kubernetes object (a mapping), found a sequence",
                ))
            }
            fn visit_str<E: de::Error>(self, _v: &str) -> Result<RawObject, E> {
                Err(de::Error::custom(
                    "expected a Kubernetes object (a mapping), found a scalar",
                ))
            }
        }
        d.deserialize_map(Vis)
    }
}
