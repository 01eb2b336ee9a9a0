//! Manifests served without a CDN: every URI of an HLS playlist or a DASH manifest rewritten (for example into a
//! short-lived presigned URL per object), because a presigned URL authorizes one object only.
//!
//! URIs are resolved against the package's folder and must stay inside it: an absolute URL, a rooted path, a `..`
//! segment, a query or a fragment is refused rather than signed. DASH manifests must list their segments
//! (`SegmentList`, as the engine writes them); a `SegmentTemplate` (`$Number$`) names objects no single signature
//! covers, and is refused by name.

/// Why a manifest cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// A URI that leaves the package's folder or is not a plain relative path.
    #[error("manifest URI `{0}` is not a relative path inside the package")]
    OutsidePackage(String),
    /// A DASH `SegmentTemplate`: its segments have no URIs to sign.
    #[error("a DASH SegmentTemplate cannot be served with per-object signatures")]
    SegmentTemplate,
}

/// The object key of `uri` relative to `folder` (a key ending in `/`), if it is a plain relative path inside it.
pub fn resolve(folder: &str, uri: &str) -> Result<String, ManifestError> {
    let outside = || ManifestError::OutsidePackage(uri.to_owned());
    if uri.is_empty()
        || uri.starts_with('/')
        || uri.contains("://")
        || uri.contains(['?', '#', '\\'])
        || uri.chars().any(char::is_control)
        || uri
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(outside());
    }
    Ok(format!("{folder}{uri}"))
}

/// An HLS playlist with every URI rewritten by `rewrite(uri)`: the URI lines (segments, variant playlists) and
/// every `URI="..."` attribute (`EXT-X-MAP`, `EXT-X-MEDIA`, ...).
pub fn rewrite_hls(
    text: &str,
    mut rewrite: impl FnMut(&str) -> Result<String, ManifestError>,
) -> Result<String, ManifestError> {
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            out.push_str(line);
        } else if trimmed.starts_with('#') {
            out.push_str(&rewrite_attributes(line, &["URI"], &mut rewrite)?);
        } else {
            out.push_str(&rewrite(trimmed)?);
        }
        out.push('\n');
    }
    Ok(out)
}

/// A DASH manifest (with `SegmentList`s) with every `sourceURL` and `media` attribute rewritten by `rewrite(uri)`.
pub fn rewrite_dash(
    text: &str,
    mut rewrite: impl FnMut(&str) -> Result<String, ManifestError>,
) -> Result<String, ManifestError> {
    if text.contains("<SegmentTemplate") || text.contains("<BaseURL") {
        return Err(ManifestError::SegmentTemplate);
    }
    // The rewritten URLs go into XML attributes: `&` must be escaped there.
    let mut escaped = |uri: &str| rewrite(&xml_unescape(uri)).map(|url| url.replace('&', "&amp;"));
    rewrite_attributes(text, &["sourceURL", "media"], &mut escaped)
}

/// A storyboard WebVTT with the image of every cue rewritten by `rewrite(uri)`, its `#xywh=` fragment kept: cue
/// payload lines are `storyboard_NNN.jpg#xywh=x,y,w,h`; the header and timing lines stay as they are.
pub fn rewrite_vtt(
    text: &str,
    mut rewrite: impl FnMut(&str) -> Result<String, ManifestError>,
) -> Result<String, ManifestError> {
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        match line.split_once("#xywh=") {
            Some((uri, region)) if !line.contains("-->") => {
                out.push_str(&rewrite(uri)?);
                out.push_str("#xywh=");
                out.push_str(region);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out)
}

/// `text` with the double-quoted value of every attribute named in `names` (preceded by a space, a comma or a
/// colon, as in XML and HLS attribute lists) replaced by `rewrite(value)`.
fn rewrite_attributes(
    text: &str,
    names: &[&str],
    rewrite: &mut impl FnMut(&str) -> Result<String, ManifestError>,
) -> Result<String, ManifestError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = names
            .iter()
            .filter_map(|name| {
                let pattern = format!("{name}=\"");
                rest.find(&pattern).map(|at| (at, at + pattern.len()))
            })
            .min();
        let Some((at, value_start)) = next else { break };
        let Some(len) = rest[value_start..].find('"') else {
            break;
        };
        let value = &rest[value_start..value_start + len];
        out.push_str(&rest[..value_start]);
        // `xmedia="` is another attribute: only a name after a separator counts.
        if at == 0 || rest[..at].ends_with([' ', ',', ':', '\n', '\t']) {
            out.push_str(&rewrite(value)?);
        } else {
            out.push_str(value);
        }
        rest = &rest[value_start + len..];
    }
    out.push_str(rest);
    Ok(out)
}

