//! Build-time inputs the compiler cannot see by itself.
//!
//! * `db::MIGRATIONS` is `embed_migrations!("migrations")`: the SQL is compiled into the binary,
//!   but cargo does not know that the folder is an input, so an added or edited migration left
//!   builds (and the tests' template databases built from them) with the old set until something
//!   else changed. This is diesel's documented remedy.
//! * The CSV presets are one TOML file per bank in `src/bank_formats/presets/`; the list of them
//!   is generated here, so adding a bank is adding a file.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir")).join("src/bank_formats/presets");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/bank_formats/presets")
        .map(|e| e.expect("preset file").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("/// (name, TOML) of every file in src/bank_formats/presets, by name.\n");
    out.push_str("pub(super) const PRESET_FILES: &[(&str, &str)] = &[\n");
    for f in files {
        let name = f.file_stem().and_then(|s| s.to_str()).expect("preset file name is UTF-8");
        writeln!(out, "    ({name:?}, include_str!({:?})),", f.display().to_string()).expect("write");
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("csv_presets.rs");
    std::fs::write(target, out).expect("write csv_presets.rs");
}
