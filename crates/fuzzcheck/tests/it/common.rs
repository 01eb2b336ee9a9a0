//! The seed corpus on disk.

use std::path::PathBuf;

/// `fuzz/corpus`: one folder of seeds per target.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

/// One seed file.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Its path under `fuzz/corpus`, for messages.
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// The seeds of `target`, by file name.
pub fn seeds(target: &str) -> Vec<Seed> {
    let dir = corpus_dir().join(target);
    let mut seeds: Vec<Seed> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            Seed {
                name: format!("{target}/{}", path.file_name().unwrap().to_string_lossy()),
                data: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            }
        })
        .collect();
    seeds.sort_by(|a, b| a.name.cmp(&b.name));
    seeds
}
