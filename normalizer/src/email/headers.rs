//! Header helpers: control-character stripping, first-occurrence lookups, addresses, message ids
//! and dates.
//!
//! Every decoded header value passes through [`clean`] *after* RFC 2047 decoding, because an
//! encoded word (`=?utf-8?q?a=0D=0Abcc:...?=`) is exactly how Mailsploit-style attacks smuggle
//! CR/LF/NUL past a parser that only looks at the raw bytes.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use mail_parser::{Addr, Address as MpAddress, DateTime, Header, HeaderName, HeaderValue};
use time::format_description::well_known::Rfc3339;

use crate::case::{Address, Party, PartyKind};

/// Removes CR, LF, NUL and every other control character from a decoded value (TAB becomes a
/// space), then trims. `None` when nothing is left, so that absent and blank read the same.
pub(crate) fn clean(value: &str) -> Option<String> {
    let trimmed = value.trim();
    // Fast path: almost every header is free of control characters, so avoid rebuilding it.
    let cleaned = if trimmed.chars().any(char::is_control) {
        let rebuilt: String = trimmed
            .chars()
            .filter_map(|c| match c {
                '\t' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect();
        rebuilt.trim().to_owned()
    } else {
        trimmed.to_owned()
    };
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Most bytes of a Subject header that are decoded. A real subject is a line or two; a header
/// of thousands of encoded words (spam, a test of long headers) would otherwise cost more than
/// the rest of its message and land whole in every helpdesk title.
pub(crate) const MAX_SUBJECT_BYTES: usize = 16 * 1024;

/// The first Subject, RFC 2047-decoded and [`clean`]ed. mail-parser skips it (see `PARSER`) so
/// that only the first [`MAX_SUBJECT_BYTES`] of a longer one are decoded, up to the last line
/// break within them (an encoded word is not split across folded lines).
pub(crate) fn subject(raw: &[u8], headers: &[Header<'_>]) -> Option<String> {
    let header = headers.iter().find(|h| h.name == HeaderName::Subject)?;
    let start = header.offset_start as usize;
    let len = (header.offset_end as usize).saturating_sub(start);
    let value = if len <= MAX_SUBJECT_BYTES {
        // From the value's start to the end of the message: the parse stops at the header's
        // end by itself, exactly as mail-parser's own parse of the header does.
        match MessageStream::new(raw.get(start..)?).parse_unstructured() {
            HeaderValue::Text(text) => text,
            _ => return None,
        }
    } else {
        let window = raw.get(start..start + MAX_SUBJECT_BYTES)?;
        let cut = memchr::memrchr(b'\n', window).unwrap_or(window.len());
        // The parse returns a value only at a line break that no fold follows.
        let mut head = window[..cut].to_vec();
        head.push(b'\n');
        match MessageStream::new(&head).parse_unstructured() {
            HeaderValue::Text(text) => Cow::Owned(text.into_owned()),
            _ => return None,
        }
    };
    clean(&value)
}

/// The first header of that name. mail-parser's own accessors return the *last* one; the first
/// is what most clients display, and dead letters use the same rule.
pub(crate) fn first<'h, 'x>(
    headers: &'h [Header<'x>],
    name: &HeaderName<'_>,
) -> Option<&'h HeaderValue<'x>> {
    headers.iter().find(|h| &h.name == name).map(|h| &h.value)
}

/// The raw (undecoded, unfolded-only-by-trim) value of the first header called `name`, read from
/// the wire bytes by offset so that vendor headers need no special parser configuration.
pub(crate) fn raw_value<'a>(
    raw: &'a [u8],
    headers: &[Header<'_>],
    name: &str,
) -> Option<Cow<'a, str>> {
    let header = headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    header_raw_value(raw, header)
}

/// [`raw_value`] of each of `names`, found in one pass over the headers: the classifier reads a
/// dozen names, and walking every header once per name was most of its cost.
pub(crate) fn first_raw_values<'a, const N: usize>(
    raw: &'a [u8],
    headers: &[Header<'_>],
    names: [&str; N],
) -> [Option<Cow<'a, str>>; N] {
    let mut found: [Option<&Header<'_>>; N] = [None; N];
    for header in headers {
        let name = header.name.as_str();
        for (wanted, slot) in names.iter().zip(found.iter_mut()) {
            if slot.is_none() && name.eq_ignore_ascii_case(wanted) {
                *slot = Some(header);
            }
        }
    }
    found.map(|header| header.and_then(|h| header_raw_value(raw, h)))
}

/// The trimmed raw value of `header`, read from the wire bytes by its offsets.
fn header_raw_value<'a>(raw: &'a [u8], header: &Header<'_>) -> Option<Cow<'a, str>> {
    let bytes = raw.get(header.offset_start as usize..header.offset_end as usize)?;
    Some(match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    })
}

/// Every raw value of the headers called `name`, top to bottom.
pub(crate) fn raw_values<'a, 'h>(
    raw: &'a [u8],
    headers: &'h [Header<'_>],
    name: &'h str,
) -> impl Iterator<Item = Cow<'a, str>> + 'h
where
    'a: 'h,
{
    headers
        .iter()
        .filter(move |h| h.name.as_str().eq_ignore_ascii_case(name))
        .filter_map(move |h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .map(|bytes| match String::from_utf8_lossy(bytes) {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
        })
}

/// Converts one mailbox, dropping it when neither name nor address survives cleaning.
pub(crate) fn address(addr: &Addr<'_>) -> Option<Address> {
    let name = addr.name.as_deref().and_then(clean);
    let address = addr.address.as_deref().and_then(clean);
    (name.is_some() || address.is_some()).then_some(Address { name, address })
}

/// All mailboxes of an address header, group members flattened.
pub(crate) fn address_list(value: Option<&HeaderValue<'_>>) -> Vec<Address> {
    match value.and_then(HeaderValue::as_address) {
        Some(list) => list.iter().filter_map(address).collect(),
        None => Vec::new(),
    }
}

/// The sender from the first usable mailbox of From, falling back to Sender, and the header
/// safety findings a helpdesk should see (they go to `classification.reasons`).
pub(crate) fn sender(headers: &[Header<'_>]) -> (Party, Vec<&'static str>) {
    let mut reasons = Vec::new();
    let mailboxes = |name: HeaderName<'_>| {
        first(headers, &name)
            .and_then(HeaderValue::as_address)
            .map(|list: &MpAddress<'_>| list.iter().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let from = mailboxes(HeaderName::From);
    if headers
        .iter()
        .filter(|h| h.name == HeaderName::From)
        .count()
        > 1
    {
        reasons.push("header: several from headers");
    }
    if from.iter().filter(|a| a.address.is_some()).count() > 1 {
        reasons.push("header: several from addresses");
    }
    let found = from
        .into_iter()
        .chain(mailboxes(HeaderName::Sender))
        .find(|a| address(a).is_some());
    let Some(found) = found else {
        return (Party::default(), reasons);
    };
    let address = found.address.as_deref().and_then(clean);
    if found
        .name
        .as_deref()
        .is_some_and(|n| n.chars().any(|c| c.is_control() && c != '\t'))
    {
        reasons.push("header: control characters in display name");
    }
    if found
        .address
        .as_deref()
        .is_some_and(|a| !plausible_address(a))
    {
        reasons.push("header: malformed sender address");
    }
    let mut name = found.name.as_deref().and_then(clean);
    if let Some(shown) = &name
        && smuggles_address(shown, address.as_deref())
    {
        reasons.push("header: display name contains an address");
        name = without_addresses(shown);
    }
    let party = Party {
        name,
        address,
        kind: PartyKind::Email,
        telegram: None,
        discord: None,
    };
    (party, reasons)
}

/// A display name that shows an address (or angle brackets) other than the real one is how
/// Mailsploit-style spoofing makes `evil@x.com` read as `support@bank.com` in a client.
fn smuggles_address(name: &str, real: Option<&str>) -> bool {
    if name.contains(['<', '>']) {
        return true;
    }
    name.split_whitespace()
        .map(|word| word.trim_matches(|c: char| matches!(c, '"' | '\'' | '(' | ')' | ',' | ';')))
        .filter(|word| word.contains('@'))
        .any(|word| !real.is_some_and(|real| real.eq_ignore_ascii_case(word)))
}

/// The display name with every word that carries an address or angle bracket removed; `None`
/// when nothing else was in it.
fn without_addresses(name: &str) -> Option<String> {
    let kept: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .filter(|word| !word.contains('@'))
        .map(|word| word.trim_matches(|c: char| matches!(c, '"' | '\'')))
        .filter(|word| !word.is_empty())
        .collect();
    clean(&kept.join(" "))
}

/// One '@' with something on both sides and nothing a client would render as a second address.
fn plausible_address(address: &str) -> bool {
    let mut parts = address.rsplitn(2, '@');
    let (Some(domain), Some(local)) = (parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !address
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'))
        && (!local.contains('@') || local.starts_with('"'))
}

/// Message ids of an id header (mail-parser already removed the angle brackets).
pub(crate) fn message_ids(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    match value {
        Some(HeaderValue::Text(id)) => clean_id(id).into_iter().collect(),
        Some(HeaderValue::TextList(ids)) => ids.iter().filter_map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    }
}

fn clean_id(id: &str) -> Option<String> {
    let id = id.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    let id = id.strip_suffix('>').unwrap_or(id);
    clean(id)
}

/// The first Date header as RFC 3339, parsed from its own bytes. mail-parser skips it (see
/// `PARSER`): its Date parser, reading a message with bare LF line ends (as an MTA's pipe
/// delivers them), can take the next header line with it (seen after dates ending in the
/// obsolete zone `UT` or a stray `AM`), and that header (a From, a Message-ID) was lost.
pub(crate) fn sent_at(raw: &[u8], headers: &[Header<'_>]) -> Option<String> {
    let header = headers.iter().find(|h| h.name == HeaderName::Date)?;
    let value = raw.get(header.offset_start as usize..header.offset_end as usize)?;
    match MessageStream::new(value).parse_date() {
        HeaderValue::DateTime(date) => rfc3339(&date),
        _ => None,
    }
}

/// RFC 3339 in the sender's own offset, or `None` for dates that do not exist (Feb 31, hour 25,
/// year 40000): mail-parser reports whatever digits it found, and `time` validates them.
pub(crate) fn rfc3339(date: &DateTime) -> Option<String> {
    if !date.is_valid() {
        return None;
    }
    let month = time::Month::try_from(date.month).ok()?;
    let day = time::Date::from_calendar_date(i32::from(date.year), month, date.day).ok()?;
    let clock = time::Time::from_hms(date.hour, date.minute, date.second).ok()?;
    let sign: i8 = if date.tz_before_gmt { -1 } else { 1 };
    let hours = i8::try_from(date.tz_hour).ok()?;
    let minutes = i8::try_from(date.tz_minute).ok()?;
    let offset = time::UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?;
    time::PrimitiveDateTime::new(day, clock)
        .assume_offset(offset)
        .format(&Rfc3339)
        .ok()
}

/// Renders an address header as `Name <addr>, ...` for dead letters.
pub(crate) fn render_addresses(value: Option<&HeaderValue<'_>>) -> Option<String> {
    let rendered: Vec<String> = address_list(value)
        .into_iter()
        .map(|a| match (a.name, a.address) {
            (Some(name), Some(addr)) => format!("{name} <{addr}>"),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => String::new(),
        })
        .collect();
    (!rendered.is_empty()).then(|| rendered.join(", "))
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    use super::*;
    use crate::email::test_messages::fixtures_and_corpus;

    /// The first `name` header as mail-parser parses it when `configure` names its parser
    /// within the rest of the normalizer's configuration: what the normalizer read before it
    /// parsed the header itself. The rest matters: with LF line ends, mail-parser's Date
    /// parser can take the next line with it.
    fn parsed_by_mail_parser<'x>(
        raw: &'x [u8],
        name: HeaderName<'static>,
        configure: fn(MessageParser) -> MessageParser,
    ) -> Option<HeaderValue<'x>> {
        let message =
            configure(crate::email::parser_without_transfer_encoding()).parse_headers(raw)?;
        first(&message.parts.first()?.headers, &name).cloned()
    }

    fn parsers_subject(raw: &[u8]) -> Option<String> {
        let configure = |p: MessageParser| p.header_text(HeaderName::Subject);
        parsed_by_mail_parser(raw, HeaderName::Subject, configure)?
            .as_text()
            .and_then(clean)
    }

    fn parsers_date(raw: &[u8]) -> Option<String> {
        let configure = |p: MessageParser| p.header_date(HeaderName::Date);
        parsed_by_mail_parser(raw, HeaderName::Date, configure)?
            .as_datetime()
            .and_then(rfc3339)
    }

    fn our_date(raw: &[u8]) -> Option<String> {
        let message = crate::email::PARSER.parse_headers(raw)?;
        sent_at(raw, &message.parts.first()?.headers)
    }

    #[test]
    fn date_is_parsed_as_mail_parser_parses_it_and_takes_no_other_header() {
        let (mut checked, mut dated) = (0, 0);
        for (path, raw) in fixtures_and_corpus() {
            let ours = our_date(&raw);
            assert_eq!(ours, parsers_date(&raw), "{}", path.display());
            checked += 1;
            dated += usize::from(ours.is_some());
        }
        assert!(
            checked >= 40 && dated * 10 > checked * 8,
            "{dated} of {checked} dated"
        );

        for zone in ["UT", "GMT", "+0100", "-0500 (EST)", "Z", "AM"] {
            for eol in ["\n", "\r\n"] {
                let raw = format!(
                    "Date: Tue, 22 Jan 2002 14:35:28 {zone}{eol}Subject: hello{eol}\
                     From: a@example.com{eol}{eol}body"
                );
                let what = format!("{zone} {eol:?}");
                assert_eq!(ours(raw.as_bytes()).as_deref(), Some("hello"), "{what}");
                let names: Vec<String> = crate::email::PARSER
                    .parse_headers(raw.as_bytes())
                    .and_then(|m| m.parts.into_iter().next())
                    .map(|p| {
                        p.headers
                            .iter()
                            .map(|h| h.name.as_str().to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(names, ["Date", "Subject", "From"], "{what}");
                if zone != "AM" {
                    let date = our_date(raw.as_bytes()).unwrap_or_default();
                    assert!(date.starts_with("2002-01-22T14:35:28"), "{what}: {date}");
                }
            }
        }
    }

    #[test]
    fn with_bare_lf_no_header_takes_the_next_line() {
        let firsts = ["Date", "Subject", "From", "Message-ID", "X-Mailer"];
        let nexts = [
            "To",
            "Cc",
            "From",
            "Subject",
            "Message-ID",
            "References",
            "Content-Type",
        ];
        for first_name in firsts {
            for next in nexts {
                for word in ["UT", "AM", "GMT", "x"] {
                    let raw = format!(
                        "{first_name}: Thu, 20 Jun 2002 05:53:48 {word}\n{next}: v@example.com\n\
                         X-Last: 1\n\nbody"
                    );
                    let message = crate::email::PARSER.parse_headers(raw.as_bytes());
                    let count = message.map_or(0, |m| m.parts[0].headers.len());
                    assert_eq!(count, 3, "{raw:?}");
                }
            }
        }
    }

    fn ours(raw: &[u8]) -> Option<String> {
        let message = crate::email::PARSER.parse_headers(raw)?;
        subject(raw, &message.parts.first()?.headers)
    }

    #[test]
    fn subject_is_decoded_as_mail_parser_decodes_it() {
        let raw = b"From: a@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n =?utf-8?b?YXVz?= Berlin\r\n\tzur\xc3\xbcck\r\nTo: b@example.com\r\n\r\nbody";
        assert_eq!(ours(raw).as_deref(), Some("Grüßeaus Berlin zurück"));
        assert_eq!(ours(raw), parsers_subject(raw));
        assert_eq!(ours(b"Subject: \r\n\r\nx"), None);
        assert_eq!(ours(b"From: a@example.com\r\n\r\nx"), None);
        // The last header, no body, no final line break.
        assert_eq!(
            ours(b"Subject: hi there"),
            parsers_subject(b"Subject: hi there")
        );
    }

    #[test]
    fn subject_agrees_with_mail_parser_on_fixtures_and_corpus() {
        let mut checked = 0;
        for (path, raw) in fixtures_and_corpus() {
            let lf: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
            // Cut inside the header block too: the Subject may then end the input.
            let cut = raw[..raw.len().min(300)].to_vec();
            for variant in [raw, lf, cut] {
                let expected = parsers_subject(&variant);
                if expected
                    .as_ref()
                    .is_some_and(|s| s.len() > MAX_SUBJECT_BYTES / 2)
                {
                    continue; // cut by design; checked below
                }
                assert_eq!(ours(&variant), expected, "{}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 120, "only {checked} messages checked");
    }

    #[test]
    fn a_long_subject_is_cut_at_a_fold_within_the_limit() {
        let word = "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_Berlin?=";
        let folded = vec![word; 2_000].join("\r\n ");
        let raw = format!("Subject: {folded}\r\nFrom: a@example.com\r\n\r\nbody");
        let full = parsers_subject(raw.as_bytes()).unwrap_or_default();
        let cut = ours(raw.as_bytes()).unwrap_or_default();
        assert!(full.len() > 30_000, "{}", full.len());
        assert!(
            !cut.is_empty() && cut.len() < MAX_SUBJECT_BYTES,
            "{}",
            cut.len()
        );
        // Whole encoded words only: a prefix of the full decode.
        assert!(full.starts_with(&cut));
        assert!(
            cut.ends_with("Grüße aus Berlin"),
            "{}",
            &cut[cut.len() - 30..]
        );

        // One unfolded line: cut at the limit, still a value.
        let line = "x".repeat(3 * MAX_SUBJECT_BYTES);
        let raw = format!("Subject: {line}\r\n\r\nbody");
        let cut = ours(raw.as_bytes()).unwrap_or_default();
        assert!(cut.len() <= MAX_SUBJECT_BYTES && cut.len() > MAX_SUBJECT_BYTES / 2);
    }
}
