//! Reading import files: CSV with a header row, JSON Lines, and MEE6 leaderboard exports.
//! Every row becomes a record or a rejection with its line; only a file that cannot be read
//! at all (no required column, not JSON) is an error.

use std::collections::HashMap;
use std::io::Read;

use serde_json::Value;

use crate::domain::import::{self, Record, Rejected, Source};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
    /// A MEE6 export: one JSON document with `players`.
    Mee6Json,
}

impl Format {
    /// From `--format`, else the file's extension (a MEE6 import is always JSON).
    pub fn choose(source: Source, given: Option<&str>, path: &std::path::Path) -> Result<Format, String> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_lowercase);
        match (source, given.or(ext.as_deref())) {
            (Source::Mee6, None | Some("json")) => Ok(Format::Mee6Json),
            (Source::Mee6, Some(other)) => Err(format!("a MEE6 export is JSON, not {other}")),
            (_, Some("csv")) => Ok(Format::Csv),
            (_, Some("jsonl" | "ndjson")) => Ok(Format::JsonLines),
            (_, other) => Err(format!(
                "cannot tell the format of {} ({}): give --format csv or --format jsonl",
                path.display(),
                other.unwrap_or("no extension")
            )),
        }
    }
}

/// What a file held.
#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    pub rejected: Vec<Rejected>,
    /// Columns (JSON keys) the source does not know: reported, not imported.
    pub unknown_columns: Vec<String>,
    pub rows: u64,
    /// A seed database's events, each as the object of its columns (`ttfd import seed --from`).
    pub history: Vec<serde_json::Map<String, Value>>,
}

impl Parsed {
    pub(super) fn push(&mut self, result: Result<Record, Rejected>) {
        self.rows += 1;
        match result {
            Ok(r) => self.records.push(r),
            Err(r) => self.rejected.push(r),
        }
    }

    pub(super) fn unknown(&mut self, columns: impl IntoIterator<Item = String>) {
        for c in columns {
            if !self.unknown_columns.contains(&c) {
                self.unknown_columns.push(c);
            }
        }
    }
}

pub fn read(
    source: Source,
    format: Format,
    input: impl Read,
    progress: &dyn Fn(u64),
) -> Result<Parsed, String> {
    match format {
        Format::Csv => csv(source, input, progress),
        Format::JsonLines => json_lines(source, input, progress),
        Format::Mee6Json => mee6(input),
    }
}

fn csv(source: Source, input: impl Read, progress: &dyn Fn(u64)) -> Result<Parsed, String> {
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::Headers)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let missing = source.missing_columns(&header);
    if !missing.is_empty() {
        return Err(format!(
            "the header row lacks the required column(s) {}",
            missing.join(", ")
        ));
    }
    let mut parsed = Parsed::default();
    parsed.unknown(source.unknown_columns(&header));
    let mut row = ::csv::StringRecord::new();
    loop {
        let read = reader.read_record(&mut row);
        // Where the row starts (a quoted field may span lines).
        let line = row.position().map_or(reader.position().line(), |p| p.line());
        match read {
            Ok(false) => break,
            Ok(true) if row.len() != header.len() => parsed.push(Err(Rejected {
                line,
                reason: format!("has {} fields, the header has {}", row.len(), header.len()),
            })),
            Ok(true) => {
                let get = |c: &str| header.iter().position(|h| h == c).and_then(|i| row.get(i));
                parsed.push(import::record(source, line, get).map_err(|reason| Rejected { line, reason }));
            }
            Err(e) => parsed.push(Err(Rejected {
                line: e.position().map_or(line, |p| p.line()),
                reason: format!("not CSV: {e}"),
            })),
        }
        if parsed.rows.is_multiple_of(10_000) {
            progress(reader.position().byte());
        }
    }
    progress(reader.position().byte());
    Ok(parsed)
}

/// A JSON value as a column's text: numbers and strings as written, null as absent.
fn text(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(format!("is not a string or number ({other})")),
    }
}

pub(super) fn object_record(
    source: Source,
    line: u64,
    object: &serde_json::Map<String, Value>,
) -> Result<Record, String> {
    let mut fields: HashMap<&str, String> = HashMap::new();
    for (key, value) in object {
        // Lists (a seed row's achievements and platforms) travel as their JSON text.
        let value = match value {
            Value::Array(_) if source == Source::Seed => Some(value.to_string()),
            _ => text(value).map_err(|e| format!("{key} {e}"))?,
        };
        if let Some(t) = value {
            fields.insert(key.as_str(), t);
        }
    }
    import::record(source, line, |c| fields.get(c).map(String::as_str))
}

