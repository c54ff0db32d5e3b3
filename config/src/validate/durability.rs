//! `[redis] durability`, `replicas` and `wait_timeout`: what Intake waits for after appending a
//! batch before it acks the batch's messages on their channel.

use std::time::Duration;

use super::duration;
use crate::error::ConfigErrors;
use crate::raw::DurationText;
use crate::types::Durability;

const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(1);
/// Below this, `WAIT` fails on any ordinary network hiccup.
const MIN_WAIT_TIMEOUT: Duration = Duration::from_millis(10);
/// A `WAIT` holds the connection it runs on, which the sink shares with the other Redis calls
/// and which gives up on a reply after 10 s: a wait must end well before that.
const MAX_WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// More replicas than any deployment runs; a typo such as 30 instead of 3 is caught.
const MAX_REPLICAS: i64 = 16;

const WORDS: &str = "\"append\", \"replicas\" or \"aof\"";

pub(crate) fn durability(
    word: Option<String>,
    replicas: Option<i64>,
    wait_timeout: Option<DurationText>,
    errors: &mut ConfigErrors,
) -> Durability {
    match word.as_deref().unwrap_or("append") {
        "append" => {
            let only = "only used with durability = \"replicas\" or \"aof\"";
            if replicas.is_some() {
                errors.push("redis.replicas", only);
            }
            if wait_timeout.is_some() {
                errors.push("redis.wait_timeout", only);
            }
            Durability::Append
        }
        "replicas" => {
            let Some(n) = replicas else {
                errors.push(
                    "redis.replicas",
                    "missing; durability = \"replicas\" needs the number of replicas each batch \
                     must reach (1 or more)",
                );
                return Durability::Append;
            };
            Durability::Replicas {
                replicas: count(n, 1, errors),
                timeout: timeout(wait_timeout, errors),
            }
        }
        "aof" => Durability::Aof {
            replicas: replicas.map_or(0, |n| count(n, 0, errors)),
            timeout: timeout(wait_timeout, errors),
        },
        other => {
            errors.push(
                "redis.durability",
                format!("{other:?} is not a durability; expected {WORDS}"),
            );
            Durability::Append
        }
    }
}

fn count(n: i64, min: i64, errors: &mut ConfigErrors) -> u32 {
    if (min..=MAX_REPLICAS).contains(&n) {
        n as u32
    } else {
        errors.push(
            "redis.replicas",
            format!("{n} is out of range; expected {min}..={MAX_REPLICAS}"),
        );
        min as u32
    }
}

fn timeout(text: Option<DurationText>, errors: &mut ConfigErrors) -> Duration {
    let value = duration(
        "redis.wait_timeout",
        text,
        DEFAULT_WAIT_TIMEOUT,
        MIN_WAIT_TIMEOUT,
        errors,
    );
    if value > MAX_WAIT_TIMEOUT {
        errors.push(
            "redis.wait_timeout",
            "must be at most 5s: a wait holds the Redis connection the gateway shares",
        );
        return DEFAULT_WAIT_TIMEOUT;
    }
    value
}
