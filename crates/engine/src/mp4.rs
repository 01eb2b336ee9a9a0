//! Top-level MP4 box edits for `Mp4Settings.FreeSpaceBox`: ffmpeg always writes one `free` box just before
//! `mdat`; MediaConvert writes one after `moov` only when asked (INCLUDE).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// A top-level box: where it starts, its total size and its type.
struct BoxHeader {
    start: u64,
    size: u64,
    kind: [u8; 4],
    large: bool,
}

fn top_level_boxes(file: &mut std::fs::File) -> std::io::Result<Vec<BoxHeader>> {
    let length = file.metadata()?.len();
    let mut boxes = Vec::new();
    let mut start = 0;
    while start + 8 <= length {
        file.seek(SeekFrom::Start(start))?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8])?;
        let mut size = u64::from(u32::from_be_bytes(header[..4].try_into().expect("4 bytes")));
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        let large = size == 1;
        if large {
            file.read_exact(&mut header[8..16])?;
            size = u64::from_be_bytes(header[8..16].try_into().expect("8 bytes"));
        } else if size == 0 {
            size = length - start;
        }
        if size < 8 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "MP4 box smaller than its header",
            ));
        }
        boxes.push(BoxHeader {
            start,
            size,
            kind,
            large,
        });
        start += size;
    }
    Ok(boxes)
}

/// Removes the `free` box that directly precedes `mdat` by making `mdat` start where `free` started (chunk
/// offsets are absolute, so they stay valid; the old `mdat` header becomes payload). Returns whether a box was
/// removed.
pub fn remove_free_box(path: &Path) -> std::io::Result<bool> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let boxes = top_level_boxes(&mut file)?;
    let Some(pair) = boxes
        .windows(2)
        .find(|w| &w[0].kind == b"free" && &w[1].kind == b"mdat")
    else {
        return Ok(false);
    };
    let (free, mdat) = (&pair[0], &pair[1]);
    let size = free.size + mdat.size;
    file.seek(SeekFrom::Start(free.start))?;
    if !mdat.large && size <= u64::from(u32::MAX) {
        file.write_all(&(size as u32).to_be_bytes())?;
        file.write_all(b"mdat")?;
    } else {
        if free.size + if mdat.large { 16 } else { 8 } < 16 {
            return Ok(false);
        }
        file.write_all(&1u32.to_be_bytes())?;
        file.write_all(b"mdat")?;
        file.write_all(&size.to_be_bytes())?;
    }
    Ok(true)
}

/// Appends an empty `free` box after the last box (after `moov` when `moov` comes last).
pub fn append_free_box(path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(&8u32.to_be_bytes())?;
    file.write_all(b"free")
}

/// The top-level box types of an MP4 file, in order.
pub fn box_types(path: &Path) -> std::io::Result<Vec<String>> {
    let mut file = std::fs::File::open(path)?;
    Ok(top_level_boxes(&mut file)?
        .iter()
        .map(|b| String::from_utf8_lossy(&b.kind).into_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(boxes: &[(&[u8; 4], usize)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, size) in boxes {
            out.extend((*size as u32).to_be_bytes());
            out.extend(*kind);
            out.extend(std::iter::repeat_n(0xab, size - 8));
        }
        out
    }

    #[test]
    fn free_before_mdat_is_merged_into_mdat() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.mp4");
        std::fs::write(
            &path,
            bytes(&[(b"ftyp", 16), (b"moov", 40), (b"free", 8), (b"mdat", 100)]),
        )
        .unwrap();
        assert!(remove_free_box(&path).unwrap());
        assert_eq!(box_types(&path).unwrap(), ["ftyp", "moov", "mdat"]);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            164,
            "no byte moved"
        );
        assert!(!remove_free_box(&path).unwrap());
        append_free_box(&path).unwrap();
        assert_eq!(box_types(&path).unwrap(), ["ftyp", "moov", "mdat", "free"]);
    }
}
