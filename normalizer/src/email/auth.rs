//! `Authentication-Results` (RFC 8601): the DKIM, SPF and DMARC verdicts of a receiving server.
//!
//! Anyone can write this header into a message, so only the verdicts of the operator's own
//! server count: the topmost header whose authserv-id equals the configured one. Our border
//! server adds its header above everything the message arrived with, so a forged copy further
//! down, even one naming the same authserv-id, is never read. With no authserv-id configured
//! nothing is trusted. The verdicts are recorded for the helpdesk, never used to drop mail.

use mail_parser::Header;

use super::headers::raw_values;
use crate::case::{AuthResult, Authentication};

/// Verdicts and domains longer than this are not what a server writes; they are dropped.
const MAX_TOKEN_CHARS: usize = 255;

/// The verdicts of the trusted `Authentication-Results` header, if there is one.
pub(crate) fn authentication(
    raw: &[u8],
    headers: &[Header<'_>],
    authserv_id: Option<&str>,
) -> Option<Authentication> {
    let trusted = authserv_id?;
    raw_values(raw, headers, "Authentication-Results").find_map(|value| {
        let (id, results) = parse(&value)?;
        id.eq_ignore_ascii_case(trusted).then(|| Authentication {
            authserv_id: id.to_ascii_lowercase(),
            dkim: pick(&results, "dkim"),
            spf: pick(&results, "spf"),
            dmarc: pick(&results, "dmarc"),
        })
    })
}

/// One `method=result prop=value ...` clause.
#[derive(Debug, PartialEq, Eq)]
struct Clause {
    method: String,
    result: String,
    props: Vec<(String, String)>,
}

/// The authserv-id and the result clauses of one header value.
fn parse(value: &str) -> Option<(String, Vec<Clause>)> {
    let text = strip_comments(value);
    let mut segments = split_outside_quotes(&text, ';').into_iter();
    let id = segments.next()?.split_whitespace().next()?.to_owned();
    if !is_token(&id) {
        return None;
    }
    let clauses = segments.filter_map(|s| clause(&s)).collect();
    Some((id, clauses))
}

fn clause(segment: &str) -> Option<Clause> {
    // "dkim = pass header . d = x" is legal CFWS; glue the pairs back together first.
    let glued = glue(segment);
    let mut words = glued.split_whitespace();
    let (method, result) = words.next()?.split_once('=')?;
    let method = method.split('/').next()?.to_ascii_lowercase();
    let result = result.trim_matches('"').to_ascii_lowercase();
    if !is_token(&method) || !is_token(&result) {
        return None;
    }
    let props = words
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim_matches('"').to_owned()))
        .collect();
    Some(Clause {
        method,
        result,
        props,
    })
}

/// The first passing result of `method`, else its first result at all.
fn pick(clauses: &[Clause], method: &str) -> Option<AuthResult> {
    let mut of_method = clauses.iter().filter(|c| c.method == method);
    let chosen = of_method
        .clone()
        .find(|c| c.result == "pass")
        .or_else(|| of_method.next())?;
    let prop = |name: &str| {
        chosen
            .props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let domain = match method {
        "dkim" => prop("header.d").or_else(|| prop("header.i")),
        "spf" => prop("smtp.mailfrom").or_else(|| prop("smtp.helo")),
        _ => prop("header.from"),
    }
    .map(|v| v.rsplit('@').next().unwrap_or(v).to_ascii_lowercase())
    .filter(|v| is_token(v));
    Some(AuthResult {
        result: chosen.result.clone(),
        domain,
    })
}

/// Replaces RFC 5322 comments (nested parentheses, backslash escapes) with a space; quoted
/// strings are kept as they are, since a reason="(...)" is not a comment.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c == separator && !quoted {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

/// Removes blanks around '=' and '.' so each `key=value` is one word.
fn glue(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.split_whitespace().peekable();
    while let Some(word) = chars.next() {
        out.push_str(word);
        let joins = word.ends_with(['=', '.'])
            || chars
                .peek()
                .is_some_and(|next| next.starts_with(['=', '.']));
        if !joins {
            out.push(' ');
        }
    }
    out
}

fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value.chars().count() <= MAX_TOKEN_CHARS
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_methods_props_comments_and_spacing() {
        let (id, clauses) = parse(
            "mx.example.com 1; dkim=pass (2048-bit key; secure) header.d=Example.COM header.s=s1;\r\n spf = pass smtp.mailfrom=ann@example.com; dmarc=fail (p=none dis=none) header.from=example.com",
        )
        .unwrap();
        assert_eq!(id, "mx.example.com");
        assert_eq!(clauses.len(), 3);
        assert_eq!(clauses[1].method, "spf");
        let dkim = pick(&clauses, "dkim").unwrap();
        assert_eq!(
            (dkim.result.as_str(), dkim.domain.as_deref()),
            ("pass", Some("example.com"))
        );
        let spf = pick(&clauses, "spf").unwrap();
        assert_eq!(spf.domain.as_deref(), Some("example.com"));
        assert_eq!(pick(&clauses, "dmarc").unwrap().result, "fail");
    }

    #[test]
    fn prefers_a_passing_signature_and_handles_none() {
        let (_, clauses) =
            parse("mx; dkim=fail header.d=a.example; dkim=pass header.i=@b.example").unwrap();
        assert_eq!(
            pick(&clauses, "dkim").unwrap().domain.as_deref(),
            Some("b.example")
        );
        let (id, none) = parse("mx.example.com; none").unwrap();
        assert_eq!(id, "mx.example.com");
        assert!(pick(&none, "dkim").is_none());
        assert!(parse("(only a comment)").is_none());
        assert!(parse("").is_none());
    }
}