fn json_lines(source: Source, input: impl Read, progress: &dyn Fn(u64)) -> Result<Parsed, String> {
    use std::io::BufRead;
    let mut parsed = Parsed::default();
    let mut bytes = 0u64;
    for (i, text) in std::io::BufReader::new(input).lines().enumerate() {
        let line = i as u64 + 1;
        let text = text.map_err(|e| format!("cannot read line {line}: {e}"))?;
        bytes += text.len() as u64 + 1;
        if text.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(object)) => {
                parsed.unknown(source.unknown_columns(&object.keys().cloned().collect::<Vec<_>>()));
                object_record(source, line, &object)
            }
            Ok(_) => Err("is not a JSON object".to_owned()),
            Err(e) => Err(format!("is not JSON: {e}")),
        };
        parsed.push(result.map_err(|reason| Rejected { line, reason }));
        if parsed.rows.is_multiple_of(10_000) {
            progress(bytes);
        }
    }
    progress(bytes);
    Ok(parsed)
}

/// MEE6's `players`: `id`, `username`, `xp` and `message_count` are read; its other keys
/// (level, avatar, discriminator...) are MEE6's own and ignored. Rows are numbered by player.
fn mee6(mut input: impl Read) -> Result<Parsed, String> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("not a MEE6 export (not JSON: {e})"))?;
    let players = doc
        .get("players")
        .and_then(Value::as_array)
        .ok_or("not a MEE6 export: no `players` list")?;
    let mut parsed = Parsed::default();
    for (i, player) in players.iter().enumerate() {
        let line = i as u64 + 1;
        let result = match player.as_object() {
            None => Err("is not a JSON object".to_owned()),
            Some(p) => {
                let renamed: serde_json::Map<String, Value> = [
                    ("discord_id", "id"),
                    ("username", "username"),
                    ("xp", "xp"),
                    ("messages_sent", "message_count"),
                ]
                .into_iter()
                .filter_map(|(ours, theirs)| p.get(theirs).map(|v| (ours.to_owned(), v.clone())))
                .collect();
                object_record(Source::Mee6, line, &renamed)
            }
        };
        parsed.push(result.map_err(|reason| Rejected { line, reason }));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    fn none(_: u64) {}

    #[test]
    fn csv_rows_keep_their_file_lines_and_report_unknown_columns() {
        let text = "telegram_id,username,xp,level\n1,ann,10,3\n\"2\",\"bob\nby\",x,1\n3,cid\n";
        let parsed = read(Source::Telegram, Format::Csv, text.as_bytes(), &none).unwrap();
        assert_eq!(parsed.unknown_columns, vec!["level".to_owned()]);
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].line, 2);
        let lines: Vec<u64> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 5], "{:?}", parsed.rejected);
        assert!(
            parsed.rejected[0].reason.contains("username"),
            "{:?}",
            parsed.rejected
        );
        assert_eq!(parsed.rejected[1].reason, "has 2 fields, the header has 4");
    }

    #[test]
    fn a_csv_without_a_required_column_is_refused_whole() {
        let err = read(
            Source::Discord,
            Format::Csv,
            "discord_id,xp\n1,2\n".as_bytes(),
            &none,
        )
        .unwrap_err();
        assert!(err.contains("username"), "{err}");
    }

    #[test]
    fn json_lines_take_numbers_or_strings() {
        let text = "{\"discord_id\": \"80351110224678912\", \"username\": \"ann\", \"xp\": 50, \"voice_seconds\": \"600\"}\n\n[1]\n{\"discord_id\": 5\n";
        let parsed = read(Source::Discord, Format::JsonLines, text.as_bytes(), &none).unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].counters.voice_seconds, 600);
        let lines: Vec<u64> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4]);
    }

    #[test]
    fn mee6_players_are_discord_members() {
        let text = r#"{"page": 0, "players": [
            {"id": "80351110224678912", "username": "ann", "xp": 1200, "message_count": 300, "level": 5},
            {"id": "x", "username": "bob", "xp": 1}]}"#;
        let parsed = read(Source::Mee6, Format::Mee6Json, text.as_bytes(), &none).unwrap();
        assert_eq!(parsed.records.len(), 1);
        let r = &parsed.records[0];
        assert_eq!(
            (
                r.identity(Platform::Discord),
                r.counters.xp,
                r.counters.messages_sent
            ),
            (Some("80351110224678912"), 1200, 300)
        );
        assert_eq!(parsed.rejected[0].line, 2);
        assert!(read(Source::Mee6, Format::Mee6Json, "{}".as_bytes(), &none).is_err());
    }

    #[test]
    fn the_format_comes_from_the_flag_or_the_extension() {
        let p = std::path::Path::new;
        assert_eq!(
            Format::choose(Source::Telegram, None, p("a.CSV")),
            Ok(Format::Csv)
        );
        assert_eq!(
            Format::choose(Source::Discord, None, p("a.jsonl")),
            Ok(Format::JsonLines)
        );
        assert_eq!(
            Format::choose(Source::Discord, Some("csv"), p("a.txt")),
            Ok(Format::Csv)
        );
        assert_eq!(
            Format::choose(Source::Mee6, None, p("lb.json")),
            Ok(Format::Mee6Json)
        );
        assert!(Format::choose(Source::Website, None, p("a.txt")).is_err());
    }
}
