//! A Bot API method's parameters, read the ways the real API accepts them: the query string, and
//! a JSON, URL-encoded form or multipart body. Values arrive as JSON (a form's values are
//! strings, parsed as JSON where they are JSON, as the API does for numbers and arrays).

use std::collections::HashMap;

use serde_json::Value;

/// Named parameters of one call.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, Value>);

impl Params {
    pub fn parse(query: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Params {
        let mut params = HashMap::new();
        if let Some(query) = query {
            params.extend(form(query.as_bytes()));
        }
        let original = content_type.unwrap_or_default();
        let content_type = original.to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
                params.extend(map);
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            params.extend(form(body));
        } else if content_type.starts_with("multipart/form-data") {
            // The boundary is case-sensitive: read it from the header as sent.
            if let Some(boundary) = original
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("boundary="))
                .next()
            {
                params.extend(multipart(body, boundary.trim_matches('"')));
            }
        }
        Params(params)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.0.get(name)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn string(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        match self.0.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }
}

/// A string value as the API reads it: JSON when it parses as such, else the string.
fn value_of(text: String) -> Value {
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_))) => v,
        _ => Value::String(text),
    }
}

fn form(body: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), value_of(decode(value)))
        })
        .collect()
}

/// Percent-decoding with `+` as space.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| char::from(b).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text fields of a multipart body (files are not needed by the methods faked here).
fn multipart(body: &[u8], boundary: &str) -> Vec<(String, Value)> {
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    text.split(delimiter.as_str())
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("name="))
                .next()?
                .trim_matches('"')
                .to_string();
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            Some((name, value_of(value.to_string())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_encoding_reads_the_same() {
        let json = Params::parse(
            None,
            Some("application/json"),
            br#"{"offset":5,"url":"a b"}"#,
        );
        let form = Params::parse(
            None,
            Some("application/x-www-form-urlencoded"),
            b"offset=5&url=a+b",
        );
        let query = Params::parse(Some("offset=5&url=a%20b"), None, b"");
        let multi = Params::parse(
            None,
            Some("multipart/form-data; boundary=XyZ"),
            b"--XyZ\r\nContent-Disposition: form-data; name=\"offset\"\r\n\r\n5\r\n--XyZ\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\na b\r\n--XyZ--\r\n",
        );
        for p in [json, form, query, multi] {
            assert_eq!(p.int("offset"), Some(5));
            assert_eq!(p.string("url").as_deref(), Some("a b"));
        }
    }
}
