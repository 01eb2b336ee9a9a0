//! Output names exactly as MediaConvert makes them: Destination base name, then NameModifier, then extension.
//!
//! A Destination ending in `/` is a folder, and the base name is the first input's file name without its extension.
//! Otherwise the Destination's last path segment is the base name (`s3://b/out/clip` writes `s3://b/out/clip…`).

/// A naming rule that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    /// The modifier uses a format identifier the engine does not implement.
    #[error(
        "NameModifier format identifier {0} is not supported by the engine (supported: $fn$, $w$, $h$, $$)"
    )]
    UnsupportedIdentifier(String),
    /// The Destination names a folder but there is no file input to take a base name from.
    #[error(
        "Destination [{0}] ends with / but the job's first input has no file name to name the output after"
    )]
    NoInputName(String),
    /// A part of the output's file name holds a control character (no file name or process argument holds NUL)
    /// or a `/` (the engine renders a group's files into one folder).
    #[error("{0:?} holds a control character or a /: the engine writes no such output file name")]
    UnwritableName(String),
}

/// Refuses a part of an output's file name (its base name, NameModifier or Extension) that cannot be part of one
/// name in the group's folder, before it reaches ffmpeg's arguments: a control character would fail the run when
/// ffmpeg is started, a `/` would write into a subfolder or, with `..`, outside the job's work folder.
pub fn check_file_name(name: &str) -> Result<(), NamingError> {
    if name.chars().any(|c| c.is_control() || c == '/') {
        Err(NamingError::UnwritableName(name.to_owned()))
    } else {
        Ok(())
    }
}

/// The file name of `uri` without folders and without its last extension (`s3://b/in/movie.mov` gives `movie`).
pub fn input_base_name(uri: &str) -> &str {
    let name = uri.rsplit('/').next().unwrap_or(uri);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// The output location without modifier and extension: `destination` + base name.
///
/// `first_input` is the job's first input file URI (None for generated inputs).
pub fn output_base(destination: &str, first_input: Option<&str>) -> Result<String, NamingError> {
    if destination.ends_with('/') {
        let input = first_input.ok_or_else(|| NamingError::NoInputName(destination.into()))?;
        Ok(format!("{destination}{}", input_base_name(input)))
    } else {
        Ok(destination.to_string())
    }
}

/// Replaces the format identifiers MediaConvert accepts in a NameModifier that the engine implements:
/// `$fn$` (input file base name), `$w$`/`$h$` (output width/height) and `$$` (a literal `$`).
pub fn expand_modifier(
    modifier: &str,
    first_input: Option<&str>,
    width: u32,
    height: u32,
) -> Result<String, NamingError> {
    let mut out = String::new();
    let mut rest = modifier;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('$')
            .ok_or_else(|| NamingError::UnsupportedIdentifier(rest[start..].into()))?;
        let identifier = &after[..end];
        match identifier {
            "" => out.push('$'),
            "fn" => out.push_str(first_input.map(input_base_name).unwrap_or_default()),
            "w" => out.push_str(&width.to_string()),
            "h" => out.push_str(&height.to_string()),
            other => return Err(NamingError::UnsupportedIdentifier(format!("${other}$"))),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_destination_takes_the_first_inputs_base_name() {
        let base = output_base("s3://b/out/", Some("s3://b/in/movie.mov")).unwrap();
        assert_eq!(format!("{base}_720p.mp4"), "s3://b/out/movie_720p.mp4");
    }

    #[test]
    fn named_destination_is_the_base_name() {
        assert_eq!(
            output_base("s3://b/out/clip", Some("s3://b/in/movie.mov")).unwrap(),
            "s3://b/out/clip"
        );
        assert_eq!(
            output_base("s3://b/out", Some("s3://b/in/movie.mov")).unwrap(),
            "s3://b/out"
        );
    }

    /// The compositing plan the survey client started from wrote its output to a folder destination with the whole
    /// `{stream}_composited.mp4` name as modifier, which MediaConvert prefixes with the input's name once more.
    #[test]
    fn a_folder_destination_doubles_a_modifier_that_repeats_the_stream_name() {
        let base = output_base("s3://bucket/", Some("s3://bucket/abc.mp4")).unwrap();
        assert_eq!(
            format!("{base}abc_composited.mp4"),
            "s3://bucket/abcabc_composited.mp4"
        );
    }

    /// Found by fuzzing (fuzz/corpus/engine_plan/regression-nul-in-name-modifier.json): a NUL in a NameModifier
    /// reached ffmpeg's arguments.
    #[test]
    fn a_file_name_with_a_control_character_or_a_slash_is_refused() {
        assert_eq!(check_file_name("clip_720p"), Ok(()));
        assert_eq!(check_file_name("caf\u{e9} $ .. name"), Ok(()));
        for name in ["clip\0", "clip\n", "clip/../../etc/x", "/clip"] {
            assert_eq!(
                check_file_name(name),
                Err(NamingError::UnwritableName(name.into()))
            );
        }
    }

    #[test]
    fn modifier_identifiers_expand() {
        assert_eq!(
            expand_modifier("_$w$x$h$", None, 1280, 720).unwrap(),
            "_1280x720"
        );
        assert_eq!(
            expand_modifier("_$fn$_$$", Some("s3://b/a.mp4"), 1, 1).unwrap(),
            "_a_$"
        );
        assert_eq!(
            expand_modifier("_$dt$", None, 1, 1),
            Err(NamingError::UnsupportedIdentifier("$dt$".into()))
        );
        assert!(output_base("s3://b/out/", None).is_err());
    }
}
