//! Statement of account as PDF (A4): company and customer header, period, one table per currency
//! (date, kind, reference, debit, credit, running balance) between its opening and closing
//! balances with totals (asked for: each invoice's and credit note's lines under it), the table header repeated on every page a table continues on, and
//! "Page i of N" in the footer.
//!
//! Text is set in Noto Sans CJK SC (SIL OFL 1.1, `assets/fonts/`), a GB2312 + Latin subset, so
//! Chinese names render; krilla embeds only the glyphs used, with a ToUnicode map (the text can
//! be searched and copied). Characters outside the subset show as blank boxes.
//!
//! Layout is done first into pages of drawing operations, then drawn: the page count is known
//! before any footer is written.

use super::{kind_label, period_label, totals, RenderError, StatementDoc};
use crate::domain::money::display_amount;
use crate::domain::statement_of_account::{AccountDocumentLine, CurrencyAccount};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::Document;
use std::sync::OnceLock;

static REGULAR_OTF: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Regular-GB2312.otf");
/// Bold carries Latin only: it sets the renderer's own labels, never data.
static BOLD_OTF: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Bold-Latin.otf");

fn fonts() -> Result<&'static (Font, Font), RenderError> {
    static FONTS: OnceLock<Option<(Font, Font)>> = OnceLock::new();
    FONTS
        .get_or_init(|| Some((Font::new(REGULAR_OTF.into(), 0)?, Font::new(BOLD_OTF.into(), 0)?)))
        .as_ref()
        .ok_or_else(|| RenderError::Pdf("bundled font does not load".into()))
}

// A4 in points, and the page's frame.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 42.0;
const RIGHT: f32 = PAGE_W - 42.0;
/// Content must end above this line; the footer is below it.
const BOTTOM: f32 = PAGE_H - 62.0;

const ROW_H: f32 = 16.0;
const HEADER_ROW_H: f32 = 18.0;
const TEXT_SIZE: f32 = 8.8;
/// Height of a document line under its document.
const DETAIL_H: f32 = 12.5;

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

#[derive(Clone, Copy, PartialEq)]
enum Weight {
    Regular,
    Bold,
}

/// Table columns: (title, x where the column starts, x where it ends, alignment).
const COLUMNS: [(&str, f32, f32, Align); 6] = [
    ("Date", LEFT + 4.0, LEFT + 62.0, Align::Left),
    ("Kind", LEFT + 66.0, LEFT + 146.0, Align::Left),
    ("Reference", LEFT + 150.0, LEFT + 262.0, Align::Left),
    ("Debit", LEFT + 262.0, LEFT + 342.0, Align::Right),
    ("Credit", LEFT + 346.0, LEFT + 424.0, Align::Right),
    ("Balance", LEFT + 428.0, RIGHT - 4.0, Align::Right),
];
/// Amounts are never cut: a very large one runs into the column on its left.
const AMOUNT_COLUMNS: usize = 3;

enum Op {
    Text { x: f32, y: f32, size: f32, weight: Weight, gray: u8, text: String, glyphs: Vec<KrillaGlyph> },
    Rect { x: f32, y: f32, w: f32, h: f32, color: (u8, u8, u8) },
    Rule { x1: f32, x2: f32, y: f32, width: f32, gray: u8 },
}

/// Shapes text with rustybuzz (the shaper krilla uses) so widths are known for alignment.
struct Shaper {
    regular: rustybuzz::Face<'static>,
    bold: rustybuzz::Face<'static>,
}

impl Shaper {
    fn new() -> Result<Shaper, RenderError> {
        let face = |data: &'static [u8]| {
            rustybuzz::Face::from_slice(data, 0).ok_or_else(|| RenderError::Pdf("bundled font does not parse".into()))
        };
        Ok(Shaper { regular: face(REGULAR_OTF)?, bold: face(BOLD_OTF)? })
    }

    /// Glyphs (advances normalized to the em) and the width at `size`.
    fn shape(&self, text: &str, weight: Weight, size: f32) -> (Vec<KrillaGlyph>, f32) {
        let face = if weight == Weight::Bold { &self.bold } else { &self.regular };
        let upem = face.units_per_em() as f32;
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(rustybuzz::Direction::LeftToRight);
        let out = rustybuzz::shape(face, &[], buffer);
        let (infos, positions) = (out.glyph_infos(), out.glyph_positions());
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut width = 0.0;
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = info.cluster as usize;
            let end =
                infos[i + 1..].iter().find(|n| n.cluster != info.cluster).map_or(text.len(), |n| n.cluster as usize);
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                pos.x_advance as f32 / upem,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                start..end,
                None,
            ));
            width += pos.x_advance as f32 / upem * size;
        }
        (glyphs, width)
    }
}

