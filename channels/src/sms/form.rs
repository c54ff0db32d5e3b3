//! Twilio's inbound message parameters (`application/x-www-form-urlencoded`), as documented for
//! messaging webhooks: only what Intake reads.

/// The parameters of one request, in body order.
#[derive(Debug)]
pub(crate) struct Form(pub Vec<(String, String)>);

/// One MMS media item: `MediaUrl{i}` and `MediaContentType{i}`.
#[derive(Debug)]
pub(crate) struct MediaItem<'f> {
    pub url: &'f str,
    pub content_type: Option<&'f str>,
}

/// Twilio sends at most 10 media per message.
const MAX_MEDIA: usize = 10;

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `MessageSid` (`SmsMessageSid` in older requests).
    pub(crate) fn message_sid(&self) -> Option<&str> {
        self.get("MessageSid")
            .or_else(|| self.get("SmsMessageSid"))
            .filter(|sid| !sid.trim().is_empty())
    }

    /// A status callback (`MessageStatus`: sent, delivered, ...) is about our own outbound
    /// message, not a customer's: not a case.
    pub(crate) fn is_status_callback(&self) -> bool {
        self.get("MessageStatus").is_some() && self.get("Body").is_none()
    }

    pub(crate) fn media(&self) -> Vec<MediaItem<'_>> {
        let count = self
            .get("NumMedia")
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_MEDIA);
        (0..count)
            .filter_map(|i| {
                Some(MediaItem {
                    url: self.get(&format!("MediaUrl{i}"))?,
                    content_type: self.get(&format!("MediaContentType{i}")),
                })
            })
            .collect()
    }
}
