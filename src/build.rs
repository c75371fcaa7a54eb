//! `db::MIGRATIONS` is `embed_migrations!("migrations")`: the SQL is compiled into the binary,
//! but cargo does not know that the folder is an input, so an added or edited migration left
//! builds (and the tests' template databases built from them) with the old set until something
//! else changed. This is diesel's documented remedy.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