/// Pages of operations, and where the next line goes.
struct Layout<'a> {
    shaper: Shaper,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Running header of pages after the first.
    running_left: &'a str,
    running_right: String,
}

impl Layout<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        self.pages.last_mut().expect("a page")
    }

    /// Text with its baseline at `y`; `x` is the left edge, or the right edge for `Align::Right`.
    /// Text wider than `max_w` is cut with an ellipsis.
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f32, y: f32, text: &str, size: f32, weight: Weight, align: Align, max_w: Option<f32>) {
        self.text_gray(x, y, text, size, weight, align, max_w, 0);
    }

    #[allow(clippy::too_many_arguments)]
    fn text_gray(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        size: f32,
        weight: Weight,
        align: Align,
        max_w: Option<f32>,
        gray: u8,
    ) {
        let mut text = text.to_string();
        let (mut glyphs, mut width) = self.shaper.shape(&text, weight, size);
        if let Some(max) = max_w {
            let mut keep: Vec<char> = text.chars().collect();
            while width > max && !keep.is_empty() {
                keep.pop();
                text = keep.iter().collect::<String>() + "…";
                (glyphs, width) = self.shaper.shape(&text, weight, size);
            }
        }
        let x = match align {
            Align::Left => x,
            Align::Right => x - width,
        };
        self.ops().push(Op::Text { x, y, size, weight, gray, text, glyphs });
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32, gray: u8) {
        self.ops().push(Op::Rule { x1, x2, y, width, gray });
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        let (left, right) = (self.running_left.to_string(), self.running_right.clone());
        self.text_gray(LEFT, 40.0, &left, 8.5, Weight::Regular, Align::Left, Some(250.0), 90);
        self.text_gray(RIGHT, 40.0, &right, 8.5, Weight::Regular, Align::Right, Some(250.0), 90);
        self.rule(LEFT, RIGHT, 47.0, 0.6, 150);
        self.y = 66.0;
    }

    /// Starts a new page unless `h` more points fit on this one; says whether it did.
    fn ensure(&mut self, h: f32) -> bool {
        if self.y + h > BOTTOM {
            self.new_page();
            true
        } else {
            false
        }
    }

    fn table_header(&mut self, title: &str) {
        self.text(LEFT, self.y + 12.0, title, 11.0, Weight::Bold, Align::Left, None);
        self.y += 20.0;
        let y = self.y;
        self.ops().push(Op::Rect { x: LEFT, y, w: RIGHT - LEFT, h: HEADER_ROW_H, color: (232, 238, 244) });
        for (name, x0, x1, align) in COLUMNS {
            let x = if matches!(align, Align::Right) { x1 } else { x0 };
            self.text(x, self.y + 12.2, name, 8.5, Weight::Bold, align, None);
        }
        self.y += HEADER_ROW_H;
    }

    /// One table row: cells in column order (`None` leaves a cell empty).
    fn row(&mut self, cells: [Option<&str>; 6], weight: Weight, continued: &str) {
        if self.ensure(ROW_H) {
            self.table_header(continued);
        }
        for (i, ((_, x0, x1, align), cell)) in COLUMNS.into_iter().zip(cells).enumerate() {
            if let Some(text) = cell {
                let max_w = (i < AMOUNT_COLUMNS).then_some(x1 - x0);
                let x = if matches!(align, Align::Right) { x1 } else { x0 };
                // Labels (bold) are ours and Latin; data is always set in the full font.
                let w = if weight == Weight::Bold && text.is_ascii() { Weight::Bold } else { Weight::Regular };
                self.text(x, self.y + 11.3, text, TEXT_SIZE, w, align, max_w);
            }
        }
        self.y += ROW_H;
        self.rule(LEFT, RIGHT, self.y, 0.4, 215);
    }

    /// A document line under its document's row: smaller, gray, indented, one line of text.
    fn detail(&mut self, text: &str, continued: &str) {
        if self.ensure(DETAIL_H) {
            self.table_header(continued);
        }
        let x = COLUMNS[1].1 + 8.0;
        self.text_gray(x, self.y + 9.6, text, 7.6, Weight::Regular, Align::Left, Some(RIGHT - 4.0 - x), 70);
        self.y += DETAIL_H;
    }
}