fn xml_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOLDER: &str = "videos/streams/s-42_camera/playback/";

    fn sign(uri: &str) -> Result<String, ManifestError> {
        let key = resolve(FOLDER, uri)?;
        Ok(format!(
            "https://s3.local/b/{key}?X-Amz-Signature=abc&X-Amz-Expires=300"
        ))
    }

    #[test]
    fn every_uri_of_an_hls_playlist_is_rewritten() {
        let child = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"index_480p_init.cmfv\"\n\
                     #EXTINF:4.000000,\nindex_480p_00001.cmfv\n#EXTINF:2.000000,\nindex_480p_00002.cmfv\n#EXT-X-ENDLIST\n";
        let out = rewrite_hls(child, sign).unwrap();
        assert!(out.contains(&format!(
            "#EXT-X-MAP:URI=\"https://s3.local/b/{FOLDER}index_480p_init.cmfv?X-Amz-Signature=abc&X-Amz-Expires=300\"\n"
        )), "{out}");
        assert!(out.contains(&format!(
            "\nhttps://s3.local/b/{FOLDER}index_480p_00002.cmfv?"
        )));
        assert_eq!(out.matches("https://").count(), 3);
        let main = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"program_audio\",NAME=\"index_audio\",URI=\"index_audio.m3u8\"\n\
                    #EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"program_audio\"\nindex_480p.m3u8\n";
        let out = rewrite_hls(main, |uri| Ok(format!("/play/recording%2Fr1/{uri}"))).unwrap();
        assert!(
            out.contains("URI=\"/play/recording%2Fr1/index_audio.m3u8\""),
            "{out}"
        );
        assert!(
            out.contains("GROUP-ID=\"program_audio\""),
            "other attributes stay: {out}"
        );
        assert!(
            out.contains("\n/play/recording%2Fr1/index_480p.m3u8\n"),
            "{out}"
        );
    }

    #[test]
    fn every_segment_of_a_dash_segment_list_is_rewritten_and_escaped() {
        let mpd = "<MPD><Period><AdaptationSet contentType=\"video\" mimeType=\"video/mp4\">\
                   <Representation id=\"index_480p\" bandwidth=\"1\" codecs=\"avc1.64001e\">\
                   <SegmentList timescale=\"1000\"><Initialization sourceURL=\"index_480p_init.cmfv\"/>\
                   <SegmentURL media=\"index_480p_00001.cmfv\"/></SegmentList></Representation>\
                   </AdaptationSet></Period></MPD>";
        let out = rewrite_dash(mpd, sign).unwrap();
        assert!(out.contains(&format!(
            "sourceURL=\"https://s3.local/b/{FOLDER}index_480p_init.cmfv?X-Amz-Signature=abc&amp;X-Amz-Expires=300\""
        )), "{out}");
        assert!(out.contains("media=\"https://s3.local/"), "{out}");
        assert!(
            out.contains("mimeType=\"video/mp4\""),
            "mimeType is not media: {out}"
        );
        let template = "<MPD><SegmentTemplate media=\"index_$Number$.cmfv\"/></MPD>";
        assert_eq!(
            rewrite_dash(template, sign),
            Err(ManifestError::SegmentTemplate)
        );
    }

    #[test]
    fn uris_that_leave_the_package_are_refused() {
        assert_eq!(
            resolve(FOLDER, "thumbs/thumb.0000000.jpg").unwrap(),
            format!("{FOLDER}thumbs/thumb.0000000.jpg")
        );
        for bad in [
            "../x.cmfv",
            "a/../../x",
            "/etc/passwd",
            "https://evil.example/x.ts",
            "x.ts?a=1",
            "",
            "a//b",
            "./x",
        ] {
            assert_eq!(
                resolve(FOLDER, bad),
                Err(ManifestError::OutsidePackage(bad.into())),
                "{bad:?}"
            );
        }
        let playlist = "#EXTM3U\n#EXTINF:4,\n../../other/secret.ts\n";
        assert!(matches!(
            rewrite_hls(playlist, sign),
            Err(ManifestError::OutsidePackage(_))
        ));
    }

    #[test]
    fn a_storyboard_keeps_its_regions() {
        let vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard_000.jpg#xywh=160,0,160,90\n";
        let out = rewrite_vtt(vtt, |uri| {
            Ok(format!("https://signed/{}", resolve(FOLDER, uri)?))
        })
        .unwrap();
        assert_eq!(
            out,
            format!(
                "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nhttps://signed/{FOLDER}storyboard_000.jpg#xywh=160,0,160,90\n"
            )
        );
        let outside = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n../x.jpg#xywh=0,0,1,1\n";
        assert!(rewrite_vtt(outside, |uri| resolve(FOLDER, uri)).is_err());
    }
}
