//! One line per message of a corpus: its file name, then the SHA-256 of its case JSON and the
//! name of every blob (or the error), in file-name order:
//! `cargo run --release -p intake-normalizer --example corpus_digest [DIR] > before.txt`.
//! A change meant only to make the normalizer faster must leave this output the same (`diff`
//! the files of both builds): it covers every field of every case, decoded attachments included.
//! With a second argument, a file name of the corpus, prints that message's case JSON instead.

mod corpus;

use intake_normalizer::email::{EmailOptions, normalize_email_with};
use intake_normalizer::sha256_hex;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let show = std::env::args().nth(2);
    let dir = corpus::dir(std::env::args().nth(1));
    let paths = corpus::messages(&dir)?;
    let ctx = corpus::context();
    let options = EmailOptions::default();
    for path in &paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if show.as_ref().is_some_and(|show| *show != name) {
            continue;
        }
        let raw = std::fs::read(path)?;
        match normalize_email_with(&raw, &ctx, &options) {
            Ok(normalized) => {
                let json = serde_json::to_vec(&normalized.case)?;
                if show.is_some() {
                    println!("{}", String::from_utf8_lossy(&json));
                    continue;
                }
                let blobs: Vec<&str> = normalized.blobs.iter().map(|b| b.sha256.as_str()).collect();
                println!("{name} {} {}", sha256_hex(&json), blobs.join(","));
            }
            Err(error) => println!("{name} error {error}"),
        }
    }
    Ok(())
}
