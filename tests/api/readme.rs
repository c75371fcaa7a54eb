//! README's tour runs as written: its shell blocks are executed with bash against a freshly
//! started app, so a command in README that stops working fails this test. Only three things
//! are substituted: `cargo run --release -q --` becomes the binary cargo built for the tests,
//! the server address becomes the test app's, and the tour's scratch folder becomes a temporary
//! one. `duizhang tenant create` reaches the app's database through `DATABASE_URL`.

use crate::helpers::spawn_app;

const BIN: &str = env!("CARGO_BIN_EXE_duizhang");
const TOUR_HEADING: &str = "## A five-call tour";

/// The `sh` code blocks of the README section that starts with `heading`.
fn shell_blocks(readme: &str, heading: &str) -> Vec<String> {
    let start = readme.find(heading).unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed code block in {heading:?}");
    blocks
}

#[tokio::test]
async fn the_readme_tour_runs_as_written() {
    let app = spawn_app().await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = shell_blocks(&readme, TOUR_HEADING);
    assert!(blocks.len() >= 5, "the tour has its setup and five steps, found {} blocks", blocks.len());

    let scratch = tempfile::tempdir().unwrap();
    let folder = scratch.path().join("acme");
    let script = blocks
        .join("\n")
        .replace("cargo run --release -q --", BIN)
        .replace("http://127.0.0.1:8080", &app.address)
        .replace("/tmp/acme", folder.to_str().unwrap());
    assert!(!script.contains("cargo "), "every command of the tour can run without cargo:\n{script}");

    let mut bash = std::process::Command::new("bash");
    bash.arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(scratch.path())
        .env("DATABASE_URL", &app.db.url)
        .env("RUST_LOG", "warn");
    let output = tokio::task::spawn_blocking(move || bash.output()).await.unwrap().expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the tour failed\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );

    // What the tour shows actually happened.
    let pdf = std::fs::read(scratch.path().join("soa.pdf")).expect("the statement of account was saved");
    assert!(pdf.starts_with(b"%PDF"), "soa.pdf is a PDF");
    assert!(stdout.contains("\"auto_applied\""), "the run applied payments automatically:\n{stdout}");
    assert!(stdout.contains("\"evidence\""), "allocations are explained:\n{stdout}");
    assert!(stdout.contains("\"valid\":true"), "the audit trail verifies:\n{stdout}");
}
