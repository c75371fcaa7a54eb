//! The words customers' systems use for document types, column headers and summary rows, in the
//! languages our customers write (Chinese, English, German, French, Italian, Spanish, Dutch).
//! Words are compared normalised: lower case, letters and digits only ("Credit Memo",
//! "credit_memo" and "CREDITMEMO" are one word).

use crate::domain::document::DocType;
use std::collections::BTreeMap;

/// Lower case, letters and digits only (any script).
pub fn normalise_word(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

const INVOICE: &[&str] = &[
    "invoice",
    "inv",
    "bill",
    "vendorinvoice",
    "purchaseinvoice",
    "apinvoice",
    "taxinvoice",
    "invoicereceived",
    "rechnung",
    "re",
    "eingangsrechnung",
    "lieferantenrechnung",
    "kreditorenrechnung",
    "facture",
    "fact",
    "facturefournisseur",
    "fattura",
    "factura",
    "factuur",
    "faktura",
    "发票",
    "增值税发票",
    "增值税专用发票",
    "专用发票",
    "普通发票",
    "采购发票",
    "进项发票",
    "应付发票",
    "开票",
    "挂账",
    "应付账款",
    "账单",
    "请求书",
    "請求書",
];
const CREDIT_NOTE: &[&str] = &[
    "creditnote",
    "creditmemo",
    "credit",
    "cn",
    "cm",
    "gutschrift",
    "rechnungskorrektur",
    "avoir",
    "notedecredit",
    "notadicredito",
    "notadecredito",
    "abono",
    "creditnota",
    "红字发票",
    "红字",
    "红冲",
    "贷项通知单",
    "折让",
    "退货",
    "销售折让",
];
const PAYMENT: &[&str] = &[
    "payment",
    "pmt",
    "paid",
    "pay",
    "remittance",
    "banktransfer",
    "transfer",
    "wire",
    "cheque",
    "check",
    "outgoingpayment",
    "zahlung",
    "bezahlung",
    "überweisung",
    "ueberweisung",
    "zahlungsausgang",
    "paiement",
    "règlement",
    "reglement",
    "virement",
    "pagamento",
    "pago",
    "betaling",
    "付款",
    "支付",
    "已付",
    "付款单",
    "银行付款",
    "汇款",
    "电汇",
    "转账",
    "银行承兑汇票",
    "承兑汇票",
    "承兑",
    "票据",
];
const ADJUSTMENT: &[&str] = &[
    "adjustment",
    "adj",
    "correction",
    "journal",
    "writeoff",
    "korrektur",
    "umbuchung",
    "ajustement",
    "régularisation",
    "regularisation",
    "rettifica",
    "ajuste",
    "调整",
    "调账",
    "差异调整",
];

/// Rows that summarise instead of recording (totals, balances carried): not lines of the statement.
const SUMMARY: &[&str] = &[
    "total",
    "subtotal",
    "sum",
    "summe",
    "gesamt",
    "gesamtsumme",
    "zwischensumme",
    "totalgeneral",
    "totalgénéral",
    "openingbalance",
    "closingbalance",
    "balancebroughtforward",
    "balancecarriedforward",
    "balancebf",
    "balancecf",
    "saldovortrag",
    "anfangssaldo",
    "endsaldo",
    "anfangsbestand",
    "soldeinitial",
    "soldefinal",
    "report",
    "合计",
    "小计",
    "总计",
    "本期合计",
    "本年累计",
    "累计",
    "期初余额",
    "期末余额",
    "上期结转",
    "承前页",
    "过次页",
];

/// Built-in document type words plus a mapping's own (which win).
pub struct Vocabulary {
    words: BTreeMap<String, DocType>,
}

impl Vocabulary {
    pub fn new(extra: &BTreeMap<String, DocType>) -> Vocabulary {
        let mut words = BTreeMap::new();
        for (list, kind) in [
            (INVOICE, DocType::Invoice),
            (CREDIT_NOTE, DocType::CreditNote),
            (PAYMENT, DocType::Payment),
            (ADJUSTMENT, DocType::Adjustment),
        ] {
            for w in list {
                words.insert(normalise_word(w), kind);
            }
        }
        for t in DocType::ALL {
            words.insert(normalise_word(t.as_str()), t);
        }
        for (w, kind) in extra {
            words.insert(normalise_word(w), *kind);
        }
        Vocabulary { words }
    }

    /// The document type a word stands for: the whole word, else the one kind the words it
    /// contains agree on ("Eingangsrechnung", "增值税专用发票"); a credit marker on an invoice
    /// word ("红字增值税发票") makes a credit note.
    pub fn kind(&self, word: &str) -> Option<DocType> {
        let w = normalise_word(word);
        if w.is_empty() {
            return None;
        }
        if let Some(k) = self.words.get(&w) {
            return Some(*k);
        }
        let mut found: Vec<DocType> = Vec::new();
        for (entry, kind) in &self.words {
            let long_enough = if entry.is_ascii() { entry.len() >= 4 } else { entry.chars().count() >= 2 };
            if long_enough && w.contains(entry.as_str()) && !found.contains(kind) {
                found.push(*kind);
            }
        }
        match found[..] {
            [k] => Some(k),
            [a, b] if [a, b].contains(&DocType::Invoice) && [a, b].contains(&DocType::CreditNote) => {
                Some(DocType::CreditNote)
            }
            _ => None,
        }
    }
}

/// Whether a cell says its row is a total or a balance carried, not a line. (The list is
/// written normalised, so a cell is normalised once and compared as is.)
pub fn is_summary(cell: &str) -> bool {
    if cell.is_empty() || cell.len() > 48 {
        return false;
    }
    let w = normalise_word(cell);
    SUMMARY.contains(&w.as_str())
}

/// The role a header names, if it is one we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Date,
    TheirRef,
    OurRef,
    Text,
    DocType,
    Amount,
    Debit,
    Credit,
    Indicator,
    Currency,
    CustomerCode,
}

