//! Embeds the default campaign (`recipients.toml` and `letters/*.txt` at the
//! repository root) so the binary works from any folder with no set-up.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=recipients.toml");
    println!("cargo:rerun-if-changed=letters");

    let mut letters: Vec<String> = fs::read_dir(root.join("letters"))
        .expect("the default campaign's letters/ folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".txt"))
        .collect();
    letters.sort();

    let mut code = String::new();
    let recipients = root.join("recipients.toml");
    writeln!(
        code,
        "pub const RECIPIENTS: &str = include_str!({:?});",
        recipients.display().to_string()
    )
    .unwrap();
    writeln!(code, "pub const LETTERS: &[(&str, &str)] = &[").unwrap();
    for name in &letters {
        let path = root.join("letters").join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    writeln!(code, "];").unwrap();

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("embedded_campaign.rs"), code).expect("write embedded_campaign.rs");
}
