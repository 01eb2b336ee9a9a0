//! Recordings made by a real browser: what MediaRecorder writes in Debian's Chromium, recorded by
//! `tools/browser/record_fixtures.py` (Playwright for Python, fake camera, microphone and screen).
//!
//! The set is recorded once per build folder, on first use, into `target/browser-fixtures/{key}`, where the key
//! changes whenever the recorder or its page changes. Nothing binary is committed. A missing browser or venv is a
//! setup failure, never a skip.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// One recording and what it must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserRecording {
    /// The file name, e.g. `camera-vp9.webm`.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// The MIME type MediaRecorder reported, with its codecs.
    pub mime_type: String,
    /// The picture's size at the start, in pixels.
    pub size: (u32, u32),
    /// The picture's colour, for sources that draw one (the fake camera and the canvases); `None` for the
    /// browser's synthetic screen.
    pub colour: Option<[u8; 3]>,
    /// The frequency of the tone on its audio track, or `None` without audio.
    pub audio_hz: Option<u32>,
    /// How long the recorder ran, in seconds.
    pub seconds: f64,
    /// The size the picture changes to mid-recording, and when (seconds).
    pub resize: Option<((u32, u32), f64)>,
    /// When the first video frame comes (seconds after the audio starts), for a video that starts late.
    pub first_video_s: Option<f64>,
    /// When the picture switches colour (seconds), and to which colour.
    pub switch: Option<(f64, [u8; 3])>,
}

impl BrowserRecording {
    /// Whether the picture is portrait (taller than wide).
    pub fn is_portrait(&self) -> bool {
        self.size.1 > self.size.0
    }
}

/// Every recording, by name, recorded on first use.
///
/// Panics with a setup message when Chromium, the venv or Playwright is missing, or the recorder fails.
pub fn recordings() -> &'static BTreeMap<String, BrowserRecording> {
    static SET: OnceLock<BTreeMap<String, BrowserRecording>> = OnceLock::new();
    SET.get_or_init(|| {
        let folder = record_once();
        load(&folder)
    })
}

/// One recording by name.
pub fn recording(name: &str) -> &'static BrowserRecording {
    recordings()
        .get(name)
        .unwrap_or_else(|| panic!("no browser recording named {name}"))
}

fn record_once() -> PathBuf {
    let root = crate::workspace_root();
    let tools = root.join("tools/browser");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in ["record_fixtures.py", "fixtures.html"] {
        std::fs::read(tools.join(file))
            .unwrap_or_else(|e| panic!("tools/browser/{file}: {e}"))
            .hash(&mut hasher);
    }
    let base = root.join("target/browser-fixtures");
    let folder = base.join(format!("{:016x}", hasher.finish()));
    if folder.join("manifest.json").is_file() {
        return folder;
    }
    // Record into a folder of this process, then rename: concurrent test binaries each record, and the first
    // complete set wins.
    let scratch = base.join(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let python = root.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh (it creates .venv with Playwright)",
        python.display()
    );
    let status = Command::new(&python)
        .arg(tools.join("record_fixtures.py"))
        .arg(&scratch)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        status.success(),
        "tools/browser/record_fixtures.py failed ({status}): see its message above; scripts/setup.sh installs \
         Chromium and Playwright"
    );
    if std::fs::rename(&scratch, &folder).is_err() {
        // Another process finished first: use its set.
        let _ = std::fs::remove_dir_all(&scratch);
    }
    assert!(
        folder.join("manifest.json").is_file(),
        "browser recordings missing from {}",
        folder.display()
    );
    folder
}

fn load(folder: &Path) -> BTreeMap<String, BrowserRecording> {
    let text = std::fs::read_to_string(folder.join("manifest.json")).expect("manifest.json");
    let manifest: Value = serde_json::from_str(&text).expect("manifest.json is JSON");
    let pair =
        |v: &Value| -> Option<(u32, u32)> { Some((v[0].as_u64()? as u32, v[1].as_u64()? as u32)) };
    let colour = |v: &Value| -> Option<[u8; 3]> {
        let c = v.as_array()?;
        Some([0, 1, 2].map(|i| c[i].as_u64().unwrap_or(0) as u8))
    };
    manifest
        .as_object()
        .expect("manifest.json is an object")
        .iter()
        .map(|(name, e)| {
            let recording = BrowserRecording {
                name: name.clone(),
                path: folder.join(name),
                mime_type: e["mime_type"].as_str().unwrap_or_default().to_owned(),
                size: pair(&e["size"]).expect("size"),
                colour: colour(&e["colour"]),
                audio_hz: e["audio_hz"].as_u64().map(|hz| hz as u32),
                seconds: e["seconds"].as_f64().expect("seconds"),
                resize: pair(&e["resized_to"]).zip(e["resize_at_s"].as_f64()),
                first_video_s: e["first_video_s"].as_f64(),
                switch: e["switch_at_s"].as_f64().zip(colour(&e["switch_colour"])),
            };
            (name.clone(), recording)
        })
        .collect()
}