const HEADERS: &[(Role, &[&str])] = &[
    (
        Role::Date,
        &[
            "date",
            "datum",
            "belegdatum",
            "buchungsdatum",
            "documentdate",
            "postingdate",
            "docdate",
            "invoicedate",
            "rechnungsdatum",
            "transactiondate",
            "entrydate",
            "bookingdate",
            "datecomptable",
            "datedelapiece",
            "data",
            "fecha",
            "日期",
            "凭证日期",
            "记账日期",
            "业务日期",
            "单据日期",
            "开票日期",
            "发票日期",
            "交易日期",
            "入账日期",
        ],
    ),
    (
        Role::TheirRef,
        &[
            "theirref",
            "reference",
            "ref",
            "documentno",
            "documentnumber",
            "docno",
            "voucher",
            "voucherno",
            "belegnummer",
            "belegnr",
            "beleg",
            "pièce",
            "piece",
            "npièce",
            "numéropièce",
            "numeropiece",
            "entryno",
            "journalno",
            "transactionno",
            "凭证号",
            "凭证编号",
            "凭证字号",
            "单据号",
            "单据编号",
            "单号",
            "编号",
        ],
    ),
    (
        Role::OurRef,
        &[
            "ourref",
            "vendorinvoice",
            "vendorinvoiceno",
            "vendorinvoicenumber",
            "invoiceno",
            "invoicenumber",
            "invoice",
            "externaldocumentno",
            "externaldocno",
            "rechnungsnr",
            "rechnungsnummer",
            "ihrerechnung",
            "fremdbelegnummer",
            "nfacture",
            "numérofacture",
            "numerofacture",
            "facture",
            "发票号",
            "发票号码",
            "对方单号",
            "供应商发票号",
            "外部单号",
        ],
    ),
    (
        Role::Text,
        &[
            "text",
            "description",
            "memo",
            "narrative",
            "remark",
            "remarks",
            "comment",
            "details",
            "particulars",
            "buchungstext",
            "verwendungszweck",
            "bezeichnung",
            "beschreibung",
            "libellé",
            "libelle",
            "descrizione",
            "摘要",
            "备注",
            "说明",
            "内容",
            "描述",
        ],
    ),
    (
        Role::DocType,
        &[
            "kind",
            "type",
            "doctype",
            "documenttype",
            "transactiontype",
            "entrytype",
            "belegart",
            "buchungsart",
            "typ",
            "typedepièce",
            "typedepiece",
            "类型",
            "单据类型",
            "业务类型",
            "凭证类型",
            "类别",
        ],
    ),
    (
        Role::Amount,
        &["amount", "betrag", "montant", "importo", "importe", "bedrag", "金额", "发生额", "本币金额", "原币金额"],
    ),
    (Role::Debit, &["debit", "dr", "soll", "débit", "debe", "dare", "借方", "借方金额", "借", "debitamount"]),
    (Role::Credit, &["credit", "cr", "haben", "crédit", "haber", "avere", "贷方", "贷方金额", "贷", "creditamount"]),
    (Role::Indicator, &["dc", "debitcredit", "sollhaben", "sh", "借贷", "借贷方向", "方向"]),
    (
        Role::Currency,
        &[
            "currency",
            "cur",
            "ccy",
            "currencycode",
            "währung",
            "waehrung",
            "devise",
            "valuta",
            "moneda",
            "币种",
            "币别",
            "货币",
        ],
    ),
    (Role::CustomerCode, &["customercode"]),
];

