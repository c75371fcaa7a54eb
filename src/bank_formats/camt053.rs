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

use super::{
    check_currency, check_minor_units, io_reason, parse_decimal, parse_iso_date, truncate, Balance, Ctx, Format,
    ParseError, ParsedLine, Position, StatementHeader, MAX_RECORD_BYTES, MAX_TEXT_BYTES,
};

const NS_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";
/// Message versions known (`camt.053.001.01` .. `camt.053.001.12`); the elements we read are
/// stable across them. A later version is read the same way, with a warning.
const VERSIONS: std::ops::RangeInclusive<u32> = 1..=12;
/// Nesting deeper than any ISO 20022 message needs; bounds the path stack.
const MAX_DEPTH: usize = 64;
/// A batch entry with more transactions than this is rejected rather than
/// buffered (real batches are far smaller; the byte cap applies as well).
const MAX_TXDTLS: usize = 100_000;

/// Element names we react to. Everything else is `Other`, which still takes a
/// place in the path so that suffix patterns only match real parent chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Document,
    /// `BkToCstmrStmt` (camt.053) or `BkToCstmrDbtCdtNtfctn` (camt.054).
    Container,
    GrpHdr,
    CreDtTm,
    /// `Stmt` (camt.053) or `Ntfctn` (camt.054).
    Stmt,
    Id,
    ElctrncSeqNb,
    LglSeqNb,
    Acct,
    Iban,
    Othr,
    Ccy,
    Svcr,
    FinInstnId,
    Bic,
    Ownr,
    TxsSummry,
    TtlNtries,
    NbOfNtries,
    Bal,
    Tp,
    CdOrPrtry,
    Cd,
    Prtry,
    Amt,
    CdtDbtInd,
    Dt,
    DtTm,
    Ntry,
    NtryRef,
    RvslInd,
    Sts,
    BookgDt,
    ValDt,
    AcctSvcrRef,
    BkTxCd,
    Domn,
    Fmly,
    SubFmlyCd,
    Chrgs,
    Rcrd,
    TtlChrgsAndTaxAmt,
    NtryDtls,
    TxDtls,
    Refs,
    EndToEndId,
    AmtDtls,
    TxAmt,
    InstdAmt,
    CntrValAmt,
    AnncdPstngAmt,
    RltdPties,
    Dbtr,
    Cdtr,
    UltmtDbtr,
    UltmtCdtr,
    DbtrAcct,
    CdtrAcct,
    Pty,
    Nm,
    RmtInf,
    Ustrd,
    Strd,
    CdtrRefInf,
    Ref,
    AddtlRmtInf,
    AddtlTxInf,
    AddtlNtryInf,
    SplmtryData,
    Other,
}

