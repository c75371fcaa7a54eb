//! The payer: how well the line's IBAN or name fits a customer, the confidence adjustment for it, and the
//! evidence sentence a reviewer reads.

use super::super::names::name_similarity;
use super::confidence::{payer_adjustment, PayerFit};
use super::hypothesis::{Ctx, Hyp};
use super::{Engine, NO_CUSTOMER};

impl Engine {
    /// The fit of the line's payer with customer `cust`, cached in `ctx` (names are costly to compare).
    pub(super) fn payer_fit(&self, ctx: &mut Ctx, cust: u32) -> PayerFit {
        if let Some((_, f)) = ctx.fits[..ctx.n_fits].iter().find(|(c, _)| *c == cust) {
            return *f;
        }
        let fit = if cust == NO_CUSTOMER {
            PayerFit::Unknown
        } else if ctx.iban_custs.contains(&cust) {
            PayerFit::Iban
        } else if !ctx.iban_custs.is_empty() {
            self.group_fit_iban(ctx, cust).unwrap_or(PayerFit::Conflict)
        } else {
            let similarity = ctx
                .name()
                .map(|n| self.cust_names[cust as usize].iter().map(|c| name_similarity(n, c)).fold(0.0, f64::max));
            match similarity {
                None => PayerFit::Unknown,
                // Bank renderings of the right name score >= 0.85 (case, truncation, legal form); anything
                // clearly below is another party's name (or another member's of the customer's group).
                Some(s) if s >= 0.75 => PayerFit::Name(s),
                Some(_) => self.group_fit_name(ctx, cust).unwrap_or(PayerFit::Mismatch),
            }
        };
        let fit = self.learned_fit(ctx, cust, fit);
        if ctx.n_fits < ctx.fits.len() {
            ctx.fits[ctx.n_fits] = (cust, fit);
            ctx.n_fits += 1;
        }
        fit
    }

    pub(super) fn payer_evidence(&self, ctx: &Ctx, cust: u32, fit: PayerFit) -> Option<String> {
        let cname = |c: u32| self.customers.get(c as usize).map_or("?", |c| c.name.as_str());
        let bank_name = ctx.line.counterparty_name.as_deref().unwrap_or("");
        match fit {
            PayerFit::Iban => {
                Some(text!(96, "payer IBAN {} belongs to customer {}", ctx.iban.as_deref().unwrap_or(""), cname(cust)))
            }
            PayerFit::Name(s) => Some(text!(96, "payer name '{bank_name}' matches customer {} ({s:.2})", cname(cust))),
            PayerFit::Mismatch => Some(format!("payer name '{bank_name}' does not resemble customer {}", cname(cust))),
            PayerFit::Conflict => Some(format!(
                "payer IBAN {} belongs to another customer ({}), not {}",
                ctx.iban.as_deref().unwrap_or(""),
                ctx.iban_custs.iter().map(|&c| cname(c)).collect::<Vec<_>>().join(", "),
                cname(cust)
            )),
            PayerFit::Group { payer, by_iban } => Some(self.group_evidence(ctx, cust, payer, by_iban)),
            // Learned evidence is rendered apart (`learned_evidence`).
            PayerFit::Unknown | PayerFit::Learned(_) | PayerFit::LearnedAmongSeveral => None,
        }
    }

    /// Finishes a hypothesis with payer evidence and adjustment for the customer `cust`.
    pub(super) fn with_payer(&self, ctx: &mut Ctx, cust: u32, mut h: Hyp) -> Hyp {
        let fit = self.payer_fit(ctx, cust);
        h.conf = (h.conf + payer_adjustment(fit)).clamp(0.0, 0.99);
        h.payer = Some((cust, fit));
        h
    }
}