/// The role a column header stands for; a unit in brackets ("金额(元)", "Betrag (EUR)") is not
/// part of the name.
pub fn header_role(header: &str) -> Option<Role> {
    let name: String = {
        let mut depth = 0usize;
        header
            .chars()
            .filter(|c| {
                match c {
                    '(' | '（' | '[' | '【' => depth += 1,
                    ')' | '）' | ']' | '】' => depth = depth.saturating_sub(1),
                    _ => return depth == 0,
                }
                false
            })
            .collect()
    };
    let w = normalise_word(&name);
    HEADERS.iter().find(|(_, words)| words.iter().any(|x| normalise_word(x) == w)).map(|(r, _)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_many_languages() {
        let v = Vocabulary::new(&BTreeMap::new());
        for (word, kind) in [
            ("发票", DocType::Invoice),
            ("增值税专用发票", DocType::Invoice),
            ("红字增值税发票", DocType::CreditNote),
            ("付款", DocType::Payment),
            ("Rechnung", DocType::Invoice),
            ("Eingangsrechnung", DocType::Invoice),
            ("Zahlung", DocType::Payment),
            ("Zahlungsausgang", DocType::Payment),
            ("Gutschrift", DocType::CreditNote),
            ("Credit Memo", DocType::CreditNote),
            ("credit_note", DocType::CreditNote),
            ("INVOICE", DocType::Invoice),
            ("Règlement", DocType::Payment),
        ] {
            assert_eq!(v.kind(word), Some(kind), "{word}");
        }
        assert_eq!(v.kind("Lieferschein"), None);
        assert_eq!(v.kind(""), None);
        let mine = BTreeMap::from([("LS".to_string(), DocType::Invoice), ("Zahlung".to_string(), DocType::Adjustment)]);
        let v = Vocabulary::new(&mine);
        assert_eq!((v.kind("ls"), v.kind("zahlung")), (Some(DocType::Invoice), Some(DocType::Adjustment)));
    }

    #[test]
    fn headers_and_summaries() {
        assert_eq!(header_role("借方金额"), Some(Role::Debit));
        assert_eq!(header_role("Belegnr."), Some(Role::TheirRef));
        assert_eq!(header_role("Posting Date"), Some(Role::Date));
        assert_eq!(header_role("our_ref"), Some(Role::OurRef));
        assert_eq!(header_role("Saldo"), None);
        assert_eq!(header_role("金额（元）"), Some(Role::Amount));
        assert_eq!(header_role("Betrag (EUR)"), Some(Role::Amount));
        assert!(is_summary("合计") && is_summary("Total") && !is_summary("Totalschaden"));
        assert!(is_summary("Opening Balance") && is_summary("Total général"));
        assert!(SUMMARY.iter().all(|s| normalise_word(s) == *s), "the list is written normalised");
    }
}
