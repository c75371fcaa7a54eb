//! The camt element names the parser reacts to, and the fast mapping from a local name to them.

/// Element names we react to. Everything else is `Other`, which still takes a
/// place in the path so that suffix patterns only match real parent chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum T {
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
pub(super) fn tag(local: &str) -> T {
    let b = local.as_bytes();
    if b.len() <= 5 {
        short_tag(b)
    } else {
        long_tag(b)
    }
}

/// Names of 2 to 5 bytes: the leaves (`Id`, `Amt`, `Nm` ...) and the short containers.
#[inline]
fn short_tag(b: &[u8]) -> T {
    use T::*;
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
        _ => Other,
    }
}

/// Names of 6 bytes or more: headers, containers and the longer fields.
#[inline]
fn long_tag(b: &[u8]) -> T {
    use T::*;
    match b.len() {
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
