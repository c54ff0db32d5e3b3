//! Test harness: real redis-server and Dovecot on free ports. TODO(helper)