pub fn statement_of_account(doc: StatementDoc<'_>) -> Result<Vec<u8>, RenderError> {
    let (st, header) = (doc.statement, doc.header);
    let generated = header.generated_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut l = Layout {
        shaper: Shaper::new()?,
        pages: vec![Vec::new()],
        y: 0.0,
        running_left: &header.company,
        running_right: format!("Statement of Account · {} ({})", st.customer_name, st.customer_code),
    };

    // First page: the document's header.
    l.text(LEFT, 52.0, &header.company, 16.0, Weight::Regular, Align::Left, Some(RIGHT - LEFT));
    l.text(LEFT, 76.0, "Statement of Account", 13.0, Weight::Bold, Align::Left, None);
    let title_w = l.shaper.shape("Statement of Account", Weight::Bold, 13.0).1;
    l.text(LEFT + title_w + 8.0, 76.0, "对账单", 13.0, Weight::Regular, Align::Left, None);
    l.rule(LEFT, RIGHT, 86.0, 0.8, 60);
    let info = [
        ("Customer", format!("{} ({})", st.customer_name, st.customer_code)),
        ("Period", period_label(st.from, st.to)),
        ("Generated", generated.clone()),
    ];
    l.y = 106.0;
    for (label, value) in &info {
        l.text(LEFT, l.y, label, 9.0, Weight::Bold, Align::Left, None);
        l.text(LEFT + 70.0, l.y, value, 10.0, Weight::Regular, Align::Left, Some(RIGHT - LEFT - 70.0));
        l.y += 16.0;
    }
    l.y += 10.0;

    if st.currencies.is_empty() {
        l.text(LEFT, l.y + 12.0, "No items in this period.", 10.0, Weight::Regular, Align::Left, None);
    }
    for acc in &st.currencies {
        currency_table(&mut l, doc, acc)?;
    }
    summary_sections(&mut l, st);

    render(l.pages, doc, &generated)
}

fn currency_table(l: &mut Layout<'_>, doc: StatementDoc<'_>, acc: &CurrencyAccount) -> Result<(), RenderError> {
    let st = doc.statement;
    let cur = acc.currency.as_str();
    let amount = |s: &str| -> Result<String, RenderError> { Ok(display_amount(cur, super::decimal(s)?)) };
    let title = format!("Currency {cur}");
    let continued = format!("Currency {cur} (continued)");
    // Heading, table header and two rows stay together.
    l.ensure(20.0 + HEADER_ROW_H + 2.0 * ROW_H);
    l.table_header(&title);

    let from = st.from.map(|d| d.to_string());
    let opening = amount(&acc.opening_balance)?;
    let opening_label = kind_label("opening_balance");
    l.row([from.as_deref(), Some(&opening_label), None, None, None, Some(&opening)], Weight::Bold, &continued);
    for line in &acc.lines {
        let date = line.date.to_string();
        let kind = kind_label(&line.kind);
        let debit = line.debit.as_deref().map(amount).transpose()?;
        let credit = line.credit.as_deref().map(amount).transpose()?;
        let balance = amount(&line.balance)?;
        let reference = super::shown_reference(line);
        l.row(
            [Some(&date), Some(&kind), Some(&reference), debit.as_deref(), credit.as_deref(), Some(&balance)],
            Weight::Regular,
            &continued,
        );
        for dl in line.lines.iter().flatten() {
            l.detail(&document_line_text(cur, dl)?, &continued);
        }
        if line.lines.as_ref().is_some_and(|v| !v.is_empty()) {
            l.y += 2.0;
            l.rule(LEFT, RIGHT, l.y, 0.4, 215);
        }
    }
    let (debit, credit) = totals(acc)?;
    let (debit, credit) = (display_amount(cur, debit), display_amount(cur, credit));
    if l.ensure(2.0 * ROW_H) {
        l.table_header(&continued);
    }
    l.rule(LEFT, RIGHT, l.y, 0.8, 60);
    l.row([None, Some("Total"), None, Some(&debit), Some(&credit), None], Weight::Bold, &continued);
    let to = st.to.map(|d| d.to_string());
    let closing = amount(&acc.closing_balance)?;
    let closing_label = kind_label("closing_balance");
    l.row([to.as_deref(), Some(&closing_label), None, None, None, Some(&closing)], Weight::Bold, &continued);
    l.y += 22.0;
    Ok(())
}

