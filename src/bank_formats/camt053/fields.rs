//! Field ends: where the text of a closed element goes, by its path. Statement header fields
//! match the path's end; fields below a balance, an entry or a transaction match the path
//! relative to that element.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::entry::{set_btc, set_charges, Entry, Tx};
use super::tags::T::{self, *};
use super::{BalanceAcc, Stmt as Statement};
use crate::bank_formats::{check_currency, check_minor_units, parse_decimal, parse_iso_date, truncate, ParseError};

/// Group header and statement header fields.
pub(super) fn statement_field(
    group_created: &mut Option<String>,
    stmt: &mut Option<Statement>,
    p: &[T],
    v: &str,
    pos: u64,
) -> Result<(), ParseError> {
    match p {
        [.., GrpHdr, CreDtTm] => *group_created = some(v),
        [.., Container, Stmt, rest] => {
            if let Some(s) = stmt {
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
            if let Some(s) = stmt {
                s.header.account_iban = crate::bank_formats::normalize_account_id(v);
            }
        }
        [.., Stmt, Acct, Id, Othr, Id] => {
            if let Some(s) = stmt {
                s.header.account_number = some(v);
            }
        }
        [.., Stmt, Acct, Ccy] => {
            if let Some(s) = stmt {
                s.header.currency = Some(check_currency(v).map_err(|m| ParseError::at_byte(pos, m))?);
            }
        }
        [.., Stmt, Acct, Svcr, FinInstnId, Bic] => {
            if let Some(s) = stmt {
                s.header.servicer_bic = some(v);
            }
        }
        [.., Stmt, Acct, Svcr, FinInstnId, Nm] => {
            if let Some(s) = stmt {
                s.header.servicer_name = some(v);
            }
        }
        [.., Stmt, Acct, Nm] => {
            if let Some(s) = stmt {
                s.header.account_name = some(v);
            }
        }
        [.., Stmt, Acct, Ownr, Nm] | [.., Stmt, Acct, Ownr, Pty, Nm] => {
            if let Some(s) = stmt.as_mut().filter(|s| s.header.account_name.is_none()) {
                s.header.account_name = some(v);
            }
        }
        [.., Stmt, TxsSummry, TtlNtries, NbOfNtries] => {
            if let Some(s) = stmt {
                s.declared_entries = v.parse().ok();
            }
        }
        _ => {}
    }
    Ok(())
}

/// A field of a transaction (`TxDtls`); `rel` is the path below it.
pub(super) fn tx_field(tx: &mut Tx, rel: &[T], v: &str, ccy: &Option<String>, pos: u64) -> Result<(), ParseError> {
    match rel {
        [Refs, EndToEndId] => tx.end_to_end_id = some(v),
        [Refs, AcctSvcrRef] => tx.acct_svcr_ref = some(v),
        [AmtDtls, TxAmt, Amt] => tx.amounts[0] = Some(xml_amount(v, ccy, pos)?),
        [Amt] => tx.amounts[1] = Some(xml_amount(v, ccy, pos)?),
        [AmtDtls, CntrValAmt, Amt] => tx.amounts[2] = Some(xml_amount(v, ccy, pos)?),
        [AmtDtls, InstdAmt, Amt] => tx.amounts[3] = Some(xml_amount(v, ccy, pos)?),
        [CdtDbtInd] => tx.credit = Some(credit_debit(v, pos)?),
        [BkTxCd, rest @ ..] => set_btc(&mut tx.btc, rest, v),
        [Chrgs, rest @ ..] => set_charges(&mut tx.charges, rest, v, ccy, pos)?,
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
    Ok(())
}

/// A field of an entry (`Ntry`) outside its transactions; `rel` is the path below it.
pub(super) fn entry_field(e: &mut Entry, rel: &[T], v: &str, ccy: &Option<String>, pos: u64) -> Result<(), ParseError> {
    match rel {
        [NtryRef] => e.ntry_ref = some(v),
        [Amt] => e.amount = Some(xml_amount(v, ccy, pos)?),
        [AmtDtls, CntrValAmt, Amt] => e.amt_dtls[0] = Some(xml_amount(v, ccy, pos)?),
        [AmtDtls, TxAmt, Amt] => e.amt_dtls[1] = Some(xml_amount(v, ccy, pos)?),
        [AmtDtls, AnncdPstngAmt, Amt] => e.amt_dtls[2] = Some(xml_amount(v, ccy, pos)?),
        [AmtDtls, InstdAmt, Amt] => e.amt_dtls[3] = Some(xml_amount(v, ccy, pos)?),
        [CdtDbtInd] => e.credit = Some(credit_debit(v, pos)?),
        [RvslInd] => e.reversal = v == "true" || v == "1",
        [Sts] if !v.is_empty() => e.status = some(v),
        [Sts, Cd | Prtry] => e.status = some(v),
        [BookgDt, Dt | DtTm] => e.booking_date = Some(date(v, pos)?),
        [ValDt, Dt | DtTm] => e.value_date = Some(date(v, pos)?),
        [AcctSvcrRef] => e.acct_svcr_ref = some(v),
        [AddtlNtryInf] => e.additional_info = some(v),
        [BkTxCd, rest @ ..] => set_btc(&mut e.btc, rest, v),
        [Chrgs, rest @ ..] => set_charges(&mut e.charges, rest, v, ccy, pos)?,
        _ => {}
    }
    Ok(())
}

/// A field of a balance (`Bal`); `rel` is the path below it.
pub(super) fn balance_field(
    b: &mut BalanceAcc,
    rel: &[T],
    v: &str,
    ccy: &Option<String>,
    pos: u64,
) -> Result<(), ParseError> {
    match rel {
        [Tp, CdOrPrtry, Cd | Prtry] => b.code = some(v),
        [Amt] => b.amount = Some(xml_amount(v, ccy, pos)?),
        [CdtDbtInd] => b.credit = Some(credit_debit(v, pos)?),
        [Dt, Dt | DtTm] => b.date = Some(date(v, pos)?),
        _ => {}
    }
    Ok(())
}

pub(super) fn xml_amount(text: &str, ccy: &Option<String>, pos: u64) -> Result<(Decimal, String), ParseError> {
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

pub(super) fn credit_debit(text: &str, pos: u64) -> Result<bool, ParseError> {
    match text {
        "CRDT" => Ok(true),
        "DBIT" => Ok(false),
        other => Err(ParseError::at_byte(pos, format!("CdtDbtInd '{}' is neither CRDT nor DBIT", truncate(other, 40)))),
    }
}

pub(super) fn date(text: &str, pos: u64) -> Result<NaiveDate, ParseError> {
    parse_iso_date(text).map_err(|m| ParseError::at_byte(pos, m))
}

pub(super) fn some(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}
