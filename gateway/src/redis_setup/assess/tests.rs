use std::time::Duration;

use super::*;

fn facts(appendonly: &str, appendfsync: &str, policy: &str, save: &str) -> ServerFacts {
    ServerFacts {
        version: Some("7.0.15".into()),
        settings: Ok(Settings {
            appendonly: appendonly.into(),
            appendfsync: appendfsync.into(),
            maxmemory_policy: policy.into(),
            save: save.into(),
        }),
        connected_replicas: Some(0),
    }
}

fn topic<'r>(report: &'r SetupReport, topic: &str) -> &'r Finding {
    report
        .findings
        .iter()
        .find(|f| f.topic == topic)
        .unwrap_or_else(|| panic!("no {topic} finding in {report:?}"))
}

#[test]
fn persistence_in_plain_words() {
    let append = Durability::Append;
    let cases = [
        (
            "yes",
            "always",
            "",
            Level::Ok,
            "nothing acknowledged is lost",
        ),
        ("yes", "everysec", "", Level::Warn, "can lose up to ~1 s"),
        ("yes", "no", "", Level::Warn, "~30 s"),
        (
            "no",
            "everysec",
            "3600 1",
            Level::Warn,
            "since the last RDB snapshot",
        ),
        ("no", "everysec", "", Level::Warn, "nothing is persisted"),
    ];
    for (appendonly, fsync, save, level, words) in cases {
        let report = assess(&facts(appendonly, fsync, "noeviction", save), &append);
        let f = topic(&report, "persistence");
        assert_eq!(f.level, level, "{f:?}");
        assert!(f.text.contains(words), "{f:?}");
        assert_eq!(report.refusal(), None);
    }
}

#[test]
fn waitaof_makes_everysec_lossless() {
    let aof = Durability::Aof {
        replicas: 0,
        timeout: Duration::from_secs(1),
    };
    let mut facts = facts("yes", "everysec", "noeviction", "");
    facts.version = Some("7.2.4".into());
    let report = assess(&facts, &aof);
    assert_eq!(topic(&report, "persistence").level, Level::Ok);
    assert_eq!(report.refusal(), None, "{report:?}");
}

#[test]
fn eviction_policies_that_can_evict_are_refused() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        let report = assess(&facts("yes", "always", policy, ""), &Durability::Append);
        let refusal = report.refusal().unwrap_or_default();
        assert!(
            refusal.contains(policy) && refusal.contains("any key"),
            "{refusal}"
        );
    }
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let report = assess(&facts("yes", "always", policy, ""), &Durability::Append);
        let refusal = report.refusal().unwrap_or_default();
        assert!(refusal.contains("idempotency keys have one"), "{refusal}");
    }
    let ok = assess(
        &facts("yes", "always", "noeviction", ""),
        &Durability::Append,
    );
    assert_eq!(topic(&ok, "eviction").level, Level::Ok);
}

#[test]
fn unreadable_settings_are_said_not_refused() {
    let facts = ServerFacts {
        version: None,
        settings: Err("CONFIG GET is not allowed to this Redis user".into()),
        connected_replicas: None,
    };
    let report = assess(&facts, &Durability::Append);
    let f = topic(&report, "persistence");
    assert_eq!(f.level, Level::Warn);
    assert!(
        f.text.contains("cannot read") && f.text.contains("not allowed"),
        "{f:?}"
    );
    assert_eq!(report.refusal(), None);
}

#[test]
fn aof_needs_redis_7_2_and_appendonly() {
    let aof = Durability::Aof {
        replicas: 0,
        timeout: Duration::from_secs(1),
    };
    let report = assess(&facts("yes", "always", "noeviction", ""), &aof);
    let refusal = report.refusal().unwrap_or_default();
    assert!(
        refusal.contains("7.2") && refusal.contains("7.0.15"),
        "{refusal}"
    );

    let mut newer = facts("no", "everysec", "noeviction", "");
    newer.version = Some("7.2.0".into());
    let refusal = assess(&newer, &aof).refusal().unwrap_or_default();
    assert!(refusal.contains("appendonly yes"), "{refusal}");
    assert!(!refusal.contains("7.2;"), "{refusal}");
}

#[test]
fn too_few_connected_replicas_is_a_warning() {
    let replicas = Durability::Replicas {
        replicas: 2,
        timeout: Duration::from_millis(500),
    };
    let report = assess(&facts("yes", "always", "noeviction", ""), &replicas);
    let warn = report
        .findings
        .iter()
        .find(|f| f.topic == "durability" && f.level == Level::Warn);
    assert!(
        warn.is_some_and(|f| f.text.contains("0 are connected")),
        "{report:?}"
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.text.contains("2 replica(s) have it (WAIT)"))
    );
    assert_eq!(report.refusal(), None);
}

#[test]
fn versions() {
    assert_eq!(major_minor("7.2.4"), Some((7, 2)));
    assert_eq!(major_minor("7.0.15"), Some((7, 0)));
    assert_eq!(major_minor("seven"), None);
}
