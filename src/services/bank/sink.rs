//! The two threads of an import: the parser's sink turns parsed lines into rows (and new accounts
//! into account rows) and hands them over in batches; the writer, on the transaction's
//! connection, inserts them and finds out which lines were already there. Parsing and the
//! database's work overlap, and memory does not grow with the file (but for the occurrence
//! counts, about 10 bytes a line).

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{PgConnection, QueryResult};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::StatementPart;
use crate::bank_formats::{self, ParseError, ParsedLine, Position, StatementHeader, StatementSink, MAX_WARNINGS};
use crate::db::bank::{self as bank_db, BankAccount, BankLine};
use crate::domain::bank_line::{dedupe_key, fingerprint, LineContent, Occurrences};
use crate::domain::customer::normalize_account;
use crate::domain::money::{format_amount, Currency};

/// Lines are written in batches of this size while the file is still being parsed.
pub(super) const BATCH: usize = 5000;

/// Batches parsed but not yet written: the parser runs this far ahead of the database.
pub(super) const BATCHES_IN_FLIGHT: usize = 4;

/// Skipped lines listed in an answer (all are counted).
pub(super) const MAX_LISTED: usize = 1000;

/// What the parsing thread asks the writing thread to write, in file order.
pub(super) enum Write {
    /// An account the file names, registered by this import.
    Account(Box<BankAccount>),
    Lines(Batch),
}

#[derive(Default)]
pub(super) struct Batch {
    lines: Vec<BankLine>,
    positions: Vec<Option<Position>>,
}

/// A line of the file not imported because it was imported before.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DuplicateLine {
    /// The bank's reference of the line, if it has one.
    pub line_id: Option<String>,
    /// Where the line is in the file ("line 14", "byte 5012").
    pub position: Option<String>,
    pub bank_account: String,
    pub booking_date: NaiveDate,
    pub amount: String,
    pub currency: String,
    /// Why it was skipped.
    pub reason: String,
    /// The bank line it repeats, and the statement file that brought it.
    pub existing_line_id: Uuid,
    pub existing_statement_id: Uuid,
}

/// What the writer did.
#[derive(Default)]
pub(super) struct Written {
    pub inserted: u64,
    pub duplicates: Vec<DuplicateLine>,
}