/// One document line under its document: what, how many at what price, net, tax and gross.
fn document_line_text(cur: &str, dl: &AccountDocumentLine) -> Result<String, RenderError> {
    let amount = |s: &str| -> Result<String, RenderError> { Ok(display_amount(cur, super::decimal(s)?)) };
    let unit = dl.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
    Ok(format!(
        "{}. {}  ·  {}{unit} × {}  ·  net {}  ·  tax {}% {}  ·  gross {}",
        dl.line_no,
        dl.description,
        dl.quantity,
        dl.unit_price,
        amount(&dl.net)?,
        dl.tax_rate,
        amount(&dl.tax)?,
        amount(&dl.gross)?
    ))
}

/// Open items, their aging and the differences still open with the customer, as short lines.
fn summary_sections(l: &mut Layout<'_>, st: &crate::domain::statement_of_account::StatementOfAccount) {
    let section = |l: &mut Layout<'_>, title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        l.ensure(20.0 + 2.0 * ROW_H);
        l.text(LEFT, l.y + 12.0, title, 11.0, Weight::Bold, Align::Left, None);
        l.y += 20.0;
        for line in lines {
            if l.ensure(ROW_H) {
                l.text(LEFT, l.y + 12.0, &format!("{title} (continued)"), 11.0, Weight::Bold, Align::Left, None);
                l.y += 20.0;
            }
            l.text(LEFT, l.y + 11.3, &line, TEXT_SIZE, Weight::Regular, Align::Left, Some(RIGHT - LEFT));
            l.y += ROW_H;
        }
        l.y += 12.0;
    };
    let open: Vec<String> = st
        .open_items
        .iter()
        .map(|i| {
            let due = i.due_date.map(|d| format!("due {d}")).unwrap_or_else(|| format!("issued {}", i.issue_date));
            let age = if i.days_overdue > 0 { format!(", {} days overdue", i.days_overdue) } else { String::new() };
            format!(
                "{}  {}  {}  open {} of {} {}{}",
                i.doc_no,
                kind_label(&i.kind),
                due,
                i.open_amount,
                i.amount,
                i.currency,
                age
            )
        })
        .collect();
    section(l, "Open items", open);
    let aging: Vec<String> = st
        .aging
        .iter()
        .map(|a| {
            let parts: Vec<String> = a.labels.iter().zip(&a.buckets).map(|(lbl, v)| format!("{lbl}: {v}")).collect();
            format!("{}  {}  total {}", a.currency, parts.join("  "), a.total)
        })
        .collect();
    section(l, "Aging (days past due)", aging);
    aging_bars(l, st);
    let diffs: Vec<String> = st
        .open_differences
        .iter()
        .map(|d| format!("[{}] {}: {}", d.status, d.kind.replace('_', " "), d.explanation))
        .collect();
    section(l, "Differences still open", diffs);
    let pb = &st.payment_behaviour;
    let behaviour = match (pb.score, pb.avg_days_late, pb.on_time_share) {
        (Some(score), Some(late), Some(on_time)) => vec![format!(
            "Score {score} of 100: {} payments in {} days, {late} days late on average, {on_time}% on time, trend {}",
            pb.payments, pb.days, pb.trend
        )],
        _ => Vec::new(),
    };
    section(l, "Payment behaviour", behaviour);
}

/// Bucket colours, from not yet due (blue) to long overdue (dark red).
const AGING_COLORS: [(u8, u8, u8); 6] =
    [(0, 114, 178), (240, 208, 66), (230, 159, 0), (213, 94, 0), (170, 40, 40), (110, 20, 20)];

