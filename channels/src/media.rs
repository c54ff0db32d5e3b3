//! Fetching a message's files from its provider (WhatsApp's Graph API, Twilio's MMS media) for
//! the push channels' handlers, before the message is queued.
//!
//! A file that cannot be had (over the size limit, refused, the provider unreachable) does not
//! hold the message back: it becomes [`FileContent::Omitted`] with the reason, and the case keeps
//! the file's metadata. Reasons name the failure in our own words, never the provider's text,
//! and never a URL (they may carry tokens).

use std::time::Duration;

use crate::FileContent;

/// How long one request (connect, answer and body) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Credentials for one provider's media.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    Bearer(&'a str),
    Basic { user: &'a str, password: &'a str },
}

/// An HTTP client for media, with a size limit. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct MediaClient {
    http: reqwest::Client,
    max_bytes: u64,
}

/// Why a request for media failed (its text is safe to put into a case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MediaError {
    #[error("the provider answered {0}")]
    Status(u16),
    #[error("over the size limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the provider could not be reached or timed out")]
    Unreachable,
    #[error("the provider's answer could not be read")]
    Unreadable,
}

impl MediaClient {
    pub(crate) fn new(max_bytes: u64) -> MediaClient {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // reqwest drops the Authorization header when a redirect leaves the host (Twilio's
            // media redirects to its storage), so credentials never travel further.
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap_or_default();
        MediaClient { http, max_bytes }
    }

    /// `url`'s body as JSON (a Graph API media object).
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        auth: Auth<'_>,
    ) -> Result<T, MediaError> {
        // Metadata is small: a tight cap instead of the media limit.
        let bytes = self.get(url, auth, 64 * 1024).await?;
        serde_json::from_slice(&bytes).map_err(|_| MediaError::Unreadable)
    }

    /// The file at `url`, or why it was not fetched.
    pub(crate) async fn download(&self, url: &str, auth: Auth<'_>) -> FileContent {
        match self.get(url, auth, self.max_bytes).await {
            Ok(bytes) => FileContent::Bytes(bytes),
            Err(e) => omitted(&e),
        }
    }

    async fn get(&self, url: &str, auth: Auth<'_>, limit: u64) -> Result<Vec<u8>, MediaError> {
        let request = match auth {
            Auth::Bearer(token) => self.http.get(url).bearer_auth(token),
            Auth::Basic { user, password } => self.http.get(url).basic_auth(user, Some(password)),
        };
        let mut response = request.send().await.map_err(|_| MediaError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(MediaError::Status(status.as_u16()));
        }
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(MediaError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| MediaError::Unreachable)?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(MediaError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A file not fetched, with the reason for the case.
pub(crate) fn omitted(error: &MediaError) -> FileContent {
    FileContent::Omitted {
        reason: format!("not fetched: {error}"),
    }
}
