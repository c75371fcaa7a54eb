//! Import templates as XLSX: a data sheet whose header row is the import's CSV column names (each
//! with a note giving its Chinese label, whether it is required, its format and an example), a
//! drop-down list on every column with a fixed set of values, an example row, and a `Notes`
//! sheet explaining every column. The same for every tenant.

use super::xlsx::Styles;
use super::RenderError;
use crate::domain::sheet_columns::{CellKind, Column, TemplateKind};
use rust_xlsxwriter::{Color, DataValidation, DocProperties, Format, Note, Workbook, Worksheet, XlsxError};

/// Rows (below the header) the drop-down lists cover.
const VALIDATED_ROWS: u32 = 10_000;

/// The values a column takes from a list, if it has one.
pub fn list_values(cell: CellKind) -> Option<&'static [&'static str]> {
    match cell {
        CellKind::Choice(values) => Some(values),
        CellKind::YesNo => Some(&["yes", "no"]),
        _ => None,
    }
}

fn required_text(c: &Column) -> &'static str {
    if c.required {
        "required"
    } else {
        "optional"
    }
}

/// The template of `kind` as an .xlsx workbook.
pub fn template(kind: TemplateKind) -> Result<Vec<u8>, RenderError> {
    let mut book = Workbook::new();
    book.set_properties(&DocProperties::new().set_title(format!("duizhang template: {}", kind.title())));
    let styles = Styles::new();
    data_sheet(book.add_worksheet(), &styles, kind)?;
    notes_sheet(book.add_worksheet(), &styles, kind)?;
    Ok(book.save_to_buffer()?)
}

fn data_sheet(ws: &mut Worksheet, s: &Styles, kind: TemplateKind) -> Result<(), XlsxError> {
    ws.set_name(kind.sheet_name())?;
    let required = s.header.clone().set_font_color(Color::RGB(0xC00000));
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (i, c) in kind.columns().iter().enumerate() {
        let col = i as u16;
        ws.write_string_with_format(0, col, c.name, if c.required { &required } else { &s.header })?;
        let values = list_values(c.cell).map(|v| format!("; one of: {}", v.join(", "))).unwrap_or_default();
        let note = format!("{} ({}): {}{values}. Example: {}", c.label, required_text(c), c.help, c.example);
        ws.insert_note(0, col, &Note::new(note).set_author("duizhang").add_author_prefix(false))?;
        // Codes and references stay text (leading zeros kept); dates show as dates.
        match c.cell {
            CellKind::Date => ws.set_column_format(col, &date)?,
            CellKind::Text => ws.set_column_format(col, &text)?,
            _ => ws,
        };
        ws.set_column_width(col, (c.name.len().max(c.example.chars().count()) + 4).clamp(12, 40) as f64)?;
        ws.write_string(1, col, c.example)?;
        if let Some(values) = list_values(c.cell) {
            let validation = DataValidation::new()
                .allow_list_strings(values)?
                .set_error_title(c.name)?
                .set_error_message(format!("{}: one of {}", c.name, values.join(", ")))?;
            ws.add_data_validation(1, col, VALIDATED_ROWS, col, &validation)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn notes_sheet(ws: &mut Worksheet, s: &Styles, kind: TemplateKind) -> Result<(), XlsxError> {
    ws.set_name("Notes")?;
    let wrap = Format::new().set_text_wrap();
    ws.write_string_with_format(0, 0, kind.title(), &s.title)?;
    let general = [
        format!("Send the filled workbook to {} (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet).", kind.endpoint()),
        format!("Fill the sheet \"{}\" from row 2; row 1 is the header. Row 2 is an example: overwrite or delete it (a row identical to it is not imported).", kind.sheet_name()),
        "Keep the header names (or the Chinese labels); columns may be reordered, optional columns deleted.".to_string(),
        "Dates: date cells, or text as 2026-03-01, 2026/3/1 or 2026年3月1日. Numbers: number cells or numbers stored as text (1,234.50).".to_string(),
        "Every rejected row is answered with its sheet, row and column and the reason; the other rows are imported.".to_string(),
    ];
    for (i, line) in general.iter().enumerate() {
        ws.write_string(1 + i as u32, 0, line)?;
    }
    let top = 2 + general.len() as u32;
    for (col, title) in ["Column", "中文", "Required", "Format and meaning", "Values", "Example"].iter().enumerate() {
        ws.write_string_with_format(top, col as u16, *title, &s.header)?;
    }
    for (i, c) in kind.columns().iter().enumerate() {
        let row = top + 1 + i as u32;
        ws.write_string_with_format(row, 0, c.name, &s.bold)?;
        ws.write_string(row, 1, c.label)?;
        ws.write_string(row, 2, required_text(c))?;
        ws.write_string_with_format(row, 3, c.help, &wrap)?;
        ws.write_string(row, 4, list_values(c.cell).map(|v| v.join(", ")).unwrap_or_default())?;
        ws.write_string(row, 5, c.example)?;
    }
    for (col, width) in [(0u16, 22.0), (1, 14.0), (2, 10.0), (3, 60.0), (4, 36.0), (5, 24.0)] {
        ws.set_column_width(col, width)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spreadsheet::{read_main_sheet, read_sheets, Limits};

    /// The data sheet is the one read (not the longer notes sheet), header then example.
    #[test]
    fn templates_read_back_as_header_and_example() {
        for kind in TemplateKind::ALL {
            let bytes = template(kind).unwrap();
            let main = read_main_sheet(&bytes, Limits::default()).unwrap();
            assert_eq!(main.sheet, kind.sheet_name());
            let names: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
            assert_eq!(main.rows[0], names, "{}", kind.as_str());
            let examples: Vec<&str> = kind.columns().iter().map(|c| c.example).collect();
            let row: Vec<&str> = (0..names.len()).map(|i| main.rows[1].get(i).map_or("", String::as_str)).collect();
            assert_eq!(row, examples, "{}", kind.as_str());
            assert_eq!(read_sheets(&bytes, Limits::default()).unwrap()[1].sheet, "Notes");
        }
    }
}