/// Maps a local name to its tag. Grouped by length first: a flat `match` over
/// ~60 string literals compiles to a linear chain of comparisons, and this
/// runs for every start tag of a 200 MB file.
fn tag(local: &str) -> T {
    use T::*;
    let b = local.as_bytes();
    match b.len() {
        2 => match b {
            b"Id" => Id,
            b"Tp" => Tp,
            b"Cd" => Cd,
            b"Dt" => Dt,
            b"Nm" => Nm,
            _ => Other,
        },
        3 => match b {
            b"Ccy" => Ccy,
            b"Bal" => Bal,
            b"Amt" => Amt,
            b"Sts" => Sts,
            b"Pty" => Pty,
            b"Ref" => Ref,
            b"BIC" => Bic,
            _ => Other,
        },
        4 => match b {
            b"Stmt" => Stmt,
            b"Acct" => Acct,
            b"IBAN" => Iban,
            b"Othr" => Othr,
            b"DtTm" => DtTm,
            b"Ntry" => Ntry,
            b"Domn" => Domn,
            b"Fmly" => Fmly,
            b"Rcrd" => Rcrd,
            b"Refs" => Refs,
            b"Dbtr" => Dbtr,
            b"Cdtr" => Cdtr,
            b"Strd" => Strd,
            b"Svcr" => Svcr,
            b"Ownr" => Ownr,
            _ => Other,
        },
        5 => match b {
            b"Prtry" => Prtry,
            b"ValDt" => ValDt,
            b"Chrgs" => Chrgs,
            b"TxAmt" => TxAmt,
            b"Ustrd" => Ustrd,
            b"BICFI" => Bic,
            _ => Other,
        },
        6 => match b {
            b"GrpHdr" => GrpHdr,
            b"Ntfctn" => Stmt,
            b"BkTxCd" => BkTxCd,
            b"TxDtls" => TxDtls,
            b"RmtInf" => RmtInf,
            _ => Other,
        },
        7 => match b {
            b"CreDtTm" => CreDtTm,
            b"NtryRef" => NtryRef,
            b"RvslInd" => RvslInd,
            b"BookgDt" => BookgDt,
            b"AmtDtls" => AmtDtls,
            _ => Other,
        },
        8 => match b {
            b"Document" => Document,
            b"LglSeqNb" => LglSeqNb,
            b"NtryDtls" => NtryDtls,
            b"DbtrAcct" => DbtrAcct,
            b"CdtrAcct" => CdtrAcct,
            b"InstdAmt" => InstdAmt,
            _ => Other,
        },
        9 => match b {
            b"TxsSummry" => TxsSummry,
            b"TtlNtries" => TtlNtries,
            b"CdOrPrtry" => CdOrPrtry,
            b"CdtDbtInd" => CdtDbtInd,
            b"SubFmlyCd" => SubFmlyCd,
            b"RltdPties" => RltdPties,
            b"UltmtDbtr" => UltmtDbtr,
            b"UltmtCdtr" => UltmtCdtr,
            _ => Other,
        },
        10 => match b {
            b"EndToEndId" => EndToEndId,
            b"CdtrRefInf" => CdtrRefInf,
            b"AddtlTxInf" => AddtlTxInf,
            b"FinInstnId" => FinInstnId,
            b"CntrValAmt" => CntrValAmt,
            b"NbOfNtries" => NbOfNtries,
            _ => Other,
        },
        11 => match b {
            b"AcctSvcrRef" => AcctSvcrRef,
            b"AddtlRmtInf" => AddtlRmtInf,
            b"SplmtryData" => SplmtryData,
            _ => Other,
        },
        12 => match b {
            b"ElctrncSeqNb" => ElctrncSeqNb,
            b"AddtlNtryInf" => AddtlNtryInf,
            _ => Other,
        },
        13 => match b {
            b"BkToCstmrStmt" => Container,
            b"AnncdPstngAmt" => AnncdPstngAmt,
            _ => Other,
        },
        17 => match b {
            b"TtlChrgsAndTaxAmt" => TtlChrgsAndTaxAmt,
            _ => Other,
        },
        21 => match b {
            b"BkToCstmrDbtCdtNtfctn" => Container,
            _ => Other,
        },
        _ => Other,
    }
}

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
struct Btc {
    domain: Option<String>,
    family: Option<String>,
    sub_family: Option<String>,
    proprietary: Option<String>,
}

impl Btc {
    /// `PMNT/RCDT/ESCT` when the ISO code is complete, else the proprietary code.
    fn code(&self) -> Option<String> {
        match (&self.domain, &self.family, &self.sub_family) {
            (Some(d), Some(f), Some(s)) => Some(format!("{d}/{f}/{s}")),
            (Some(d), Some(f), None) => Some(format!("{d}/{f}")),
            _ => self.proprietary.clone().or_else(|| self.domain.clone()),
        }
    }
    fn is_empty(&self) -> bool {
        self.domain.is_none() && self.proprietary.is_none()
    }
}

/// Sums charge records. .02 repeats `Chrgs` (each one record), .03+ has one
/// `Chrgs` with `Rcrd` children and optionally a total; the total wins.
#[derive(Default)]
struct Charges {
    total: Option<Decimal>,
    sum: Option<Decimal>,
    rec_amount: Option<Decimal>,
    rec_credit: bool,
}

