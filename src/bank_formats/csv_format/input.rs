//! The byte path of a CSV file: decoding to UTF-8 (`Decoded`) and the cap on every record while
//! it is read (`RecordGuard`), before the `csv` crate sees it.

use std::io::{self, BufRead, Read};

use super::CsvEncoding;

/// UTF-8 view of the input: strips a UTF-8 BOM, or decodes GBK/GB18030 in chunks.
pub(super) struct Decoded<R> {
    inner: R,
    decoder: Option<encoding_rs::Decoder>,
    label: &'static str,
    out: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    started: bool,
    done: bool,
    consumed: u64,
}

impl<R: BufRead> Decoded<R> {
    pub(super) fn new(inner: R, encoding: CsvEncoding) -> Self {
        let (decoder, label) = match encoding {
            CsvEncoding::Utf8 => (None, "UTF-8"),
            // WHATWG maps GBK to the GB18030 decoder (a superset); new_decoder()
            // also honours a UTF-8 BOM if an export is mislabelled.
            CsvEncoding::Gbk => (Some(encoding_rs::GBK.new_decoder()), "GBK"),
            CsvEncoding::Gb18030 => (Some(encoding_rs::GB18030.new_decoder()), "GB18030"),
        };
        let out = if decoder.is_some() { vec![0; 16 * 1024] } else { Vec::new() };
        Decoded { inner, decoder, label, out, out_pos: 0, out_len: 0, started: false, done: false, consumed: 0 }
    }
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let Some(decoder) = self.decoder.as_mut() else {
            // UTF-8: pass through (the csv layer validates per field), minus the BOM.
            if !self.started {
                self.started = true;
                let head = self.inner.fill_buf()?;
                if head.starts_with(b"\xEF\xBB\xBF") {
                    self.inner.consume(3);
                }
            }
            let src = self.inner.fill_buf()?;
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
            self.inner.consume(n);
            return Ok(n);
        };
        while self.out_pos == self.out_len {
            if self.done {
                return Ok(0);
            }
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let (result, read, written) = decoder.decode_to_utf8_without_replacement(src, &mut self.out, last);
            self.inner.consume(read);
            self.consumed += read as u64;
            self.out_pos = 0;
            self.out_len = written;
            if let encoding_rs::DecoderResult::Malformed(bad, _) = result {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "invalid {} byte sequence at byte {}",
                        self.label,
                        self.consumed.saturating_sub(u64::from(bad))
                    ),
                ));
            }
            if last && matches!(result, encoding_rs::DecoderResult::InputEmpty) {
                self.done = true;
            }
        }
        let n = (self.out_len - self.out_pos).min(dst.len());
        dst[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Fails the read as soon as one CSV record exceeds `max` bytes. Tracks quoting
/// like csv-core does (a quote only opens a field at its start; `""` inside a
/// quoted field is an escaped quote), so line breaks inside quoted fields count
/// towards the record, and stray quotes in the middle of an unquoted field do
/// not derail it. Scans with memchr: only quotes and line breaks are looked at.
pub(super) struct RecordGuard<R> {
    inner: R,
    delimiter: u8,
    quote: u8,
    in_quotes: bool,
    /// A quote was seen inside a quoted field; the next byte decides whether it
    /// was an escaped quote (`""`) or the closing one.
    quote_pending: bool,
    /// Last byte scanned (a line break before the first byte).
    prev: u8,
    run: usize,
    max: usize,
}

impl<R> RecordGuard<R> {
    pub(super) fn new(inner: R, delimiter: u8, quote: u8, max: usize) -> Self {
        RecordGuard { inner, delimiter, quote, in_quotes: false, quote_pending: false, prev: b'\n', run: 0, max }
    }

    fn scan(&mut self, chunk: &[u8]) -> io::Result<()> {
        let n = chunk.len();
        let mut i = 0;
        while i < n {
            if self.quote_pending {
                self.quote_pending = false;
                if chunk[i] == self.quote {
                    self.run += 1;
                    self.prev = self.quote;
                    i += 1;
                    continue;
                }
                self.in_quotes = false; // that was the closing quote; handle chunk[i] below
            }
            if self.in_quotes {
                match memchr::memchr(self.quote, &chunk[i..]) {
                    Some(j) => {
                        self.run += j + 1;
                        self.prev = self.quote;
                        self.quote_pending = true;
                        i += j + 1;
                    }
                    None => {
                        self.run += n - i;
                        self.prev = chunk[n - 1];
                        i = n;
                    }
                }
            } else {
                match memchr::memchr2(self.quote, b'\n', &chunk[i..]) {
                    Some(j) => {
                        let at = i + j;
                        let before = if j == 0 { self.prev } else { chunk[at - 1] };
                        self.run += j + 1;
                        if chunk[at] == b'\n' {
                            if self.run > self.max + 1 {
                                return Err(self.too_long()); // before the count restarts
                            }
                            self.run = 0;
                        } else if before == self.delimiter || before == b'\n' {
                            self.in_quotes = true;
                        }
                        self.prev = chunk[at];
                        i = at + 1;
                    }
                    None => {
                        self.run += n - i;
                        self.prev = chunk[n - 1];
                        i = n;
                    }
                }
            }
            if self.run > self.max {
                return Err(self.too_long());
            }
        }
        Ok(())
    }

    fn too_long(&self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("CSV record longer than {} bytes", self.max))
    }
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard_ok(data: &[u8], max: usize) -> bool {
        let mut g = RecordGuard::new(data, b',', b'"', max);
        let mut out = Vec::new();
        // Small reads exercise state carried across chunk boundaries.
        let mut buf = [0u8; 3];
        loop {
            match g.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => return false,
            }
        }
    }

    #[test]
    fn record_guard_tracks_quotes() {
        assert!(guard_ok(b"aaaa,bbbb\ncccc,dddd\n", 10));
        assert!(!guard_ok(b"aaaa,bbbbbbb\n", 10));
        assert!(!guard_ok(b"aaaa,bbbbbbbbbbbbbbbbbbbbbbb\nc\n", 10), "long record ending in one chunk");
        // Quoted line breaks belong to the record.
        assert!(!guard_ok(b"a,\"x\ny\nz\nw\"\n", 10));
        assert!(guard_ok(b"a,\"x\ny\"\nb,c\n", 10));
        // Escaped quotes keep the field open; a stray quote mid-field does not open one.
        assert!(!guard_ok(b"a,\"x\"\"\ny\nzzzz\"\n", 10));
        assert!(guard_ok(b"ab\"c,d\ne,f\ng,h\n", 10));
    }
}
