//! Base64 and quoted-printable attachments against known payloads: random bytes, encoded with
//! every line shape a sender may use (short, long and odd lines, LF or CRLF, blanks, padding,
//! `-` and `--` in the data), must come out of the normalizer as exactly those bytes. Written
//! to check a faster decoder in mail-parser (measured, not adopted: BENCHMARKS.md), it guards
//! any future change of MIME decoding.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use intake_normalizer::email::normalize_email_with;
use intake_normalizer::sha256_hex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BOUNDARY: &str = "=_intake_test_boundary_7f3a";

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |w, (i, &b)| w | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((word >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Quoted-printable with soft line breaks at `width`; spaces and `-` stay literal.
fn quoted_printable(bytes: &[u8], width: usize, eol: &str) -> String {
    let mut out = String::new();
    let mut line = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let last = i + 1 == bytes.len();
        let piece = match b {
            b' ' if !last => " ".to_owned(),
            33..=60 | 62..=126 => (b as char).to_string(),
            _ => format!("={b:02X}"),
        };
        if line + piece.len() > width {
            out.push('=');
            out.push_str(eol);
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

fn wrap(text: &str, width: usize, eol: &str, blank: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    for line in chars.chunks(width) {
        out.extend(line);
        out.push_str(blank);
        out.push_str(eol);
    }
    out
}

fn message(encoding: &str, body: &str, eol: &str) -> Vec<u8> {
    format!(
        "From: a@example.com{eol}To: b@example.com{eol}Subject: decoding{eol}\
         Message-ID: <decoding@example.com>{eol}MIME-Version: 1.0{eol}\
         Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"{eol}{eol}\
         --{BOUNDARY}{eol}Content-Type: text/plain{eol}{eol}See the file.{eol}\
         --{BOUNDARY}{eol}Content-Type: application/octet-stream; name=\"f.bin\"{eol}\
         Content-Disposition: attachment; filename=\"f.bin\"{eol}\
         Content-Transfer-Encoding: {encoding}{eol}{eol}{body}\
         --{BOUNDARY}--{eol}"
    )
    .into_bytes()
}

fn attachment_sha(raw: &[u8]) -> Vec<String> {
    let normalized = normalize_email_with(raw, &common::ctx(), &common::options()).unwrap();
    normalized
        .case
        .attachments
        .iter()
        .map(|a| a.sha256.clone())
        .collect()
}

/// Random bytes with runs of `-` (so `--` appears inside the data, never as the boundary).
fn payload(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            if rng.random_range(0..8) == 0 {
                b'-'
            } else {
                rng.random()
            }
        })
        .collect()
}

#[test]
fn base64_attachments_decode_to_their_bytes_whatever_the_line_shape() {
    let mut rng = StdRng::seed_from_u64(12);
    for len in [1usize, 2, 3, 4, 5, 7, 8, 9, 57, 100, 1000, 4099] {
        let data = payload(&mut rng, len);
        let encoded = base64(&data);
        for width in [76usize, 72, 64, 60, 9, 7, 4, 1] {
            for eol in ["\r\n", "\n"] {
                for blank in ["", " ", "\t "] {
                    let raw = message("base64", &wrap(&encoded, width, eol, blank), eol);
                    assert_eq!(
                        attachment_sha(&raw),
                        vec![sha256_hex(&data)],
                        "len {len} width {width} eol {eol:?} blank {blank:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn quoted_printable_attachments_decode_to_their_bytes_whatever_the_line_shape() {
    let mut rng = StdRng::seed_from_u64(13);
    for len in [1usize, 2, 7, 8, 9, 15, 16, 17, 100, 1000, 4099] {
        // Mostly printable text, so long literal runs reach the bulk copy.
        let data: Vec<u8> = (0..len)
            .map(|_| match rng.random_range(0..20) {
                0 => b'-',
                1 => b' ',
                2 => b'=',
                3 => rng.random(),
                _ => rng.random_range(b'a'..=b'z'),
            })
            .collect();
        for width in [76usize, 40, 9, 4] {
            for eol in ["\r\n", "\n"] {
                let mut body = quoted_printable(&data, width, eol);
                body.push_str(eol);
                let raw = message("quoted-printable", &body, eol);
                // The line end before the boundary belongs to the boundary; the encoding has
                // no hard line breaks, so the decoded part is exactly the data.
                assert_eq!(
                    attachment_sha(&raw),
                    vec![sha256_hex(&data)],
                    "len {len} width {width} eol {eol:?}"
                );
            }
        }
    }
}