/// Writes accounts and batches from the parsing thread until it is done (or fails). On a
/// database error it returns at once, which stops the parser at its next batch.
pub(super) fn write_all(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    statement_id: Uuid,
    mut account_ids: HashMap<Uuid, String>,
    writes: Receiver<Write>,
) -> QueryResult<Written> {
    let mut out = Written::default();
    for w in writes {
        match w {
            Write::Account(a) => {
                bank_db::insert_account(conn, &a)?;
                account_ids.insert(a.id, a.account_id.clone());
            }
            Write::Lines(batch) => {
                let inserted = bank_db::insert_new_lines(conn, &batch.lines)?;
                out.inserted += inserted as u64;
                if inserted < batch.lines.len() && out.duplicates.len() < MAX_LISTED {
                    for (i, id, statement) in bank_db::already_imported(conn, tenant_id, statement_id, &batch.lines)? {
                        if out.duplicates.len() >= MAX_LISTED {
                            break;
                        }
                        let l = &batch.lines[i];
                        out.duplicates.push(DuplicateLine {
                            line_id: l.bank_reference.clone(),
                            position: batch.positions[i].map(|p| p.to_string()),
                            bank_account: account_ids.get(&l.bank_account_id).cloned().unwrap_or_default(),
                            booking_date: l.booking_date,
                            amount: format_amount(&l.currency, l.amount),
                            currency: l.currency.clone(),
                            reason: if l.bank_reference.is_some() {
                                "already imported: same reference, date, amount, counterparty and texts".into()
                            } else {
                                "already imported: same date, amount, counterparty and texts (no reference)".into()
                            },
                            existing_line_id: id,
                            existing_statement_id: statement,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// What the file says about the account of the statement being read, for registering it.
#[derive(Default)]
struct Named {
    account: Option<String>,
    currency: Option<String>,
    bic: Option<String>,
    bank_name: Option<String>,
    name: Option<String>,
}

/// Runs on the parsing thread: turns parsed lines into rows and hands them to the writing thread
/// in batches.
pub(super) struct ImportSink {
    /// `None` once closed: dropping the sender is what ends the writer's loop.
    writes: Option<SyncSender<Write>>,
    pub tenant_id: Uuid,
    pub statement_id: Uuid,
    /// The tenant's accounts by account identifier, and those this import registers.
    pub accounts: HashMap<String, BankAccount>,
    pub forced_account: Option<BankAccount>,
    /// Accounts the file names that are not registered are registered (else they are an error).
    pub register: bool,
    pub created: Vec<BankAccount>,
    pub now: DateTime<Utc>,
    named: Named,
    pending: Batch,
    occurrences: Occurrences,
    pub seen: u64,
    pub parts: Vec<StatementPart>,
    part_lines: u64,
    /// The sink's own findings (lines in another currency than their account).
    pub warnings: Vec<String>,
    pub suppressed_warnings: usize,
}

impl ImportSink {
    pub(super) fn new(
        writes: SyncSender<Write>,
        tenant_id: Uuid,
        statement_id: Uuid,
        accounts: HashMap<String, BankAccount>,
        forced_account: Option<BankAccount>,
        register: bool,
    ) -> Self {
        ImportSink {
            writes: Some(writes),
            tenant_id,
            statement_id,
            accounts,
            forced_account,
            register,
            created: Vec::new(),
            now: Utc::now(),
            named: Named::default(),
            pending: Batch { lines: Vec::with_capacity(BATCH), positions: Vec::with_capacity(BATCH) },
            occurrences: Occurrences::default(),
            seen: 0,
            parts: Vec::new(),
            part_lines: 0,
            warnings: Vec::new(),
            suppressed_warnings: 0,
        }
    }

    fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.suppressed_warnings += 1;
        }
    }

    /// The account lines named `named` are booked on: the forced one, a registered one, or one
    /// registered now (when allowed) in `currency`.
    fn account_for(&mut self, named: Option<&str>, currency: Option<&str>) -> Result<&BankAccount, ParseError> {
        if let Some(forced) = &self.forced_account {
            if let Some(named) = named.and_then(|n| normalize_account(n).ok()) {
                if named != forced.account_id {
                    return Err(ParseError::new(format!(
                        "the file is for account {named}, not {} given in bank_account",
                        forced.account_id
                    )));
                }
            }
            return Ok(forced);
        }
        let named = named.ok_or_else(|| {
            ParseError::new("the file does not say which account it is for: pass ?bank_account=<account id>")
        })?;
        let key = normalize_account(named).map_err(ParseError::new)?;
        if !self.accounts.contains_key(&key) {
            if !self.register {
                return Err(ParseError::new(format!(
                    "unknown bank account {key}: register it first with POST /api/v1/bank-accounts, \
                     or import with ?register_accounts=true"
                )));
            }
            let currency = self.named.currency.as_deref().or(currency).ok_or_else(|| {
                ParseError::new(format!("account {key} cannot be registered: the file does not give its currency"))
            })?;
            let currency = Currency::parse_including_withdrawn(currency).map_err(|e| ParseError::new(e.to_string()))?;
            let account = BankAccount {
                id: Uuid::now_v7(),
                tenant_id: self.tenant_id,
                account_id: key.clone(),
                currency: currency.code().to_string(),
                bank_name: self.named.bank_name.clone(),
                name: self.named.name.clone(),
                csv_mapping: None,
                created_at: self.now,
                updated_at: self.now,
                bic: self.named.bic.clone(),
            };
            // The account row is written before any line that references it (channel order).
            self.send(Write::Account(Box::new(account.clone())))?;
            self.created.push(account.clone());
            self.accounts.insert(key.clone(), account);
        }
        Ok(&self.accounts[&key])
    }

    /// The account of a line that names `named` (else the statement's account), when it is the
    /// forced one or already known; `None` when it has to be registered or refused (see
    /// [`ImportSink::account_for`]). Looks the name up as written first: most files write the
    /// account as it was registered, so no line pays for normalising it.
    fn known_account(&self, named: Option<&str>) -> Option<Result<&BankAccount, ParseError>> {
        let named = named.or(self.named.account.as_deref());
        if let Some(forced) = &self.forced_account {
            return match named {
                Some(n) if n != forced.account_id && normalize_account(n).ok()? != forced.account_id => None,
                _ => Some(Ok(forced)),
            };
        }
        let named = named?;
        match self.accounts.get(named) {
            Some(a) => Some(Ok(a)),
            None => self.accounts.get(&normalize_account(named).ok()?).map(Ok),
        }
    }

    /// Fails only when the writer stopped on a database error, which is what gets reported.
    fn send(&self, w: Write) -> Result<(), ParseError> {
        let stopped = || ParseError::new("database: the import stopped");
        self.writes.as_ref().ok_or_else(stopped)?.send(w).map_err(|_| stopped())
    }

    /// No more writes: the writer finishes what it has and returns.
    pub(super) fn close(&mut self) {
        self.writes = None;
    }

    pub(super) fn flush(&mut self) -> Result<(), ParseError> {
        if self.pending.lines.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(
            &mut self.pending,
            Batch { lines: Vec::with_capacity(BATCH), positions: Vec::with_capacity(BATCH) },
        );
        self.send(Write::Lines(batch))
    }

    fn row(&mut self, line: ParsedLine, account_id: Uuid, currency: Currency) -> Result<(), ParseError> {
        let shown = || line.position.map_or_else(|| "a line".to_string(), |p| p.to_string());
        let amount = currency.check_amount(line.amount).map_err(|e| ParseError::new(format!("{}: {e}", shown())))?;
        let fp = fingerprint(&LineContent {
            reference: line.bank_reference.as_deref(),
            booking_date: line.booking_date,
            amount,
            currency: currency.code(),
            counterparty_name: line.counterparty_name.as_deref(),
            counterparty_iban: line.counterparty_iban.as_deref(),
            counterparty_account: line.counterparty_account.as_deref(),
            remittance: line.remittance.as_deref(),
            creditor_reference: line.creditor_reference.as_deref(),
            end_to_end_id: line.end_to_end_id.as_deref(),
        });
        let occurrence = self.occurrences.next(account_id, &fp);
        self.pending.positions.push(line.position);
        self.pending.lines.push(BankLine {
            id: Uuid::now_v7(),
            tenant_id: self.tenant_id,
            bank_account_id: account_id,
            statement_id: self.statement_id,
            dedupe_key: dedupe_key(&fp, occurrence),
            bank_reference: line.bank_reference,
            booking_date: line.booking_date,
            value_date: line.value_date,
            amount,
            currency: currency.code().to_string(),
            counterparty_name: line.counterparty_name,
            counterparty_iban: line.counterparty_iban,
            counterparty_account: line.counterparty_account,
            remittance: line.remittance,
            creditor_reference: line.creditor_reference,
            end_to_end_id: line.end_to_end_id,
            bank_transaction_code: line.bank_transaction_code,
            additional_info: line.additional_info,
            reversal: line.reversal,
            charges: line.charges,
            status: crate::domain::bank_line::BankLineStatus::Unapplied,
            applied_amount: Decimal::ZERO,
            created_at: self.now,
        });
        self.seen += 1;
        self.part_lines += 1;
        if self.pending.lines.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }
}

impl StatementSink for ImportSink {
    fn begin_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        self.named = Named {
            account: header.account().map(str::to_string),
            currency: header.currency.clone(),
            bic: header.servicer_bic.clone(),
            bank_name: header.servicer_name.clone(),
            name: header.account_name.clone(),
        };
        self.part_lines = 0;
        // A statement naming its account and currency is checked (or its account registered)
        // before any line; one without currency waits for its first line.
        if self.named.account.is_some() || self.forced_account.is_some() {
            let (named, currency) = (self.named.account.clone(), header.currency.clone());
            if currency.is_some() || self.forced_account.is_some() || !self.register {
                let account = self.account_for(named.as_deref(), currency.as_deref())?;
                if let Some(cur) = &currency {
                    if *cur != account.currency {
                        return Err(ParseError::new(format!(
                            "statement currency {cur} differs from account {} currency {}",
                            account.account_id, account.currency
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn line(&mut self, line: ParsedLine) -> Result<(), ParseError> {
        let currency =
            Currency::parse_including_withdrawn(&line.currency).map_err(|e| ParseError::new(e.to_string()))?;
        // The usual case without allocating: an account already known, by the name as written.
        let (account_id, other_currency) = match self.known_account(line.account.as_deref()) {
            Some(Ok(a)) => (a.id, (a.currency != currency.code()).then(|| (a.account_id.clone(), a.currency.clone()))),
            Some(Err(e)) => return Err(e),
            None => {
                let named = line.account.clone().or_else(|| self.named.account.clone());
                let a = self.account_for(named.as_deref(), Some(&line.currency))?;
                (a.id, (a.currency != currency.code()).then(|| (a.account_id.clone(), a.currency.clone())))
            }
        };
        if let Some((account, account_currency)) = other_currency {
            // A multi-currency account's row, or an entry with no amount in the account's
            // currency: kept in its own currency, never converted by a guess.
            let at = line.position.map_or_else(|| "a line".to_string(), |p| p.to_string());
            self.warn(format!(
                "{at}: {} {} on account {account} in {account_currency}; imported in {}",
                line.amount,
                currency.code(),
                currency.code()
            ));
        }
        self.row(line, account_id, currency)
    }

    fn end_statement(&mut self, header: &StatementHeader) -> Result<(), ParseError> {
        let cur = header.currency.clone().or_else(|| header.closing_balance.as_ref().map(|b| b.currency.clone()));
        let fmt = |b: &Option<bank_formats::Balance>| b.as_ref().map(|b| format_amount(&b.currency, b.amount));
        self.parts.push(StatementPart {
            account_id: header.account().and_then(|a| normalize_account(a).ok()),
            statement_id: header.statement_id.clone(),
            opening_balance: fmt(&header.opening_balance),
            closing_balance: fmt(&header.closing_balance),
            currency: cur,
            lines: self.part_lines,
        });
        Ok(())
    }

    fn account_currency(&mut self, account: Option<&str>) -> Option<String> {
        if let Some(forced) = &self.forced_account {
            return Some(forced.currency.clone());
        }
        let key = normalize_account(account?).ok()?;
        self.accounts.get(&key).map(|a| a.currency.clone())
    }
}
