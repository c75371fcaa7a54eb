//! ISO 20022 camt.053 (BankToCustomerStatement) and camt.054
//! (BankToCustomerDebitCreditNotification), versions .001.01 – .001.12, and later
//! versions read the same way with a warning.
//!
//! Streaming: quick-xml events drive a small state machine over the element
//! path; only the statement header and the current `Ntry` (with its `TxDtls`)
//! are kept. Elements are matched by local name, so prefixed documents
//! (`<ns2:Document xmlns:ns2=...>`) and documents wrapped in an envelope
//! (business application header, SWIFT SAA `DataPDU`) both work.
//!
//! Version differences handled:
//! * status: `<Sts>BOOK</Sts>` (.02 – .03) vs `<Sts><Cd>BOOK</Cd></Sts>` (.04+ / .08);
//! * parties: `Dbtr/Nm` (.02 – .04) vs `Dbtr/Pty/Nm` (.08);
//! * charges: repeated `Chrgs/Amt` (.02) vs `Chrgs/Rcrd/Amt` and `Chrgs/TtlChrgsAndTaxAmt` (.03+);
//! * transaction amount: `TxDtls/AmtDtls/TxAmt/Amt` (all) or `TxDtls/Amt` (.04+).
//!
//! Amounts are imported in the account's currency (`Acct/Ccy`, else the balances', else what
//! the caller knows of the account): an entry booked in another currency takes its counter value
//! from `AmtDtls` (`CntrValAmt`, `TxAmt`, ...) when one is in the account's currency, else it is
//! imported as written with a warning and left out of the balance check. A batch entry is split
//! into its `TxDtls` only when their amounts add up to what was booked (net of charges); if their
//! `CdtDbtInd` contradicts the entry's while the magnitudes add up, the entry's direction is
//! used; otherwise the entry is imported as one line. Either way every amount booked is imported
//! and the stored lines add up to the entries.
//!
//! Security: any `DOCTYPE` is rejected (ISO 20022 messages are XSD-defined and
//! never carry one, so this also stops entity-expansion attacks before they
//! start); references to undefined entities are errors; every XML event is
//! capped at [`MAX_TEXT_BYTES`] *while it is being read* (see `EventGuard`),
//! and an entry's text at [`MAX_RECORD_BYTES`].

use std::io::{self, BufRead, Read};

use chrono::NaiveDate;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use rust_decimal::Decimal;

mod entry;
mod fields;
mod tags;

use super::{io_reason, truncate, Balance, Ctx, Format, ParseError, StatementHeader, MAX_RECORD_BYTES, MAX_TEXT_BYTES};
use entry::{Charges, Entry, Tx};
use fields::{credit_debit, some, xml_amount};
use tags::{tag, T};

const NS_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";
/// Message versions known (`camt.053.001.01` .. `camt.053.001.12`); the elements we read are
/// stable across them. A later version is read the same way, with a warning.
const VERSIONS: std::ops::RangeInclusive<u32> = 1..=12;
/// Nesting deeper than any ISO 20022 message needs; bounds the path stack.
const MAX_DEPTH: usize = 64;
/// A batch entry with more transactions than this is rejected rather than
/// buffered (real batches are far smaller; the byte cap applies as well).
const MAX_TXDTLS: usize = 100_000;

/// Counts the bytes quick-xml pulls for the current event and fails the read
/// once they exceed the cap. quick-xml's buffered reader appends an event's
/// bytes to our buffer until the event ends, so without this a 1 GB text node
/// (or comment, or CDATA) would be buffered whole before we could look at it.
/// Counting instead of scanning for `<` keeps it free of per-byte work.
struct EventGuard<R> {
    inner: R,
    since_event: usize,
    max: usize,
}

impl<R: BufRead> Read for EventGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for EventGuard<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_event > self.max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("XML text node or markup longer than {} bytes", self.max),
            ));
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.since_event = self.since_event.saturating_add(amt);
        self.inner.consume(amt)
    }
}

#[derive(Default)]
struct BalanceAcc {
    depth: usize,
    code: Option<String>,
    amount: Option<(Decimal, String)>,
    credit: Option<bool>,
    date: Option<NaiveDate>,
}

struct Stmt {
    header: StatementHeader,
    begun: bool,
    /// Opening came from `OPBD` (preferred over `PRCD`, which some banks send instead).
    opening_is_opbd: bool,
    /// The account's currency, in which lines are imported (known once the first entry starts).
    booking_currency: Option<String>,
    /// Entries found (all, and booked), and the number `TxsSummry` announces (banks count either).
    entries: u64,
    booked_entries: u64,
    declared_entries: Option<u64>,
}

