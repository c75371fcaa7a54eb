//! `POST /customers/import?mapping=...`: a CSV body in the tenant's own layout, read through a
//! mapping with a two-row header and its own date format (header search, cell cleaning).
#![no_main]

use duizhang::domain::import_mapping::ImportMapping;
use duizhang::services::customers::{parse_import_with, validate_fields};
use duizhang::services::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mapping = ImportMapping {
        columns: [("客户 / 编号", "code"), ("客户 / 名称", "name")].map(|(h, c)| (h.to_string(), c.to_string())).into(),
        header_rows: Some(2),
        date_formats: vec!["%d/%m/%Y".to_string()],
        ..ImportMapping::default()
    };
    if let Ok(read) = parse_import_with(ImportFormat::Csv, data, Some(&mapping)) {
        for (_, input) in &read.rows {
            let _ = validate_fields(input);
        }
    }
});
