//! Building an ffmpeg command: inputs, one `-filter_complex` graph with generated pad labels, and outputs.

use std::path::Path;

/// An ffmpeg command line under construction.
#[derive(Debug, Default)]
pub struct Graph {
    inputs: Vec<Vec<String>>,
    chains: Vec<String>,
    outputs: Vec<Vec<String>>,
    next_label: usize,
}

impl Graph {
    /// Adds an input file with options placed before its `-i`; returns its ffmpeg input index.
    pub fn file_input(&mut self, options: &[String], path: &Path) -> usize {
        let mut args = options.to_vec();
        args.extend(["-i".to_string(), path.display().to_string()]);
        self.inputs.push(args);
        self.inputs.len() - 1
    }

    /// Adds a lavfi source (for example `color=c=black:s=64x64:r=25:d=2`); returns its input index.
    pub fn lavfi_input(&mut self, source: &str) -> usize {
        self.inputs.push(vec![
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            source.into(),
        ]);
        self.inputs.len() - 1
    }

    /// A new, unused pad label such as `[p7]`.
    pub fn label(&mut self) -> String {
        self.next_label += 1;
        format!("[p{}]", self.next_label)
    }

    /// Adds `inputs filters [output]` to the graph and returns the new output label.
    pub fn chain(&mut self, inputs: &str, filters: &str) -> String {
        let out = self.label();
        self.chains.push(format!("{inputs}{filters}{out}"));
        out
    }

    /// Adds a filter with several outputs (`split`, `asplit`) and returns their labels.
    pub fn fan_out(&mut self, input: &str, filter: &str, count: usize) -> Vec<String> {
        let labels: Vec<String> = (0..count).map(|_| self.label()).collect();
        self.chains
            .push(format!("{input}{filter}={count}{}", labels.concat()));
        labels
    }

    /// Adds a complete filter chain with its own input and output labels.
    pub fn push_raw(&mut self, chain: String) {
        self.chains.push(chain);
    }

    /// Adds an output: its `-map`s, codec and muxer options, and target, in ffmpeg's order.
    pub fn output(&mut self, args: Vec<String>) {
        self.outputs.push(args);
    }

    /// The whole argument list (without the program name and global flags).
    pub fn into_args(self) -> Vec<String> {
        let mut args: Vec<String> = self.inputs.into_iter().flatten().collect();
        if !self.chains.is_empty() {
            args.extend(["-filter_complex".to_string(), self.chains.join(";")]);
        }
        args.extend(self.outputs.into_iter().flatten());
        args
    }
}