impl Charges {
    fn close_record(&mut self) {
        if let Some(a) = self.rec_amount.take() {
            // A charge debited to us is positive; a credited charge (refund) negative.
            let signed = if self.rec_credit { -a } else { a };
            self.sum = Some(self.sum.unwrap_or_default() + signed);
        }
        self.rec_credit = false;
    }
    fn value(&self) -> Option<Decimal> {
        self.total.or(self.sum)
    }
}

#[derive(Default)]
struct Party {
    name: Option<String>,
    iban: Option<String>,
    other_account: Option<String>,
}

/// An amount with its currency as the file gives it.
type Money = (Decimal, String);

/// The amounts a `TxDtls` may give, in the order they are preferred for its line:
/// `AmtDtls/TxAmt`, `Amt`, `AmtDtls/CntrValAmt`, `AmtDtls/InstdAmt`.
const TX_AMOUNT_SOURCES: [&str; 4] = ["AmtDtls/TxAmt", "Amt", "AmtDtls/CntrValAmt", "AmtDtls/InstdAmt"];
/// The entry's own `AmtDtls`, in the order they are preferred as its counter value.
const ENTRY_AMOUNT_SOURCES: [&str; 4] =
    ["AmtDtls/CntrValAmt", "AmtDtls/TxAmt", "AmtDtls/AnncdPstngAmt", "AmtDtls/InstdAmt"];

#[derive(Default)]
struct Tx {
    /// Index of `TxDtls` in the path; fields are matched on the path below it.
    depth: usize,
    end_to_end_id: Option<String>,
    acct_svcr_ref: Option<String>,
    /// See [`TX_AMOUNT_SOURCES`].
    amounts: [Option<Money>; 4],
    credit: Option<bool>,
    btc: Btc,
    charges: Charges,
    debtor: Party,
    creditor: Party,
    ultimate_debtor: Option<String>,
    ultimate_creditor: Option<String>,
    ustrd: Vec<String>,
    creditor_reference: Option<String>,
    additional_info: Option<String>,
}

struct Entry {
    start: u64,
    /// Index of `Ntry` in the path.
    depth: usize,
    text_bytes: usize,
    ntry_ref: Option<String>,
    acct_svcr_ref: Option<String>,
    amount: Option<Money>,
    /// See [`ENTRY_AMOUNT_SOURCES`].
    amt_dtls: [Option<Money>; 4],
    credit: Option<bool>,
    reversal: bool,
    status: Option<String>,
    booking_date: Option<NaiveDate>,
    value_date: Option<NaiveDate>,
    btc: Btc,
    charges: Charges,
    additional_info: Option<String>,
    txs: Vec<Tx>,
}

