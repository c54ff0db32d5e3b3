//! Downloading a message's shared files with the bot token, before the message is queued, so
//! the worker stores them with the case. The token is only ever sent to Slack's own hosts (or
//! the configured `api_url`'s); a file that cannot be had is kept as metadata with the reason,
//! so a message is never lost for an attachment.

use std::time::Duration;

use serde::Deserialize;

use super::events::SlackFile;
use crate::fetch::{self, Target};
use crate::{FetchedFile, FileContent};

/// How long one file may take to download.
const FILE_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub(super) struct FileFetcher {
    pub bot_token: Option<String>,
    /// The Web API base, without a trailing slash.
    pub api_url: String,
    pub max_bytes: u64,
}

#[derive(Debug, Deserialize)]
struct FileInfo {
    ok: bool,
    #[serde(default)]
    file: Option<SlackFileUrls>,
}

#[derive(Debug, Deserialize)]
struct SlackFileUrls {
    #[serde(default)]
    url_private: Option<String>,
    #[serde(default)]
    url_private_download: Option<String>,
}

impl FileFetcher {
    /// One entry per file, in order: its bytes or why it was not downloaded.
    pub async fn fetch_all(&self, files: &[SlackFile]) -> Vec<FetchedFile> {
        let mut fetched = Vec::with_capacity(files.len());
        for file in files {
            let content = match self.fetch(file).await {
                Ok(bytes) => FileContent::Bytes(bytes),
                Err(reason) => FileContent::Omitted { reason },
            };
            fetched.push(FetchedFile {
                id: file.id.clone(),
                content,
            });
        }
        fetched
    }

    async fn fetch(&self, file: &SlackFile) -> Result<Vec<u8>, String> {
        let Some(token) = &self.bot_token else {
            return Err("not downloaded: no bot token configured".into());
        };
        if file.size.is_some_and(|size| size > self.max_bytes) {
            return Err(format!("larger than max_file_bytes ({})", self.max_bytes));
        }
        let authorization = format!("Bearer {token}");
        let url = match file
            .url_private_download
            .clone()
            .or(file.url_private.clone())
        {
            Some(url) => url,
            None => self.file_url(&file.id, &authorization).await?,
        };
        if !self.trusted(&url) {
            return Err("not downloaded: the file's URL is not a Slack host".into());
        }
        let fetched = fetch::get(&url, Some(&authorization), self.max_bytes, FILE_TIMEOUT)
            .await
            .map_err(|e| format!("download failed: {e}"))?;
        Ok(fetched.bytes.to_vec())
    }

    /// `files.info` for a file whose event did not carry its URL (Slack Connect files).
    async fn file_url(&self, id: &str, authorization: &str) -> Result<String, String> {
        let encoded: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
        let url = format!("{}/files.info?file={encoded}", self.api_url);
        let answer = fetch::get(&url, Some(authorization), 1024 * 1024, FILE_TIMEOUT)
            .await
            .map_err(|e| format!("files.info failed: {e}"))?;
        let info: FileInfo = serde_json::from_slice(&answer.bytes)
            .map_err(|_| "files.info answered something other than its JSON".to_string())?;
        let urls = info
            .file
            .filter(|_| info.ok)
            .ok_or("files.info refused the file")?;
        urls.url_private_download
            .or(urls.url_private)
            .ok_or_else(|| "files.info gave no download URL".to_string())
    }

    /// Slack's hosts over https, or exactly the configured API's host and port.
    fn trusted(&self, url: &str) -> bool {
        let Ok(target) = Target::parse(url) else {
            return false;
        };
        let slack =
            target.tls && (target.host == "slack.com" || target.host.ends_with(".slack.com"));
        let api = Target::parse(&self.api_url).is_ok_and(|api| {
            api.host == target.host && api.port == target.port && api.tls == target.tls
        });
        slack || api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_only_to_slack() {
        let fetcher = FileFetcher {
            bot_token: Some("xoxb".into()),
            api_url: "http://127.0.0.1:9000".into(),
            max_bytes: 10,
        };
        assert!(fetcher.trusted("https://files.slack.com/files-pri/T1-F1/x"));
        assert!(fetcher.trusted("http://127.0.0.1:9000/files/F1"));
        assert!(!fetcher.trusted("http://files.slack.com/x"));
        assert!(!fetcher.trusted("https://evil.example/slack.com"));
        assert!(!fetcher.trusted("https://files.slack.com.evil.example/x"));
        assert!(!fetcher.trusted("http://127.0.0.1:9001/files/F1"));
    }
}
