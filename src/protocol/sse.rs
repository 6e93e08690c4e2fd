//! Server-sent events read from a byte stream (the event stream is read with `fetch`, so its
//! client token travels in a header, never in the URL): complete events' `data` only.

/// Bytes received so far that do not end an event yet.
#[derive(Debug, Default)]
pub struct SseBuffer {
    pending: Vec<u8>,
    /// The current event's `data:` lines, joined by `\n`.
    data: Option<String>,
}

impl SseBuffer {
    /// Feeds a chunk; answers the `data` of every event it completed, in order. Comments
    /// (heartbeats), other fields and events without data are dropped. A line is cut only at
    /// `\n`, which never occurs inside a UTF-8 character, so a chunk may end anywhere.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                events.extend(self.data.take());
            } else if let Some(value) = line.strip_prefix("data:") {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                }
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_cut_at_blank_lines_whatever_the_chunks() {
        let text =
            ": heartbeat\n\ndata: {\"a\":1}\n\nevent: x\ndata: one\ndata: two\r\n\r\ndata: é\n\n";
        let whole = SseBuffer::default().push(text.as_bytes());
        assert_eq!(whole, ["{\"a\":1}", "one\ntwo", "é"]);
        // Byte by byte (splitting the two bytes of "é" too): the same events.
        let mut b = SseBuffer::default();
        let mut split = Vec::new();
        for byte in text.as_bytes() {
            split.extend(b.push(&[*byte]));
        }
        assert_eq!(split, whole);
    }

    #[test]
    fn an_unfinished_event_waits() {
        let mut b = SseBuffer::default();
        assert!(b.push(b"data: {\"a\"").is_empty());
        assert!(b.push(b":1}\n").is_empty());
        assert_eq!(b.push(b"\n"), ["{\"a\":1}"]);
    }
}
