use super::*;

const FIXTURES: &[(&str, &str)] = &[
    (
        "cold-ssm-ttl.json",
        include_str!("../tests/fixtures/cold-ssm-ttl.json"),
    ),
    (
        "warm-kms-error.json",
        include_str!("../tests/fixtures/warm-kms-error.json"),
    ),
    (
        "cold-secrets-manager-rotated-v2.json",
        include_str!("../tests/fixtures/cold-secrets-manager-rotated-v2.json"),
    ),
    (
        "warm-ssm-batch-partial-v3.json",
        include_str!("../tests/fixtures/warm-ssm-batch-partial-v3.json"),
    ),
];

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(PROBE_RECORD_SCHEMA).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn fixtures_parse_round_trip_and_match_the_schema() {
    let v = validator();
    for (name, text) in FIXTURES {
        let record = ProbeRecord::from_json(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = serde_json::to_value(&record).expect("serializes");
        let original: serde_json::Value = serde_json::from_str(text).expect("fixture is JSON");
        assert_eq!(back, original, "{name} does not round-trip");
        let errors: Vec<String> = v.iter_errors(&back).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn schema_rejects_what_serde_rejects() {
    let v = validator();
    let mut extra: serde_json::Value = serde_json::from_str(FIXTURES[0].1).expect("json");
    extra["secret_value"] = serde_json::json!("x");
    assert!(!v.is_valid(&extra));
    assert!(ProbeRecord::from_json(&extra.to_string()).is_err());

    let mut error_without_class: serde_json::Value =
        serde_json::from_str(FIXTURES[1].1).expect("json");
    error_without_class["fetches"][0]["error_class"] = serde_json::Value::Null;
    assert!(!v.is_valid(&error_without_class));

    let mut hit_with_class: serde_json::Value = serde_json::from_str(FIXTURES[0].1).expect("json");
    hit_with_class["fetches"][1]["error_class"] = serde_json::json!("throttled");
    assert!(!v.is_valid(&hit_with_class));
}

#[test]
fn unknown_version_and_missing_fields_are_named() {
    let mut value: serde_json::Value = serde_json::from_str(FIXTURES[0].1).expect("json");
    value["schema_version"] = serde_json::json!(99);
    let err = ProbeRecord::from_json(&value.to_string()).expect_err("version 99");
    assert_eq!(err, RecordError::UnknownVersion(99));
    assert!(err.to_string().contains("schema_version"));

    value["schema_version"] = serde_json::json!(1);
    let v1 = ProbeRecord::from_json(&value.to_string()).expect("version 1 still reads");
    assert_eq!(v1.fetches[0].version_index, None);
    value.as_object_mut().expect("object").remove("cold");
    let err = ProbeRecord::from_json(&value.to_string()).expect_err("no cold");
    assert!(err.to_string().contains("`cold`"), "{err}");
}

#[test]
fn closed_names_agree_between_serde_and_from_str() {
    for s in Source::ALL {
        let json = serde_json::to_string(s).expect("ser");
        assert_eq!(json, format!("\"{}\"", s.as_str()));
        assert_eq!(s.as_str().parse::<Source>(), Ok(*s));
    }
    for c in CacheMode::ALL {
        assert_eq!(c.as_str().parse::<CacheMode>(), Ok(*c));
        assert_eq!(serde_json::to_string(c).expect("ser"), format!("\"{c}\""));
    }
    for e in ErrorClass::ALL {
        assert_eq!(serde_json::to_string(e).expect("ser"), format!("\"{e}\""));
    }
    let err = "sm".parse::<Source>().expect_err("unknown");
    assert!(err.to_string().contains("secrets-manager"), "{err}");
}

#[test]
fn schema_enums_list_every_closed_name() {
    let schema: serde_json::Value = serde_json::from_str(PROBE_RECORD_SCHEMA).expect("json");
    let listed = |pointer: &str| -> Vec<String> {
        schema
            .pointer(pointer)
            .and_then(|v| v.as_array())
            .expect(pointer)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let names = |all: Vec<&str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        listed("/$defs/source/enum"),
        names(Source::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/$defs/cache/enum"),
        names(CacheMode::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/$defs/outcome/enum"),
        names(Outcome::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/$defs/multi/enum"),
        names(MultiMode::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/$defs/error_class/enum"),
        names(ErrorClass::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/$defs/fetch/properties/error_class/enum"),
        names(ErrorClass::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/properties/initialization_type/enum"),
        names(InitializationType::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/properties/probe_build/enum"),
        names(ProbeBuild::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/properties/prewarm/enum"),
        names(Prewarm::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        listed("/properties/runtime/enum"),
        names(Runtime::ALL.iter().map(|s| s.as_str()).collect())
    );
}

/// A first invocation whose REPORT has no Init Duration is `proactive` (Lambda initialised the
/// environment ahead of it), unless the environment was provisioned; without a REPORT nothing
/// is concluded, and a warm invocation never is.
#[test]
fn a_first_invocation_without_init_duration_is_proactive_unless_provisioned() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../analyzer/tests/fixtures/runs/small/records.jsonl"),
    )
    .expect("fixture");
    let line = text
        .lines()
        .find(|l| l.contains("\"cold\":true"))
        .expect("a cold record");
    let mut r: crate::run::InvocationRecord = serde_json::from_str(line).expect("record");
    assert!(!r.is_proactive(), "it has an Init Duration");
    r.platform.as_mut().expect("REPORT").init_duration_ms = None;
    assert!(r.is_proactive());
    let probe = r.probe.as_mut().expect("probe");
    probe.initialization_type = Some(crate::InitializationType::ProvisionedConcurrency);
    assert!(!r.is_proactive(), "provisioned: INIT ran ahead by design");
    let probe = r.probe.as_mut().expect("probe");
    probe.initialization_type = Some(crate::InitializationType::OnDemand);
    assert!(r.is_proactive());
    let report = r.platform.take();
    assert!(!r.is_proactive(), "no REPORT says nothing");
    r.platform = report;
    r.probe.as_mut().expect("probe").cold = false;
    assert!(!r.is_proactive(), "a warm invocation");
}
