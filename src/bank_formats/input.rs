//! Where a statement file comes from: a stream, bytes in memory, or a file on disk.
//!
//! The XML formats parse fastest over a whole document they can borrow from (quick-xml then
//! copies nothing per event), so a file on disk is mapped into memory for them, and the pages
//! the parser has passed are given back as it goes: the process's memory stays flat however
//! large the file. The line formats read everything as a stream.

use std::fs::File;
use std::io::{BufRead, BufReader};

use super::{parse, parse_bytes, CsvMapping, Format, ParseError, ParseSummary, StatementSink};

/// A statement file to parse.
pub enum Input<'a> {
    /// Read once, front to back.
    Stream(Box<dyn BufRead + Send + 'a>),
    /// Wholly in memory.
    Bytes(&'a [u8]),
    /// On disk; it must not change while it is parsed (the service's own spooled upload).
    File(File),
}

/// Releases mapped pages in steps of this size behind the parser (a multiple of every page size).
const RELEASE_STEP: usize = 1 << 20;

/// Parses `input` as [`parse`] does.
pub fn parse_input(
    format: Format,
    input: Input<'_>,
    csv_mapping: Option<&CsvMapping>,
    sink: &mut dyn StatementSink,
) -> Result<ParseSummary, ParseError> {
    match input {
        Input::Stream(reader) => parse(format, reader, csv_mapping, sink),
        Input::Bytes(bytes) => parse_bytes(format, bytes, csv_mapping, sink, &mut |_| {}),
        Input::File(file) if matches!(format, Format::Camt053 | Format::Camt054) => MappedFile::open(&file)
            .map_err(|e| ParseError::at_byte(0, format!("cannot read the file: {e}")))?
            .parse(format, csv_mapping, sink),
        Input::File(file) => parse(format, BufReader::with_capacity(256 * 1024, file), csv_mapping, sink),
    }
}

/// A file mapped read-only into memory.
struct MappedFile {
    /// `None` for an empty file (a zero-length mapping is an error).
    map: Option<memmap2::Mmap>,
}

impl MappedFile {
    fn open(file: &File) -> std::io::Result<Self> {
        if file.metadata()?.len() == 0 {
            return Ok(MappedFile { map: None });
        }
        // SAFETY: the mapping is only valid while nobody truncates or rewrites the file; callers
        // pass files they own (a spooled upload, a benchmark's input), which nothing changes.
        let map = unsafe { memmap2::Mmap::map(file)? };
        // Read-ahead suits a parser that goes front to back; only a hint.
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(MappedFile { map: Some(map) })
    }

    /// Parses the mapped file, giving back the pages behind the parser as it goes.
    fn parse(
        &self,
        format: Format,
        csv_mapping: Option<&CsvMapping>,
        sink: &mut dyn StatementSink,
    ) -> Result<ParseSummary, ParseError> {
        let Some(map) = &self.map else {
            return parse_bytes(format, &[], csv_mapping, sink, &mut |_| {});
        };
        let mut released = 0usize;
        let mut release = |upto: usize| {
            let upto = upto / RELEASE_STEP * RELEASE_STEP;
            if upto > released {
                // SAFETY: MADV_DONTNEED on a read-only file mapping only drops the pages from this
                // process; touching them again reads them back from the file, so even a range
                // still in use would only cost a re-read, never change what is seen.
                let _ = unsafe {
                    map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, released, upto - released)
                };
                released = upto;
            }
        };
        parse_bytes(format, map, csv_mapping, sink, &mut release)
    }
}
