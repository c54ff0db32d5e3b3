//! IMAP email channel. TODO(helper)