struct Parser {
    format: Format,
    path: Vec<T>,
    /// Namespace declarations seen outside `Document` (envelopes): (depth, prefix, uri).
    ns_decls: Vec<(usize, String, String)>,
    doc_found: bool,
    doc_closed: bool,
    skip_depth: Option<usize>,
    text: String,
    /// `Ccy` attribute of the innermost amount element.
    attr_ccy: Option<String>,
    group_created: Option<String>,
    stmt: Option<Stmt>,
    entry: Option<Entry>,
    tx: Option<Tx>,
    bal: Option<BalanceAcc>,
}

pub(crate) fn parse<R: BufRead>(format: Format, reader: R, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
    let guard = EventGuard { inner: reader, since_event: 0, max: MAX_TEXT_BYTES };
    let mut xml = Reader::from_reader(guard);
    configure(&mut xml);
    let mut p = Parser::new(format);
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let event = match xml.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => {
                let reason = match &e {
                    quick_xml::Error::Io(io) => io_reason(io),
                    other => format!("malformed XML: {other}"),
                };
                let at =
                    if matches!(e, quick_xml::Error::Io(_)) { xml.buffer_position() } else { xml.error_position() };
                return Err(ParseError::at_byte(at, reason));
            }
        };
        let pos = xml.buffer_position();
        if p.on_event(event, pos, ctx)? {
            break;
        }
        // In-memory readers hand quick-xml the whole input in one `fill_buf`, so
        // the guard's pre-read check never fires for them; check after the event too.
        if xml.get_ref().since_event > MAX_TEXT_BYTES {
            return Err(event_too_long(pos));
        }
        buf.clear();
        xml.get_mut().since_event = 0;
    }
    p.eof(xml.buffer_position(), ctx)
}

/// The same parse over a document that is wholly addressable (in memory, or a file mapped into
/// memory): quick-xml then borrows every event from the input instead of copying it into a
/// buffer, which is most of its cost on a file of small elements. `consumed` is told, now and
/// then, how far the parse has got (everything before that offset is never read again), so a
/// mapped file's pages can be released behind it.
pub(crate) fn parse_slice(
    format: Format,
    input: &[u8],
    ctx: &mut Ctx<'_>,
    consumed: &mut dyn FnMut(usize),
) -> Result<(), ParseError> {
    const REPORT_EVERY: u64 = 8 << 20;
    let mut xml = Reader::from_reader(input);
    configure(&mut xml);
    let mut p = Parser::new(format);
    let mut reported = 0u64;
    loop {
        let before = xml.buffer_position();
        let event = match xml.read_event() {
            Ok(ev) => ev,
            Err(e) => return Err(ParseError::at_byte(xml.error_position(), format!("malformed XML: {e}"))),
        };
        let pos = xml.buffer_position();
        if p.on_event(event, pos, ctx)? {
            break;
        }
        // Nothing is buffered (the event borrows the input), but the same limit, checked in the
        // same order as the streaming parse, keeps the two paths' answers identical.
        if pos - before > MAX_TEXT_BYTES as u64 {
            return Err(event_too_long(pos));
        }
        if pos - reported >= REPORT_EVERY {
            reported = pos;
            consumed(before as usize);
        }
    }
    p.eof(xml.buffer_position(), ctx)
}

fn configure<R>(xml: &mut Reader<R>) {
    let cfg = xml.config_mut();
    // <Nm/> then behaves exactly like <Nm></Nm>: one code path.
    cfg.expand_empty_elements = true;
    cfg.check_end_names = true;
}

fn event_too_long(pos: u64) -> ParseError {
    ParseError::at_byte(pos, format!("XML text node or markup longer than {MAX_TEXT_BYTES} bytes"))
}

impl Parser {
    fn new(format: Format) -> Self {
        Parser {
            format,
            path: Vec::with_capacity(16),
            ns_decls: Vec::new(),
            doc_found: false,
            doc_closed: false,
            skip_depth: None,
            text: String::with_capacity(256),
            attr_ccy: None,
            group_created: None,
            stmt: None,
            entry: None,
            tx: None,
            bal: None,
        }
    }

