//! A quoted number that exists with two adjacent digits swapped and then matches the amount (and the payer).
//! Such a typo can masquerade as a part payment, a fee or an overpayment of the number as typed, so finding one
//! caps those readings.

use super::super::references::{transposed_variants, verify_key, KeyKind, RefStrength};
use super::build::ref_key;
use super::confidence::{BASE_TRANSPOSED, CAP_OUTDONE_BY_TYPO};
use super::hypothesis::{Ctx, Ev, HAlloc, Hit, Hyp};
use super::Engine;

impl Engine {
    pub(super) fn transposed_hyps(&self, ctx: &mut Ctx, hits: &[Hit], out: &mut Vec<Hyp>) {
        let Some(cur) = ctx.cur else { return };
        let found = self.transposed_hits(ctx, cur, hits);
        if !found.is_empty() {
            for h in out.iter_mut() {
                let stated = match h.rule {
                    "partial_payment" => self.scanner.hints.partial,
                    "early_payment_discount" => self.scanner.hints.discount,
                    "overpayment" | "short_payment_fee" => false,
                    _ => true,
                };
                if !stated {
                    h.conf = h.conf.min(CAP_OUTDONE_BY_TYPO);
                }
            }
        }
        for hit in found {
            let mut h = Hyp::new("transposed_digits", BASE_TRANSPOSED);
            let open = self.items[hit.item as usize].open_amount;
            h.allocs.push(HAlloc::plain(hit.item, open));
            h.evidence.push(Ev::Ref(hit.clone()));
            h.evidence.push(Ev::AmountEqual);
            let cust = self.meta[hit.item as usize].cust;
            out.push(self.with_payer(ctx, cust, h));
        }
    }

    /// Open debit documents in the line's currency, not quoted as such, whose number is a swapped-digit variant
    /// of a number-shaped text of the line and whose open amount equals the line.
    fn transposed_hits(&self, ctx: &Ctx, cur: u16, hits: &[Hit]) -> Vec<Hit> {
        let mut found: Vec<Hit> = Vec::new();
        let mut buf = String::new();
        for sh in &self.scanner.shaped {
            let key = self.scanner.key(&sh.key);
            let lead = &key[..key.bytes().take_while(u8::is_ascii_alphabetic).count()];
            if !self.prefixes.iter().any(|p| p == lead) {
                continue;
            }
            for v in transposed_variants(key) {
                for &it in self.refs.get(ref_key(KeyKind::Full, &v)) {
                    let item = &self.items[it as usize];
                    if self.meta[it as usize].cur != cur
                        || item.open_amount != ctx.amount
                        || !item.kind.is_debit()
                        || hits.iter().any(|h| h.item == it)
                        || found.iter().any(|h| h.item == it)
                        || verify_key(&item.doc_no, KeyKind::Full, &v, false, &mut buf).is_none()
                    {
                        continue;
                    }
                    found.push(Hit {
                        item: it,
                        strength: RefStrength::Transposed,
                        field: sh.field,
                        span: sh.span.clone(),
                    });
                }
            }
        }
        found
    }
}
