//! Line-based input (MT940, BAI2): capped physical lines, their decoding, and io errors raised
//! by the input guards turned back into messages.

use std::io::{self, BufRead, Read};

use super::ParseError;

/// Reads physical lines (`\n` or `\r\n`) with a hard length cap, counting
/// line numbers. Used by MT940 and BAI2.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    pub(crate) line_no: u64,
    max: usize,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        LineReader { inner, buf: Vec::with_capacity(256), line_no: 0, max }
    }

    /// Next line (1-based number, content without terminator), or `None` at end of input.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, ParseError> {
        self.buf.clear();
        let next = self.line_no + 1;
        // `take` bounds what `read_until` may buffer: a 1 GB file without
        // newlines costs MAX_TEXT_BYTES, not 1 GB.
        let n = (&mut self.inner)
            .take(self.max as u64 + 2)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| ParseError::at_line(next, format!("read error: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no = next;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() > self.max {
            return Err(ParseError::at_line(next, format!("line longer than {} bytes", self.max)));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.buf.len() > self.max {
            return Err(ParseError::at_line(next, format!("line longer than {} bytes", self.max)));
        }
        if self.line_no == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.buf.drain(..3);
        }
        Ok(Some((self.line_no, &self.buf)))
    }
}

/// Decodes a text line: UTF-8 when valid, else Windows-1252 (MT940/BAI2 files
/// from European banks are often Latin-1/CP1252 despite the SWIFT character
/// set; Windows-1252 decodes every byte, so this never fails).
pub(crate) fn decode_line(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// Turns a sink-independent io error raised by our guards back into a message.
pub(crate) fn io_reason(e: &io::Error) -> String {
    e.get_ref().map(|inner| inner.to_string()).unwrap_or_else(|| e.to_string())
}
