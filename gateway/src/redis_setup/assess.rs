//! The server's facts in plain words: what a Redis crash can lose, whether keys can be evicted,
//! and whether the configured durability can be had from this server. Pure, so every wording
//! is unit-tested; the end-to-end tests check the same words against real servers.

use intake_config::Durability;

use super::{Finding, Level, ServerFacts, Settings, SetupReport};

/// WAITAOF arrived in Redis 7.2.
const WAITAOF_SINCE: (u32, u32) = (7, 2);

/// Every finding about `facts` for `durability`, in the order persistence, eviction,
/// durability.
pub fn assess(facts: &ServerFacts, durability: &Durability) -> SetupReport {
    let mut findings = Vec::new();
    match &facts.settings {
        Ok(settings) => {
            findings.push(persistence(settings, durability));
            findings.push(eviction(&settings.maxmemory_policy));
        }
        Err(reason) => findings.push(Finding {
            level: Level::Warn,
            topic: "persistence",
            text: format!(
                "cannot read the server's appendonly, appendfsync and maxmemory-policy \
                 ({reason}), so what a Redis crash can lose is unknown: make sure of \
                 appendonly yes, appendfsync always and maxmemory-policy noeviction"
            ),
        }),
    }
    findings.extend(durability_findings(facts, durability));
    SetupReport {
        version: facts.version.clone(),
        findings,
    }
}

fn persistence(s: &Settings, durability: &Durability) -> Finding {
    let aof = matches!(durability, Durability::Aof { .. });
    let (level, text) = match (s.appendonly.as_str(), s.appendfsync.as_str()) {
        ("yes", fsync) if aof => (
            Level::Ok,
            format!(
                "nothing acknowledged is lost on a Redis crash (durability = \"aof\": intake \
                 acks only what Redis has fsynced; appendonly yes, appendfsync {fsync})"
            ),
        ),
        ("yes", "always") => (
            Level::Ok,
            "nothing acknowledged is lost on a Redis crash (appendonly yes, appendfsync \
             always: Redis fsyncs each write before it replies)"
                .to_string(),
        ),
        ("yes", "everysec") => (
            Level::Warn,
            "a Redis crash can lose up to ~1 s of acknowledged messages (appendonly yes, \
             appendfsync everysec: the file is fsynced once a second, so a crash of the \
             machine loses the last second; a crash of redis-server alone loses none)"
                .to_string(),
        ),
        ("yes", fsync) => (
            Level::Warn,
            format!(
                "a Redis crash can lose ~30 s of acknowledged messages or more (appendonly \
                 yes, appendfsync {fsync}: the operating system decides when the file \
                 reaches the disk)"
            ),
        ),
        _ if s.save.trim().is_empty() => (
            Level::Warn,
            "a Redis crash loses everything acknowledged: nothing is persisted (appendonly \
             no and no RDB save points)"
                .to_string(),
        ),
        _ => (
            Level::Warn,
            format!(
                "a Redis crash loses everything acknowledged since the last RDB snapshot, \
                 minutes of messages (appendonly no; save {})",
                s.save.trim()
            ),
        ),
    };
    let text = if level == Level::Warn {
        format!(
            "{text}; mail acked with after_ingest = \"delete\" or move_to is then gone from \
             the mailbox too"
        )
    } else {
        text
    };
    Finding {
        level,
        topic: "persistence",
        text,
    }
}

fn eviction(policy: &str) -> Finding {
    let fix = "set maxmemory-policy noeviction";
    let (level, text) = if policy == "noeviction" {
        (
            Level::Ok,
            "maxmemory-policy noeviction: a full Redis refuses writes (intake retries them) \
             instead of evicting keys"
                .to_string(),
        )
    } else if policy.starts_with("allkeys-") {
        (
            Level::Refuse,
            format!(
                "maxmemory-policy {policy} lets a full Redis evict any key, the streams and \
                 intake's idempotency keys included: cases would be lost or appended twice; \
                 {fix}"
            ),
        )
    } else if policy.starts_with("volatile-") {
        (
            Level::Refuse,
            format!(
                "maxmemory-policy {policy} lets a full Redis evict keys that have a TTL, and \
                 intake's idempotency keys have one: a redelivered message would be appended \
                 twice; {fix}"
            ),
        )
    } else {
        (
            Level::Warn,
            format!("maxmemory-policy {policy} is unknown to intake; {fix}"),
        )
    };
    Finding {
        level,
        topic: "eviction",
        text,
    }
}

fn durability_findings(facts: &ServerFacts, durability: &Durability) -> Vec<Finding> {
    let finding = |level, text: String| Finding {
        level,
        topic: "durability",
        text,
    };
    let (replicas, timeout) = match durability {
        Durability::Append => {
            let text = "intake acks a message once Redis has replied to its append \
                        (durability = \"append\")";
            return vec![finding(Level::Ok, text.to_string())];
        }
        Durability::Replicas { replicas, timeout } | Durability::Aof { replicas, timeout } => {
            (*replicas, humantime::format_duration(*timeout))
        }
    };
    let mut findings = Vec::new();
    if let Durability::Aof { .. } = durability {
        let version = facts.version.as_deref();
        match version.and_then(major_minor) {
            Some(v) if v < WAITAOF_SINCE => findings.push(finding(
                Level::Refuse,
                format!(
                    "durability = \"aof\" needs WAITAOF, which Redis has since 7.2; this \
                     server is {}: use durability = \"replicas\", or \"append\" with \
                     appendfsync always",
                    version.unwrap_or_default()
                ),
            )),
            Some(_) => {}
            None => findings.push(finding(
                Level::Warn,
                "cannot read the server's version; durability = \"aof\" needs Redis 7.2 or \
                 later (WAITAOF)"
                    .to_string(),
            )),
        }
        if let Ok(s) = &facts.settings
            && s.appendonly != "yes"
        {
            findings.push(finding(
                Level::Refuse,
                "durability = \"aof\" needs appendonly yes; this server has appendonly no"
                    .to_string(),
            ));
        }
    }
    match facts.connected_replicas {
        Some(connected) if connected < replicas => findings.push(finding(
            Level::Warn,
            format!(
                "durability = \"{}\" waits for {replicas} replica(s) but {connected} are \
                 connected: no batch is acked until {replicas} are",
                durability.word()
            ),
        )),
        _ => {}
    }
    let waits_for = match durability {
        Durability::Aof { replicas: 0, .. } => {
            "Redis has fsynced it to its append-only file (WAITAOF)".to_string()
        }
        Durability::Aof { .. } => format!(
            "Redis and {replicas} replica(s) have fsynced it to their append-only files \
             (WAITAOF)"
        ),
        _ => format!("{replicas} replica(s) have it (WAIT)"),
    };
    findings.push(finding(
        Level::Ok,
        format!(
            "intake acks a batch once {waits_for}, waiting at most {timeout} before it sends \
             the batch again"
        ),
    ));
    findings
}

/// `(major, minor)` of a version such as "7.2.4".
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests;
