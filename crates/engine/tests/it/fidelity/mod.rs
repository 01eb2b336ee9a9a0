//! Fidelity tests: jobs run on generated media, and the pictures and sound that come out are measured.

mod call_export;
mod call_previews;
mod motion;
mod pictures;
mod renditions;

use std::path::Path;

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}
