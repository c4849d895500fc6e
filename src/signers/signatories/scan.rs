//! The list's bytes as they pass to the CSV parser: line numbers, quotes
//! left open, and text presumed UTF-8 that is not.

use std::collections::VecDeque;
use std::io::Read;

/// Why a `Scan` stopped feeding the parser.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stop {
    /// A byte that is not UTF-8, at this offset.
    NotUtf8 { offset: u64 },
    /// A quoted value from this line ran over `LONG_QUOTE` bytes and is
    /// never closed: a quote left open, which would make the rest of the
    /// file one value.
    LongQuote { line: u64 },
    /// A quoted value from this line is closed, but runs over `LONG_QUOTE`.
    LongCell { line: u64 },
}

/// The most one quoted value may hold. More is a quote left open, or a
/// cell no member's details need (a spreadsheet cell holds at most 32,767
/// characters); told apart by reading on to see whether the quote closes.
pub(super) const LONG_QUOTE: u64 = 1 << 20;

/// The list's bytes on their way to the CSV parser, looked at once as they
/// pass, so the file need not be read again for any of it: where the line
/// breaks are (the csv crate's own line count is one short after every
/// CRLF, the line ending Excel writes), and, while checking, where a quote
/// opens that is never closed (or runs on for a megabyte, which would make
/// the rest of the file one value), and whether text presumed UTF-8 is.
pub(super) struct Scan<R> {
    inner: R,
    /// The offset of the next byte handed out.
    offset: u64,
    /// CR and LF bytes handed out that `line_at` has not passed yet:
    /// their offset, and whether it is a LF.
    breaks: VecDeque<(u64, bool)>,
    /// The line `line_at` has reached.
    line: u64,
    checking: bool,
    delimiter: u8,
    /// The line of the next byte handed out (for quotes).
    read_line: u64,
    field_start: bool,
    /// The line where the quoted value being read opened.
    quoted: Option<u64>,
    quoted_bytes: u64,
    /// A quote inside a quoted value: its end, or the first of `""`.
    pending_quote: bool,
    /// Whether to check that the text is UTF-8, and the start of a
    /// character cut off at the end of the last read.
    verify: bool,
    partial: Vec<u8>,
    at_end: bool,
    stop: Option<Stop>,
}

impl<R: Read> Scan<R> {
    /// Why the scan stopped feeding the parser, if it did.
    pub(super) fn stop(&self) -> Option<Stop> {
        self.stop
    }

    /// The line of a quote still open at the end of the file.
    pub(super) fn open_at_end(&self) -> Option<u64> {
        if self.at_end && !self.pending_quote {
            self.quoted
        } else {
            None
        }
    }

    pub(super) fn new(inner: R, delimiter: u8, checking: bool, verify: bool) -> Self {
        Scan {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            line: 1,
            checking,
            delimiter,
            read_line: 1,
            field_start: true,
            quoted: None,
            quoted_bytes: 0,
            pending_quote: false,
            verify,
            partial: Vec::new(),
            at_end: false,
            stop: None,
        }
    }

    /// The line of the record starting at `byte`: the line breaks before
    /// it, and the rest of a CRLF that the record's offset points into.
    /// Offsets only grow.
    pub(super) fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(at, lf)) = self.breaks.front() {
            if at >= byte {
                break;
            }
            self.line += u64::from(lf);
            self.breaks.pop_front();
        }
        let mut next = byte;
        while let Some(&(at, lf)) = self.breaks.front() {
            if at != next {
                break;
            }
            self.line += u64::from(lf);
            self.breaks.pop_front();
            next += 1;
        }
        self.line
    }

    /// Checks that `bytes` (from `self.offset` on) continue valid UTF-8;
    /// returns the offset of the first byte that does not.
    fn utf8(&mut self, bytes: &[u8]) -> Option<u64> {
        let mut start = 0;
        // First complete the character cut off at the end of the last read.
        while !self.partial.is_empty() {
            if start == bytes.len() {
                return None;
            }
            let begun = self.offset - self.partial.len() as u64 + start as u64;
            self.partial.push(bytes[start]);
            start += 1;
            match std::str::from_utf8(&self.partial) {
                Ok(_) => self.partial.clear(),
                Err(e) if e.error_len().is_some() => return Some(begun),
                Err(_) => {}
            }
        }
        match std::str::from_utf8(&bytes[start..]) {
            Ok(_) => None,
            Err(e) if e.error_len().is_none() => {
                self.partial
                    .extend_from_slice(&bytes[start + e.valid_up_to()..]);
                None
            }
            Err(e) => Some(self.offset + (start + e.valid_up_to()) as u64),
        }
    }

    /// Follows quotes through `bytes`, as the CSV parser will; once a
    /// quoted value is over `LONG_QUOTE`, says how it ends.
    fn quotes(&mut self, bytes: &[u8]) -> Option<Stop> {
        let delimiter = self.delimiter;
        for &b in bytes {
            if let Some(line) = self.quoted {
                self.quoted_bytes += 1;
                if self.pending_quote {
                    self.pending_quote = false;
                    if b != b'"' {
                        self.quoted = None;
                        self.field_start = b == delimiter || b == b'\n';
                        if self.quoted_bytes > LONG_QUOTE {
                            // Closed where a value ends: a long cell; else
                            // the quote met was another value's.
                            return Some(if self.field_start || b == b'\r' {
                                Stop::LongCell { line }
                            } else {
                                Stop::LongQuote { line }
                            });
                        }
                    }
                } else if b == b'"' {
                    self.pending_quote = true;
                }
            } else if b == b'"' && self.field_start {
                self.quoted = Some(self.read_line);
                self.quoted_bytes = 0;
                self.field_start = false;
            } else {
                self.field_start = b == delimiter || b == b'\n' || (self.field_start && b == b'\r');
            }
            if b == b'\n' {
                self.read_line += 1;
            }
        }
        None
    }
}

impl<R: Read> Scan<R> {
    /// Reads on past a quoted value over `LONG_QUOTE` (without handing
    /// the bytes to the parser) to see whether it is closed.
    fn long_value_end(&mut self) -> std::io::Result<Stop> {
        let line = self.read_line;
        let mut buf = vec![0; 1 << 16];
        loop {
            let n = self.inner.read(&mut buf)?;
            if n == 0 {
                let line = self.quoted.unwrap_or(line);
                return Ok(if self.pending_quote {
                    Stop::LongCell { line }
                } else {
                    Stop::LongQuote { line }
                });
            }
            if let Some(stop) = self.quotes(&buf[..n]) {
                return Ok(stop);
            }
        }
    }
}

impl<R: Read> Read for Scan<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.is_some() {
            return Err(std::io::Error::other("the list cannot be read on"));
        }
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        if n == 0 {
            self.at_end = true;
            if self.verify && !self.partial.is_empty() {
                let offset = self.offset - self.partial.len() as u64;
                self.stop = Some(Stop::NotUtf8 { offset });
                return Err(std::io::Error::other("not UTF-8"));
            }
            return Ok(0);
        }
        if self.verify
            && let Some(offset) = self.utf8(bytes)
        {
            self.stop = Some(Stop::NotUtf8 { offset });
            return Err(std::io::Error::other("not UTF-8"));
        }
        if self.checking {
            let mut stop = self.quotes(bytes);
            if stop.is_none() && self.quoted_bytes > LONG_QUOTE && self.quoted.is_some() {
                stop = Some(self.long_value_end()?);
            }
            if let Some(stop) = stop {
                self.stop = Some(stop);
                return Err(std::io::Error::other("a quoted value is too long"));
            }
        }
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}