/// The aging chart: per currency one bar across the page, split into its buckets in proportion
/// to their amounts (what is owed, credits left out), under a legend of the buckets. The
/// amounts are in the lines above it.
fn aging_bars(l: &mut Layout<'_>, st: &crate::domain::statement_of_account::StatementOfAccount) {
    use rust_decimal::prelude::ToPrimitive;
    let rows: Vec<(&str, Vec<f32>)> = st
        .aging
        .iter()
        .map(|a| {
            let v = a.buckets.iter().map(|b| super::decimal(b).ok().and_then(|d| d.to_f32()).unwrap_or(0.0).max(0.0));
            (a.currency.as_str(), v.collect::<Vec<f32>>())
        })
        .filter(|(_, v)| v.iter().sum::<f32>() > 0.0)
        .collect();
    let Some(labels) = st.aging.first().map(|a| a.labels.clone()).filter(|_| !rows.is_empty()) else { return };
    l.ensure(14.0 + rows.len() as f32 * 14.0 + 12.0);
    let mut x = LEFT + 40.0;
    for (i, label) in labels.iter().enumerate() {
        let y = l.y + 2.0;
        l.ops().push(Op::Rect { x, y, w: 8.0, h: 8.0, color: AGING_COLORS[i % AGING_COLORS.len()] });
        l.text(x + 11.0, l.y + 9.0, label, 8.0, Weight::Regular, Align::Left, None);
        x += 60.0;
    }
    l.y += 14.0;
    let (x0, width) = (LEFT + 40.0, RIGHT - LEFT - 40.0);
    for (currency, values) in rows {
        l.text(LEFT, l.y + 8.5, currency, 8.0, Weight::Bold, Align::Left, None);
        let total: f32 = values.iter().sum();
        let mut x = x0;
        for (i, v) in values.iter().enumerate().filter(|(_, v)| **v > 0.0) {
            let (y, w) = (l.y + 1.0, v / total * width);
            l.ops().push(Op::Rect { x, y, w, h: 9.0, color: AGING_COLORS[i % AGING_COLORS.len()] });
            x += w;
        }
        l.y += 14.0;
    }
    l.y += 10.0;
}

fn render(pages: Vec<Vec<Op>>, doc: StatementDoc<'_>, generated: &str) -> Result<Vec<u8>, RenderError> {
    let (regular, bold) = fonts()?;
    let shaper = Shaper::new()?;
    let st = doc.statement;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("Statement of Account {} ({})", st.customer_name, st.customer_code))
            .authors(vec![doc.header.company.clone()])
            .creator("duizhang".to_string()),
    );
    let total = pages.len();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| RenderError::Pdf("page size".into()))?;
    for (i, mut ops) in pages.into_iter().enumerate() {
        footer(&shaper, &mut ops, i + 1, total, generated);
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, op, regular, bold);
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

/// The page's footer: a rule, the generation time and "Page n of m" (known once all pages are laid
/// out).
fn footer(shaper: &Shaper, ops: &mut Vec<Op>, page: usize, total: usize, generated: &str) {
    let footer = format!("Page {page} of {total}");
    let (glyphs, w) = shaper.shape(&footer, Weight::Regular, 8.0);
    ops.push(Op::Rule { x1: LEFT, x2: RIGHT, y: PAGE_H - 44.0, width: 0.5, gray: 170 });
    ops.push(Op::Text {
        x: RIGHT - w,
        y: PAGE_H - 32.0,
        size: 8.0,
        weight: Weight::Regular,
        gray: 90,
        text: footer,
        glyphs,
    });
    let gen = format!("Generated {generated}");
    let (glyphs, _) = shaper.shape(&gen, Weight::Regular, 8.0);
    ops.push(Op::Text { x: LEFT, y: PAGE_H - 32.0, size: 8.0, weight: Weight::Regular, gray: 90, text: gen, glyphs });
}

fn draw(surface: &mut Surface<'_>, op: Op, regular: &Font, bold: &Font) {
    match op {
        Op::Text { x, y, size, weight, gray, text, glyphs } => {
            surface.set_stroke(None);
            surface.set_fill(Some(fill((gray, gray, gray))));
            let font = if weight == Weight::Bold { bold } else { regular };
            surface.draw_glyphs(Point::from_xy(x, y), &glyphs, font.clone(), &text, size, false);
        }
        Op::Rect { x, y, w, h, color } => {
            if let Some(rect) = Rect::from_xywh(x, y, w, h) {
                let mut pb = PathBuilder::new();
                pb.push_rect(rect);
                if let Some(path) = pb.finish() {
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(color)));
                    surface.draw_path(&path);
                }
            }
        }
        Op::Rule { x1, x2, y, width, gray } => {
            let mut pb = PathBuilder::new();
            pb.move_to(x1, y);
            pb.line_to(x2, y);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(gray, gray, gray).into(),
                    width,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
    }
}

fn fill((r, g, b): (u8, u8, u8)) -> Fill {
    Fill { paint: rgb::Color::new(r, g, b).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}