    /// Handles one event; true at the end of the input.
    fn on_event(&mut self, event: Event<'_>, pos: u64, ctx: &mut Ctx<'_>) -> Result<bool, ParseError> {
        match event {
            Event::Start(e) => self.start(&e, pos, ctx)?,
            Event::Empty(e) => {
                self.start(&e, pos, ctx)?;
                self.end(pos, ctx)?;
            }
            Event::End(_) => self.end(pos, ctx)?,
            Event::Text(t) => self.push_text(&t, pos)?,
            Event::CData(t) => self.push_text(&t, pos)?,
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| ParseError::at_byte(pos, format!("bad character reference: {e}")))?
                } else {
                    match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        _ => None,
                    }
                };
                match resolved {
                    Some(c) => self.push_text(c.encode_utf8(&mut [0u8; 4]), pos)?,
                    None => {
                        return Err(ParseError::at_byte(
                            pos,
                            format!("reference to undefined entity '&{};'", truncate(&r, 40)),
                        ))
                    }
                }
            }
            Event::DocType(_) => {
                // Covers billion-laughs / external entities: nothing in a DTD is ever honoured.
                return Err(ParseError::at_byte(
                    pos,
                    "DOCTYPE declarations are not allowed in ISO 20022 messages (entity expansion is refused)",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => return Ok(true),
        }
        Ok(false)
    }
}

/// Resolves the namespace of `Document` and checks it is a supported camt version.
/// A version later than those known is read the same way; the answer then carries a warning.
fn check_namespace(
    e: &BytesStart<'_>,
    decls: &[(usize, String, String)],
    format: Format,
    pos: u64,
) -> Result<Option<String>, ParseError> {
    let qname = e.name();
    let prefix: &str = qname.prefix().map(|p| p.into_inner()).unwrap_or("");
    let mut ns: Option<String> = None;
    for attr in e.attributes() {
        let attr = attr.map_err(|err| ParseError::at_byte(pos, format!("malformed attribute: {err}")))?;
        if xmlns_prefix(attr.key.as_ref()) == Some(prefix) {
            ns = Some(attr.value.to_string());
        }
    }
    let ns = ns.or_else(|| decls.iter().rev().find(|(_, p, _)| p == prefix).map(|(_, _, u)| u.clone()));
    let ns = ns.unwrap_or_default();
    let (want, other) = match format {
        Format::Camt054 => ("camt.054", "camt.053"),
        _ => ("camt.053", "camt.054"),
    };
    let unsupported = || ParseError::at_byte(pos, format!("unsupported namespace '{}'", truncate(&ns, 80)));
    let msg = ns.strip_prefix(NS_PREFIX).ok_or_else(unsupported)?;
    let version = |kind: &str| {
        msg.strip_prefix(kind)
            .and_then(|v| v.strip_prefix(".001."))
            .filter(|v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|v| *v >= *VERSIONS.start())
    };
    if let Some(v) = version(want) {
        Ok((v > *VERSIONS.end()).then(|| {
            format!(
                "byte {pos}: {want}.001.{v:02} is later than the versions known (up to .{:02}); read as those",
                VERSIONS.end()
            )
        }))
    } else if version(other).is_some() {
        Err(ParseError::at_byte(pos, format!("document is {other} ('{ns}') but {want} was requested")))
    } else {
        Err(unsupported())
    }
}

/// `xmlns` -> `Some("")`, `xmlns:p` -> `Some("p")`, anything else `None`.
fn xmlns_prefix(key: &str) -> Option<&str> {
    if key == "xmlns" {
        Some("")
    } else {
        key.strip_prefix("xmlns:")
    }
}