impl Entry {
    fn new(start: u64, depth: usize) -> Self {
        Entry {
            start,
            depth,
            text_bytes: 0,
            ntry_ref: None,
            acct_svcr_ref: None,
            amount: None,
            amt_dtls: Default::default(),
            credit: None,
            reversal: false,
            status: None,
            booking_date: None,
            value_date: None,
            btc: Btc::default(),
            charges: Charges::default(),
            additional_info: None,
            txs: Vec::new(),
        }
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

fn xml_amount(text: &str, ccy: &Option<String>, pos: u64) -> Result<(Decimal, String), ParseError> {
    // XSD amounts are unsigned with a '.' separator; the sign lives in CdtDbtInd. A missing
    // integer digit (".05", seen in Swiss files) is read as 0.05.
    let digit_at = |i: usize| text.as_bytes().get(i).is_some_and(u8::is_ascii_digit);
    if !(digit_at(0) || text.starts_with('.') && digit_at(1)) {
        return Err(ParseError::at_byte(pos, format!("amount '{}' is not a decimal", truncate(text, 40))));
    }
    let amount = parse_decimal(text, '.', None).map_err(|m| ParseError::at_byte(pos, m))?;
    let ccy = ccy.as_deref().ok_or_else(|| ParseError::at_byte(pos, "amount without Ccy attribute"))?;
    let ccy = check_currency(ccy).map_err(|m| ParseError::at_byte(pos, m))?;
    check_minor_units(amount, &ccy).map_err(|m| ParseError::at_byte(pos, m))?;
    Ok((amount, ccy))
}

fn credit_debit(text: &str, pos: u64) -> Result<bool, ParseError> {
    match text {
        "CRDT" => Ok(true),
        "DBIT" => Ok(false),
        other => Err(ParseError::at_byte(pos, format!("CdtDbtInd '{}' is neither CRDT nor DBIT", truncate(other, 40)))),
    }
}

fn date(text: &str, pos: u64) -> Result<NaiveDate, ParseError> {
    parse_iso_date(text).map_err(|m| ParseError::at_byte(pos, m))
}

fn some(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
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
        // Field ends: plain assignments, disjoint borrows of `self`'s fields.
        match p {
            [.., GrpHdr, CreDtTm] => self.group_created = some(v),
            [.., Container, Stmt, rest] => {
                if let Some(s) = &mut self.stmt {
                    let h = &mut s.header;
                    match rest {
                        Id => h.statement_id = some(v),
                        ElctrncSeqNb => h.sequence_number = some(v),
                        LglSeqNb if h.sequence_number.is_none() => h.sequence_number = some(v),
                        CreDtTm => h.created_at = some(v),
                        _ => {}
                    }
                }
            }
            [.., Stmt, Acct, Id, Iban] => {
                if let Some(s) = &mut self.stmt {
                    s.header.account_iban = super::normalize_account_id(v);
                }
            }
            [.., Stmt, Acct, Id, Othr, Id] => {
                if let Some(s) = &mut self.stmt {
                    s.header.account_number = some(v);
                }
            }
            [.., Stmt, Acct, Ccy] => {
                if let Some(s) = &mut self.stmt {
                    s.header.currency = Some(check_currency(v).map_err(|m| ParseError::at_byte(pos, m))?);
                }
            }
            [.., Stmt, Acct, Svcr, FinInstnId, Bic] => {
                if let Some(s) = &mut self.stmt {
                    s.header.servicer_bic = some(v);
                }
            }
            [.., Stmt, Acct, Svcr, FinInstnId, Nm] => {
                if let Some(s) = &mut self.stmt {
                    s.header.servicer_name = some(v);
                }
            }
            [.., Stmt, Acct, Nm] => {
                if let Some(s) = &mut self.stmt {
                    s.header.account_name = some(v);
                }
            }
            [.., Stmt, Acct, Ownr, Nm] | [.., Stmt, Acct, Ownr, Pty, Nm] => {
                if let Some(s) = self.stmt.as_mut().filter(|s| s.header.account_name.is_none()) {
                    s.header.account_name = some(v);
                }
            }
            [.., Stmt, TxsSummry, TtlNtries, NbOfNtries] => {
                if let Some(s) = &mut self.stmt {
                    s.declared_entries = v.parse().ok();
                }
            }
            _ => {}
        }
        // Below Bal / Ntry / TxDtls: match the path relative to that element.
        if let Some(tx) = &mut self.tx {
            match &p[(tx.depth + 1).min(p.len())..] {
                [Refs, EndToEndId] => tx.end_to_end_id = some(v),
                [Refs, AcctSvcrRef] => tx.acct_svcr_ref = some(v),
                [AmtDtls, TxAmt, Amt] => tx.amounts[0] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [Amt] => tx.amounts[1] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [AmtDtls, CntrValAmt, Amt] => tx.amounts[2] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [AmtDtls, InstdAmt, Amt] => tx.amounts[3] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [CdtDbtInd] => tx.credit = Some(credit_debit(v, pos)?),
                [BkTxCd, rest @ ..] => set_btc(&mut tx.btc, rest, v),
                [Chrgs, rest @ ..] => set_charges(&mut tx.charges, rest, v, &self.attr_ccy, pos)?,
                [RltdPties, Dbtr, Nm] | [RltdPties, Dbtr, Pty, Nm] => tx.debtor.name = some(v),
                [RltdPties, Cdtr, Nm] | [RltdPties, Cdtr, Pty, Nm] => tx.creditor.name = some(v),
                [RltdPties, UltmtDbtr, Nm] | [RltdPties, UltmtDbtr, Pty, Nm] => tx.ultimate_debtor = some(v),
                [RltdPties, UltmtCdtr, Nm] | [RltdPties, UltmtCdtr, Pty, Nm] => tx.ultimate_creditor = some(v),
                [RltdPties, DbtrAcct, Id, Iban] => tx.debtor.iban = some(v),
                [RltdPties, CdtrAcct, Id, Iban] => tx.creditor.iban = some(v),
                [RltdPties, DbtrAcct, Id, Othr, Id] => tx.debtor.other_account = some(v),
                [RltdPties, CdtrAcct, Id, Othr, Id] => tx.creditor.other_account = some(v),
                [RmtInf, Ustrd] | [RmtInf, Strd, AddtlRmtInf] if !v.is_empty() => tx.ustrd.push(v.to_string()),
                [RmtInf, Strd, CdtrRefInf, Ref] => tx.creditor_reference = some(v),
                [AddtlTxInf] => tx.additional_info = some(v),
                _ => {}
            }
        } else if let Some(e) = &mut self.entry {
            match &p[(e.depth + 1).min(p.len())..] {
                [NtryRef] => e.ntry_ref = some(v),
                [Amt] => e.amount = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [AmtDtls, CntrValAmt, Amt] => e.amt_dtls[0] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [AmtDtls, TxAmt, Amt] => e.amt_dtls[1] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [AmtDtls, AnncdPstngAmt, Amt] => e.amt_dtls[2] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [AmtDtls, InstdAmt, Amt] => e.amt_dtls[3] = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [CdtDbtInd] => e.credit = Some(credit_debit(v, pos)?),
                [RvslInd] => e.reversal = v == "true" || v == "1",
                [Sts] if !v.is_empty() => e.status = some(v),
                [Sts, Cd | Prtry] => e.status = some(v),
                [BookgDt, Dt | DtTm] => e.booking_date = Some(date(v, pos)?),
                [ValDt, Dt | DtTm] => e.value_date = Some(date(v, pos)?),
                [AcctSvcrRef] => e.acct_svcr_ref = some(v),
                [AddtlNtryInf] => e.additional_info = some(v),
                [BkTxCd, rest @ ..] => set_btc(&mut e.btc, rest, v),
                [Chrgs, rest @ ..] => set_charges(&mut e.charges, rest, v, &self.attr_ccy, pos)?,
                _ => {}
            }
        } else if let Some(b) = &mut self.bal {
            match &p[(b.depth + 1).min(p.len())..] {
                [Tp, CdOrPrtry, Cd | Prtry] => b.code = some(v),
                [Amt] => b.amount = Some(xml_amount(v, &self.attr_ccy, pos)?),
                [CdtDbtInd] => b.credit = Some(credit_debit(v, pos)?),
                [Dt, Dt | DtTm] => b.date = Some(date(v, pos)?),
                _ => {}
            }
        }
        Ok(())
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
        let (Some(mut e), Some(stmt)) = (self.entry.take(), self.stmt.as_mut()) else {
            return Ok(());
        };
        stmt.entries += 1;
        let at = e.start;
        let reference = e.acct_svcr_ref.take().or_else(|| e.ntry_ref.take());
        // Only for messages; no allocation on the happy path.
        let shown = reference.as_deref().unwrap_or("(no reference)");
        let status = e.status.as_deref().unwrap_or("BOOK");
        if status != "BOOK" {
            let lines = e.txs.len().max(1);
            ctx.skip(format!(
                "byte {at}: entry {shown} has status {status}; skipped (only booked entries are imported)"
            ));
            // A skipped batch entry stands for all its transactions.
            for _ in 1..lines {
                ctx.skip(format!("byte {at}: entry {shown}: further transaction of the skipped entry"));
            }
            return Ok(());
        }
        stmt.booked_entries += 1;
        let (amount, currency) =
            e.amount.take().ok_or_else(|| ParseError::at_byte(at, format!("entry {shown} has no Amt")))?;
        let credit = e.credit.ok_or_else(|| ParseError::at_byte(at, format!("entry {shown} has no CdtDbtInd")))?;
        let booking_date = match (e.booking_date, e.value_date) {
            (Some(d), _) => d,
            (None, Some(v)) => {
                ctx.warn(format!("byte {at}: entry {shown} has no BookgDt; value date used"));
                v
            }
            (None, None) => return Err(ParseError::at_byte(at, format!("entry {shown} has no booking date"))),
        };
        // The amount in the account's currency: the balance moves by it, whatever the details say.
        let (booked, currency) = match stmt.booking_currency.as_deref() {
            Some(account) if account != currency => match counter_value(&e, account) {
                Some((value, source)) => {
                    ctx.warn(format!(
                        "byte {at}: entry {shown} is booked as {amount} {currency}; imported as {value} {account} \
                         ({source})"
                    ));
                    ctx.book(if credit { value } else { -value })?;
                    (value, account.to_string())
                }
                None => {
                    ctx.warn(format!(
                        "byte {at}: entry {shown} is booked as {amount} {currency} on an account in {account} and \
                         gives no amount in {account}; imported in {currency}"
                    ));
                    ctx.book_elsewhere();
                    (amount, currency)
                }
            },
            _ => {
                ctx.book(if credit { amount } else { -amount })?;
                (amount, currency)
            }
        };
        let signed = if credit { booked } else { -booked };
        let account = stmt.header.account().map(str::to_string);
        let base = |amount: Decimal, currency: String| {
            let mut line = ParsedLine::new(booking_date, amount, currency);
            line.value_date = e.value_date;
            line.account = account.clone();
            line.reversal = e.reversal;
            line.position = Some(Position::Byte(at));
            line
        };

        let n = e.txs.len();
        if n == 0 {
            let mut line = base(signed, currency);
            line.bank_reference = reference;
            line.bank_transaction_code = e.btc.code();
            line.additional_info = e.additional_info.clone();
            line.charges = e.charges.value();
            return ctx.line(line);
        }
        let split = match plan_split(&e, signed, &currency) {
            Ok(split) => split,
            Err(why) => {
                if n > 1 {
                    ctx.warn(format!("byte {at}: entry {shown} {why}; imported as one line of {signed} {currency}"));
                    let line = base(signed, currency);
                    return ctx.line(merged_line(e, line, reference));
                }
                // One transaction: its details describe the entry, the booked amount stands.
                ctx.warn(format!("byte {at}: entry {shown} {why}; the booked {signed} {currency} is imported"));
                Split { amounts: vec![signed], charges: vec![tx_charges(&e, 0)] }
            }
        };
        if split.amounts.len() == n && n > 1 {
            if let Some(w) = split_warning(&e, &split, signed) {
                ctx.warn(format!("byte {at}: entry {shown} {w}"));
            }
        }
        for (i, ((tx, amount), charges)) in e.txs.into_iter().zip(split.amounts).zip(split.charges).enumerate() {
            // Whose payment was it originally? A reversed credit (booked DBIT) still names the
            // payer as Dbtr, so pick the party by the original direction.
            let line_credit = if amount.is_zero() { credit } else { amount > Decimal::ZERO };
            let originally_credit = line_credit != e.reversal;
            let (party, ultimate) =
                if originally_credit { (tx.debtor, tx.ultimate_debtor) } else { (tx.creditor, tx.ultimate_creditor) };
            let mut line = base(amount, currency.clone());
            line.bank_reference = match (&reference, n) {
                (Some(r), 1) => Some(r.clone()),
                (Some(r), _) => Some(format!("{r}/{}", i + 1)),
                (None, _) => tx.acct_svcr_ref,
            };
            line.counterparty_name = party.name.or(ultimate);
            line.counterparty_iban = party.iban;
            line.counterparty_account = party.other_account;
            line.remittance = match tx.ustrd.len() {
                0 => None,
                1 => tx.ustrd.into_iter().next(),
                _ => Some(tx.ustrd.join(" ")),
            };
            line.creditor_reference = tx.creditor_reference;
            line.end_to_end_id = tx.end_to_end_id;
            line.bank_transaction_code = if tx.btc.is_empty() { e.btc.code() } else { tx.btc.code() };
            line.additional_info = tx.additional_info.or_else(|| e.additional_info.clone());
            line.charges = charges;
            ctx.line(line)?;
        }
        Ok(())
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

/// How a booked entry is divided among its transactions.
struct Split {
    /// Signed line amounts, one per `TxDtls`.
    amounts: Vec<Decimal>,
    /// Charges per line: a transaction's own, else the entry's on its first line only (so that
    /// the charges summed over the lines equal what the bank reported).
    charges: Vec<Option<Decimal>>,
}

/// Amounts for the entry's transactions, in the booking currency, that add up to `signed` (the
/// booked amount, possibly net of the charges). `Err` says why the entry cannot be split.
fn plan_split(e: &Entry, signed: Decimal, currency: &str) -> Result<Split, String> {
    let n = e.txs.len();
    let credit = e.credit.unwrap_or(signed >= Decimal::ZERO);
    let charges: Vec<Option<Decimal>> = (0..n).map(|i| tx_charges(e, i)).collect();
    let charges_sum: Decimal = charges.iter().flatten().sum();
    let adds_up = |sum: Decimal| sum == signed || sum - charges_sum == signed;
    if n == 1 {
        // One transaction: any of its amounts that is what was booked (gross or net of charges).
        let tx = &e.txs[0];
        let own = |a: Decimal| if tx.credit.unwrap_or(credit) { a } else { -a };
        let entry_dir = |a: Decimal| if credit { a } else { -a };
        if let Some(a) = in_currency(tx, currency).map(own).find(|a| adds_up(*a)) {
            return Ok(Split { amounts: vec![a], charges });
        }
        if let Some(a) = in_currency(tx, currency).map(entry_dir).find(|a| adds_up(*a)) {
            return Ok(Split { amounts: vec![a], charges });
        }
        return match in_currency(tx, currency).next() {
            Some(a) => Err(format!("books {signed} but its TxDtls says {}", own(a))),
            // Only amounts in other currencies (the instructed amount of an FX payment).
            None => Ok(Split { amounts: vec![signed], charges }),
        };
    }
    let mut magnitudes = Vec::with_capacity(n);
    for (i, tx) in e.txs.iter().enumerate() {
        match in_currency(tx, currency).next() {
            Some(a) => magnitudes.push(a),
            None if tx.amounts.iter().all(Option::is_none) => {
                return Err(format!("has {n} TxDtls and TxDtls {} of {n} has no amount", i + 1))
            }
            None => return Err(format!("has {n} TxDtls and TxDtls {} of {n} gives no amount in {currency}", i + 1)),
        }
    }
    let own: Vec<Decimal> =
        e.txs.iter().zip(&magnitudes).map(|(tx, a)| if tx.credit.unwrap_or(credit) { *a } else { -*a }).collect();
    let own_sum: Decimal = own.iter().sum();
    if adds_up(own_sum) {
        return Ok(Split { amounts: own, charges });
    }
    let entry_dir: Vec<Decimal> = magnitudes.iter().map(|a| if credit { *a } else { -*a }).collect();
    if adds_up(entry_dir.iter().sum()) {
        return Ok(Split { amounts: entry_dir, charges });
    }
    Err(format!("books {signed} but its {n} TxDtls add up to {own_sum} (charges {charges_sum})"))
}

/// A transaction's amounts in `currency`, in the order of [`TX_AMOUNT_SOURCES`].
fn in_currency<'t>(tx: &'t Tx, currency: &'t str) -> impl Iterator<Item = Decimal> + 't {
    tx.amounts.iter().flatten().filter(move |(_, c)| c == currency).map(|(a, _)| *a)
}

fn tx_charges(e: &Entry, i: usize) -> Option<Decimal> {
    e.txs[i].charges.value().or_else(|| if i == 0 { e.charges.value() } else { None })
}

/// Why a split that adds up still deserves a warning.
fn split_warning(e: &Entry, split: &Split, signed: Decimal) -> Option<String> {
    let contradicted = e
        .txs
        .iter()
        .zip(&split.amounts)
        .any(|(tx, a)| tx.credit.is_some_and(|c| c != (*a > Decimal::ZERO)) && !a.is_zero());
    if contradicted {
        let entry = if e.credit.unwrap_or(signed >= Decimal::ZERO) { "CRDT" } else { "DBIT" };
        return Some(format!("is {entry} but its TxDtls say otherwise; the entry's direction is used"));
    }
    None
}

/// A batch entry whose transactions cannot be told apart by amount, as one line: the entry's
/// amount, the parties when all transactions name the same one, and all their remittance texts.
fn merged_line(e: Entry, mut line: ParsedLine, reference: Option<String>) -> ParsedLine {
    const MAX_TEXT: usize = 4000;
    line.bank_reference = reference;
    line.bank_transaction_code = e.btc.code();
    line.additional_info = e.additional_info;
    line.charges = e.charges.value();
    let credit = e.credit.unwrap_or(line.amount >= Decimal::ZERO);
    let mut names = e.txs.iter().map(|tx| {
        let party = if credit != line.reversal { &tx.debtor } else { &tx.creditor };
        (party.name.as_deref(), party.iban.as_deref())
    });
    if let Some(first) = names.next() {
        if names.all(|n| n == first) {
            line.counterparty_name = first.0.map(str::to_string);
            line.counterparty_iban = first.1.map(str::to_string);
        }
    }
    let mut text = String::new();
    for part in e.txs.iter().flat_map(|tx| tx.ustrd.iter().chain(tx.creditor_reference.iter())) {
        if text.len() + part.len() + 2 > MAX_TEXT {
            break;
        }
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(part);
    }
    line.remittance = (!text.is_empty()).then_some(text);
    line
}

/// The entry's amount in the account's currency, from its `AmtDtls` (or those of its only
/// transaction), with where it was found.
fn counter_value(e: &Entry, account: &str) -> Option<(Decimal, String)> {
    let entry = e.amt_dtls.iter().zip(ENTRY_AMOUNT_SOURCES).find_map(|(m, src)| match m {
        Some((a, c)) if c == account => Some((*a, src.to_string())),
        _ => None,
    });
    let single_tx = || match e.txs.as_slice() {
        [tx] => tx.amounts.iter().zip(TX_AMOUNT_SOURCES).find_map(|(m, src)| match m {
            Some((a, c)) if c == account => Some((*a, format!("TxDtls/{src}"))),
            _ => None,
        }),
        _ => None,
    };
    entry.or_else(single_tx)
}

fn set_btc(btc: &mut Btc, rest: &[T], v: &str) {
    use T::*;
    match rest {
        [Domn, Cd] => btc.domain = some(v),
        [Domn, Fmly, Cd] => btc.family = some(v),
        [Domn, Fmly, SubFmlyCd] => btc.sub_family = some(v),
        [Prtry, Cd] => btc.proprietary = some(v),
        _ => {}
    }
}

fn set_charges(c: &mut Charges, rest: &[T], v: &str, ccy: &Option<String>, pos: u64) -> Result<(), ParseError> {
    use T::*;
    match rest {
        [TtlChrgsAndTaxAmt] => c.total = Some(xml_amount(v, ccy, pos)?.0),
        [Amt] | [Rcrd, Amt] => c.rec_amount = Some(xml_amount(v, ccy, pos)?.0),
        [CdtDbtInd] | [Rcrd, CdtDbtInd] => c.rec_credit = credit_debit(v, pos)?,
        _ => {}
    }
    Ok(())
}
