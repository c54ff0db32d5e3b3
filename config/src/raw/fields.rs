//! The key-by-key reader of one TOML table: type errors and unknown keys are recorded with
//! their key path, and reading goes on.

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::DurationText;
use crate::error::{ConfigErrors, join};

/// Reads the keys of one table, recording type errors and, in [`Fields::finish`], every key
/// that no one took. The keys taken are the keys known, so the two lists cannot drift.
pub(super) struct Fields<'e> {
    table: Table,
    pub(super) path: String,
    known: Vec<&'static str>,
    /// Whether any `take` failed on this table.
    pub(super) failed: bool,
    pub(super) errors: &'e mut ConfigErrors,
}

impl<'e> Fields<'e> {
    pub(super) fn new(table: Table, path: &str, errors: &'e mut ConfigErrors) -> Fields<'e> {
        Fields {
            table,
            path: path.to_string(),
            known: Vec::new(),
            failed: false,
            errors,
        }
    }

    /// The value of `key` as a `T`; `None` when absent or of the wrong type (then recorded).
    /// The message names the expected and found TOML types, never the value.
    pub(super) fn take<T: Expected>(&mut self, key: &'static str) -> Option<T> {
        self.known.push(key);
        let value = self.table.remove(key)?;
        let found = value.type_str();
        match value.try_into::<T>() {
            Ok(value) => Some(value),
            Err(_) => {
                let message = format!("expected {}, found {found}", T::EXPECTED);
                self.errors.push(join(&self.path, key), message);
                self.failed = true;
                None
            }
        }
    }

    /// Like [`Fields::take`], but a missing key is an error too.
    pub(super) fn required<T: Expected>(&mut self, key: &'static str) -> Option<T> {
        let present = self.table.contains_key(key);
        let value = self.take(key);
        if !present {
            self.errors
                .push(join(&self.path, key), "missing required key");
        }
        value
    }

    /// Removes a key that is recognized only to be rejected (an inline `password`): reports
    /// whether it was present, without looking at its value and without listing it as known.
    pub(super) fn take_unlisted(&mut self, key: &str) -> bool {
        self.table.remove(key).is_some()
    }

    pub(super) fn finish(self) {
        let known = self.known.join(", ");
        for key in self.table.keys() {
            let message = format!("unknown key; expected one of: {known}");
            self.errors.push(join(&self.path, key), message);
        }
    }
}

/// A type a raw field is read as, with how to name it in a type error.
pub(super) trait Expected: DeserializeOwned {
    const EXPECTED: &'static str;
}

impl Expected for String {
    const EXPECTED: &'static str = "a string";
}

impl Expected for i64 {
    const EXPECTED: &'static str = "an integer";
}

impl Expected for bool {
    const EXPECTED: &'static str = "true or false";
}

impl Expected for Table {
    const EXPECTED: &'static str = "a table";
}

impl Expected for Vec<Table> {
    const EXPECTED: &'static str = "an array of tables ([[channels]] entries)";
}

impl Expected for DurationText {
    const EXPECTED: &'static str = "a duration string such as \"60s\" or \"30d\"";
}

impl Expected for Value {
    const EXPECTED: &'static str = "a value";
}

impl Expected for Vec<crate::types::SubjectTagConfig> {
    const EXPECTED: &'static str =
        "an array of tables with `name` and `pattern` ([[conversations.subject_tags]])";
}

impl Expected for Vec<Value> {
    const EXPECTED: &'static str = "an array";
}

impl Expected for Vec<String> {
    const EXPECTED: &'static str = "an array of strings";
}
