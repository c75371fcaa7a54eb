//! Dates as customers' systems write them. A mapping may name the formats; otherwise the format
//! is chosen per file: the first of the candidates below that reads every date of the file.
//! Where day-first and month-first both read every date differently (all days up to 12), the
//! day-first reading is taken and the statement's notes say so.

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::NaiveDate;

/// Candidates in order of preference (ISO and year-first, then day-first, then month-first).
pub const CANDIDATES: &[&str] = &[
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%Y",
    "%m-%d-%Y",
    "%m/%d/%y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%d %B %Y",
    "%B %d, %Y",
];

/// One parsed format, reusable across cells.
pub struct DateFormat {
    pub text: String,
    items: Vec<Item<'static>>,
}

impl DateFormat {
    pub fn new(text: &str) -> Option<DateFormat> {
        let items: Vec<Item<'static>> = StrftimeItems::new(text).parse_to_owned().ok()?.into_iter().collect();
        Some(DateFormat { text: text.to_string(), items })
    }

    pub fn read(&self, cell: &str) -> Option<NaiveDate> {
        let mut parsed = Parsed::new();
        parse(&mut parsed, clean(cell), self.items.iter()).ok()?;
        let date = parsed.to_naive_date().ok()?;
        // Two-digit years are of this century; anything outside 1900..2200 is a misreading.
        (1900..2200).contains(&date.year_ce().1).then_some(date)
    }
}

use chrono::Datelike;

/// The date part of a cell: a time an export appends ("2026-03-01 00:00:00", "…T00:00:00") is
/// dropped, as are spaces around "年月日".
fn clean(cell: &str) -> &str {
    let t = cell.trim();
    let cut = t
        .find(['T', ' '])
        .filter(|&i| t[i + 1..].chars().next().is_some_and(|c| c.is_ascii_digit()) && t[i + 1..].contains(':'))
        .unwrap_or(t.len());
    &t[..cut]
}

/// The formats to read a file's dates with: the mapping's, or the first candidate that reads
/// every date cell. Also says whether the choice was ambiguous (day-first and month-first both
/// read everything, differently).
pub fn choose(formats: &[String], cells: &[&str]) -> Result<(Vec<DateFormat>, Option<String>), String> {
    if !formats.is_empty() {
        return Ok((formats.iter().filter_map(|f| DateFormat::new(f)).collect(), None));
    }
    let cells: Vec<&str> = cells.iter().copied().filter(|c| !c.trim().is_empty()).collect();
    let readable: Vec<DateFormat> = CANDIDATES
        .iter()
        .filter_map(|f| DateFormat::new(f))
        .filter(|f| cells.iter().all(|c| f.read(c).is_some()))
        .collect();
    let Some(first) = readable.first() else {
        let sample =
            cells.iter().find(|c| !CANDIDATES.iter().filter_map(|f| DateFormat::new(f)).any(|f| f.read(c).is_some()));
        return Err(match sample {
            Some(c) => format!(
                "date '{}' matches none of the known formats; set date_formats in the customer's statement mapping",
                crate::bank_formats::truncate(c, 40)
            ),
            None => "the dates mix formats (e.g. day-first and month-first); set date_formats in the customer's statement mapping".into(),
        });
    };
    let differs = readable[1..].iter().find(|f| cells.iter().any(|c| f.read(c) != first.read(c)));
    let note = differs.map(|other| {
        format!(
            "dates read as {} (they read as {} too); set date_formats in the mapping if that is wrong",
            first.text, other.text
        )
    });
    let text = first.text.clone();
    Ok((vec![DateFormat::new(&text).expect("a candidate parses")], note))
}

/// Reads a cell with the first format that fits.
pub fn read(formats: &[DateFormat], cell: &str) -> Option<NaiveDate> {
    formats.iter().find_map(|f| f.read(cell))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_file_is_read_in_the_format_that_fits_all_its_dates() {
        let (f, note) = choose(&[], &["13.03.2026", "01.04.2026"]).unwrap();
        assert_eq!((f[0].text.as_str(), note), ("%d.%m.%Y", None));
        let (f, _) = choose(&[], &["2026年3月5日", "2026年12月31日"]).unwrap();
        assert_eq!(read(&f, "2026年3月5日"), Some(ymd(2026, 3, 5)));
        let (f, note) = choose(&[], &["03/13/2026", "04/01/2026"]).unwrap();
        assert_eq!((f[0].text.as_str(), note), ("%m/%d/%Y", None));
        let (f, note) = choose(&[], &["03/04/2026"]).unwrap();
        assert_eq!(f[0].text, "%d/%m/%Y");
        assert!(note.unwrap().contains("%m/%d/%Y"));
        let (f, _) = choose(&[], &["2026-03-01 00:00:00", "2026-03-02T10:00:00"]).unwrap();
        assert_eq!(read(&f, "2026-03-01 00:00:00"), Some(ymd(2026, 3, 1)));
        assert!(choose(&[], &["13/13/2026"]).is_err());
        assert!(choose(&[], &["13/03/2026", "03/13/2026"]).is_err());
        let (f, _) = choose(&["%d%m%Y".into()], &[]).unwrap();
        assert_eq!(read(&f, "05032026"), Some(ymd(2026, 3, 5)));
    }
}