impl Parser {
    fn start(&mut self, e: &BytesStart<'_>, pos: u64, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        if self.path.len() >= MAX_DEPTH {
            return Err(ParseError::at_byte(pos, format!("elements nested deeper than {MAX_DEPTH}")));
        }
        self.text.clear();
        let t = tag(e.local_name().as_ref());
        if !self.doc_found || self.doc_closed {
            if !self.doc_found {
                if t == T::Document {
                    if let Some(w) = check_namespace(e, &self.ns_decls, self.format, pos)? {
                        ctx.warn(w);
                    }
                    self.doc_found = true;
                } else {
                    // Envelope element: remember its namespace declarations for a prefixed Document.
                    for attr in e.attributes().flatten() {
                        if let Some(p) = xmlns_prefix(attr.key.as_ref()) {
                            self.ns_decls.push((self.path.len(), p.to_string(), attr.value.to_string()));
                        }
                    }
                }
            }
            self.path.push(if t == T::Document && !self.doc_closed { T::Document } else { T::Other });
            return Ok(());
        }
        if self.skip_depth.is_some() {
            self.path.push(T::Other);
            return Ok(());
        }
        let parent = self.path.last().copied();
        match (parent, t) {
            (_, T::SplmtryData) => self.skip_depth = Some(self.path.len()),
            (Some(T::Container), T::Stmt) => {
                self.stmt = Some(Stmt {
                    header: StatementHeader { created_at: self.group_created.clone(), ..Default::default() },
                    begun: false,
                    opening_is_opbd: false,
                    booking_currency: None,
                    entries: 0,
                    booked_entries: 0,
                    declared_entries: None,
                });
            }
            (Some(T::Stmt), T::Bal) if self.stmt.is_some() => {
                self.bal = Some(BalanceAcc { depth: self.path.len(), ..Default::default() })
            }
            (Some(T::Stmt), T::Ntry) if self.stmt.is_some() => {
                self.begin_if_needed(ctx)?;
                self.entry = Some(Entry::new(pos, self.path.len()));
            }
            (Some(T::NtryDtls), T::TxDtls) => {
                if let Some(entry) = &self.entry {
                    if entry.txs.len() >= MAX_TXDTLS {
                        return Err(ParseError::at_byte(pos, format!("entry has more than {MAX_TXDTLS} TxDtls")));
                    }
                    self.tx = Some(Tx { depth: self.path.len(), ..Default::default() });
                }
            }
            (_, T::Amt | T::TtlChrgsAndTaxAmt) => {
                self.attr_ccy = match e.try_get_attribute("Ccy") {
                    Ok(Some(a)) => Some(a.value.to_string()),
                    Ok(None) => None,
                    Err(err) => return Err(ParseError::at_byte(pos, format!("malformed attribute: {err}"))),
                };
            }
            _ => {}
        }
        self.path.push(t);
        Ok(())
    }

    fn push_text(&mut self, s: &str, pos: u64) -> Result<(), ParseError> {
        if !self.doc_found || self.doc_closed || self.skip_depth.is_some() {
            return Ok(());
        }
        // Whitespace between elements is the bulk of pretty-printed files; skip it cheaply.
        if self.text.is_empty() && s.bytes().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        if self.text.len() + s.len() > MAX_TEXT_BYTES {
            return Err(ParseError::at_byte(pos, format!("text longer than {MAX_TEXT_BYTES} bytes")));
        }
        if let Some(entry) = &mut self.entry {
            entry.text_bytes += s.len();
            if entry.text_bytes > MAX_RECORD_BYTES {
                return Err(ParseError::at_byte(
                    entry.start,
                    format!("entry holds more than {MAX_RECORD_BYTES} bytes of text"),
                ));
            }
        }
        self.text.push_str(s);
        Ok(())
    }

    fn begin_if_needed(&mut self, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        if let Some(stmt) = &mut self.stmt {
            if !stmt.begun {
                stmt.begun = true;
                if stmt.header.currency.is_none() {
                    stmt.header.currency = stmt.header.opening_balance.as_ref().map(|b| b.currency.clone());
                }
                stmt.booking_currency = match &stmt.header.currency {
                    Some(c) => Some(c.clone()),
                    None => ctx.account_currency(stmt.header.account()),
                };
                ctx.begin(&stmt.header)?;
            }
        }
        Ok(())
    }

    fn end(&mut self, pos: u64, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        let Some(&t) = self.path.last() else {
            return Ok(()); // quick-xml already rejects unmatched end tags
        };
        if !self.doc_found || self.doc_closed {
            self.path.pop();
            let depth = self.path.len();
            self.ns_decls.retain(|(d, _, _)| *d < depth);
            return Ok(());
        }
        if let Some(d) = self.skip_depth {
            self.path.pop();
            if self.path.len() == d {
                self.skip_depth = None;
            }
            return Ok(());
        }
        let result = self.end_element(t, pos, ctx);
        self.path.pop();
        self.text.clear();
        if t == T::Document && !self.path.contains(&T::Document) {
            self.doc_closed = true;
        }
        result
    }

    fn end_element(&mut self, t: T, pos: u64, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        use T::*;
        let parent = self.path.len().checked_sub(2).map(|i| self.path[i]);
        // Structural ends first: they need `&mut self` as a whole.
        match (parent, t) {
            (Some(Container), Stmt) => return self.finish_statement(ctx),
            (Some(Stmt), Ntry) => return self.finish_entry(ctx),
            (Some(Stmt), Bal) => return self.finish_balance(pos),
            (Some(NtryDtls), TxDtls) => {
                if let (Some(tx), Some(entry)) = (self.tx.take(), self.entry.as_mut()) {
                    entry.txs.push(tx);
                }
                return Ok(());
            }
            (Some(Chrgs), Rcrd) | (_, Chrgs) => {
                if let Some(c) = self.charges_mut() {
                    c.close_record();
                }
                return Ok(());
            }
            _ => {}
        }

        let v = self.text.trim();
        let p = self.path.as_slice();
        fields::statement_field(&mut self.group_created, &mut self.stmt, p, v, pos)?;
        // Below Bal / Ntry / TxDtls: match the path relative to that element.
        let below = |depth: usize| &p[(depth + 1).min(p.len())..];
        let ccy = &self.attr_ccy;
        if let Some(tx) = &mut self.tx {
            fields::tx_field(tx, below(tx.depth), v, ccy, pos)
        } else if let Some(e) = &mut self.entry {
            fields::entry_field(e, below(e.depth), v, ccy, pos)
        } else if let Some(b) = &mut self.bal {
            fields::balance_field(b, below(b.depth), v, ccy, pos)
        } else {
            Ok(())
        }
    }

    fn charges_mut(&mut self) -> Option<&mut Charges> {
        match (&mut self.tx, &mut self.entry) {
            (Some(tx), _) => Some(&mut tx.charges),
            (None, Some(e)) => Some(&mut e.charges),
            _ => None,
        }
    }

    fn finish_balance(&mut self, pos: u64) -> Result<(), ParseError> {
        let (Some(b), Some(stmt)) = (self.bal.take(), self.stmt.as_mut()) else {
            return Ok(());
        };
        let code = b.code.unwrap_or_default();
        if !matches!(code.as_str(), "OPBD" | "PRCD" | "CLBD" | "CLAV") {
            return Ok(()); // interim / forward balances are not needed for the check
        }
        let (amount, currency) =
            b.amount.ok_or_else(|| ParseError::at_byte(pos, format!("balance {code} has no Amt")))?;
        let credit = b.credit.ok_or_else(|| ParseError::at_byte(pos, format!("balance {code} has no CdtDbtInd")))?;
        let balance = Balance { amount: if credit { amount } else { -amount }, currency, date: b.date };
        let h = &mut stmt.header;
        match code.as_str() {
            "OPBD" => {
                h.opening_balance = Some(balance);
                stmt.opening_is_opbd = true;
            }
            "PRCD" if !stmt.opening_is_opbd => h.opening_balance = Some(balance),
            "CLBD" => h.closing_balance = Some(balance),
            "CLAV" => h.closing_available_balance = Some(balance),
            _ => {}
        }
        Ok(())
    }

    fn finish_statement(&mut self, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        self.begin_if_needed(ctx)?;
        if let Some(stmt) = self.stmt.take() {
            let announced = stmt.declared_entries.filter(|d| *d != stmt.entries && *d != stmt.booked_entries);
            if let Some(declared) = announced {
                let name = stmt.header.statement_id.as_deref().unwrap_or("(no id)");
                ctx.warn(format!(
                    "statement {name}: TxsSummry announces {declared} entries, the statement holds {} \
                     (incomplete file?)",
                    stmt.entries
                ));
            }
            ctx.end(&stmt.header)?;
        }
        Ok(())
    }

    fn finish_entry(&mut self, ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        match (self.entry.take(), self.stmt.as_mut()) {
            (Some(e), Some(stmt)) => entry::finish(e, stmt, ctx),
            _ => Ok(()),
        }
    }

    fn eof(&mut self, pos: u64, _ctx: &mut Ctx<'_>) -> Result<(), ParseError> {
        if !self.doc_found {
            return Err(ParseError::at_byte(pos, "no ISO 20022 <Document> element found (not a camt file?)"));
        }
        if !self.doc_closed || !self.path.is_empty() {
            let inside = self.path.last().map(|t| format!(" inside <{t:?}>")).unwrap_or_default();
            return Err(ParseError::at_byte(pos, format!("unexpected end of file{inside} (truncated document?)")));
        }
        Ok(())
    }
}
