//! What Tera's errors mean in a campaign's words: the tag left open, the
//! component that calls itself, the misspelt filter, test or function
//! with its likely intended name, and where in the file each one is.

use std::ops::Range;

use crate::campaign::diagnostic::did_you_mean;

/// The innermost block tag (`if`, `for`…) that `text` opens and never
/// closes: its byte span (the tag's name) and name.
pub(super) fn unclosed_tag(text: &str) -> Option<(Range<usize>, &'static str)> {
    const BLOCKS: [&str; 6] = ["if", "for", "filter", "component", "raw", "block"];
    let mut open: Vec<(Range<usize>, &'static str)> = Vec::new();
    let mut at = 0;
    while let Some(start) = text[at..].find("{%").map(|i| at + i) {
        let inner = &text[start + 2..];
        let end = inner.find("%}").map_or(text.len(), |i| start + 2 + i);
        let tag = text[start + 2..end].trim_start_matches('-').trim_start();
        let word_len = tag
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(tag.len());
        let word = &tag[..word_len];
        let word_start = end - tag.len();
        if let Some(block) = BLOCKS.iter().find(|b| **b == word) {
            open.push((word_start..word_start + word_len, block));
        } else if let Some(closed) = word.strip_prefix("end")
            && let Some(i) = open.iter().rposition(|(_, b)| *b == closed)
        {
            open.truncate(i);
        }
        at = end.max(start + 2);
    }
    open.pop()
}

/// A call that closes a cycle of components calling each other.
pub(super) struct RecursiveCall {
    pub(super) template: String,
    pub(super) span: Range<usize>,
    pub(super) name: String,
    /// `a → b → a`.
    pub(super) cycle: Vec<String>,
}

/// Components that call themselves, directly or through others. Found in
/// the template texts: Tera would only stop them at render time, 20 calls
/// deep. Definitions are `{% component NAME(…) %}…{% endcomponent %}`
/// (never nested); calls are `<NAME` inside a tag.
pub(super) fn recursive_components(texts: &[(String, String)]) -> Vec<RecursiveCall> {
    struct Def<'a> {
        template: &'a str,
        name: &'a str,
        body: Range<usize>,
    }
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let mut defs = Vec::new();
    for (template, text) in texts {
        let mut at = 0;
        while let Some(open) = text[at..].find("{%").map(|i| at + i) {
            let rest = text[open + 2..].trim_start_matches('-').trim_start();
            at = open + 2;
            let Some(after) = rest.strip_prefix("component") else {
                continue;
            };
            let after_trimmed = after.trim_start();
            if after_trimmed.len() == after.len() {
                continue; // `componentx`, not the tag
            }
            let name_len = after_trimmed.find(|c: char| !ident(c)).unwrap_or(0);
            let name_start = text.len() - after_trimmed.len();
            let name = &text[name_start..name_start + name_len];
            let Some(body_start) = text[name_start..].find("%}").map(|i| name_start + i + 2) else {
                break;
            };
            let body_end = text[body_start..]
                .find("endcomponent")
                .map_or(text.len(), |i| body_start + i);
            defs.push(Def {
                template,
                name,
                body: body_start..body_end,
            });
            at = body_end;
        }
    }
    // Calls from each definition to known components: (caller, callee, where).
    let mut calls: Vec<(usize, usize, Range<usize>)> = Vec::new();
    for (caller, def) in defs.iter().enumerate() {
        let Some(body) = texts
            .iter()
            .find(|(n, _)| n == def.template)
            .and_then(|(_, text)| text.get(def.body.clone()))
        else {
            continue;
        };
        for (i, _) in body.match_indices('<') {
            let rest = &body[i + 1..];
            let len = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
            let called = &rest[..len];
            if let Some(callee) = defs.iter().position(|d| d.name == called) {
                let start = def.body.start + i + 1;
                calls.push((caller, callee, start..start + len));
            }
        }
    }
    // A cycle through each definition, reported once for its first member.
    let mut out = Vec::new();
    let mut reported: Vec<Vec<usize>> = Vec::new();
    for start in 0..defs.len() {
        let mut path = vec![start];
        let mut via: Vec<Range<usize>> = Vec::new();
        if let Some(span) = cycle_from(start, start, &calls, &mut path, &mut via) {
            let mut members = path.clone();
            members.sort_unstable();
            members.dedup();
            if reported.contains(&members) {
                continue;
            }
            reported.push(members);
            let mut cycle: Vec<String> = path.iter().map(|&d| defs[d].name.to_string()).collect();
            cycle.push(defs[start].name.to_string());
            out.push(RecursiveCall {
                template: defs[start].template.to_string(),
                span: via.first().cloned().unwrap_or(span),
                name: defs[start].name.to_string(),
                cycle,
            });
        }
    }
    out
}

/// Depth-first: a path of calls from `at` back to `target`; `path` and
/// `via` end up holding the definitions and call spans along it.
pub(super) fn cycle_from(
    target: usize,
    at: usize,
    calls: &[(usize, usize, Range<usize>)],
    path: &mut Vec<usize>,
    via: &mut Vec<Range<usize>>,
) -> Option<Range<usize>> {
    for (caller, callee, span) in calls.iter().filter(|(c, _, _)| *c == at) {
        let _ = caller;
        if *callee == target {
            via.push(span.clone());
            return Some(span.clone());
        }
        if path.contains(callee) || path.len() > calls.len() {
            continue;
        }
        path.push(*callee);
        via.push(span.clone());
        if let Some(found) = cycle_from(target, *callee, calls, path, via) {
            return Some(found);
        }
        path.pop();
        via.pop();
    }
    None
}

/// Tera's own filters, tests and functions, and ours, for "did you mean".
pub(super) const FILTERS: &[&str] = &[
    "guillemets",
    "safe",
    "default",
    "upper",
    "lower",
    "wordcount",
    "escape",
    "escape_html",
    "escape_xml",
    "newlines_to_br",
    "pluralize",
    "trim",
    "trim_start",
    "trim_end",
    "replace",
    "capitalize",
    "title",
    "truncate",
    "indent",
    "str",
    "int",
    "float",
    "length",
    "reverse",
    "split",
    "abs",
    "round",
    "first",
    "last",
    "nth",
    "join",
    "sort",
    "unique",
    "get",
    "values",
    "keys",
    "pairs",
    "group_by",
];
pub(super) const TESTS: &[&str] = &[
    "string",
    "number",
    "map",
    "bool",
    "array",
    "integer",
    "float",
    "none",
    "iterable",
    "defined",
    "undefined",
    "odd",
    "even",
    "divisible_by",
    "starting_with",
    "ending_with",
    "containing",
];
pub(super) const FUNCTIONS: &[&str] = &["range", "throw"];

/// The tags Tera knows (`{% endif %}`…), for "did you mean".
pub(super) const TAGS: &[&str] = &[
    "if",
    "elif",
    "else",
    "endif",
    "for",
    "endfor",
    "break",
    "continue",
    "set",
    "set_global",
    "include",
    "extends",
    "block",
    "endblock",
    "filter",
    "endfilter",
    "component",
    "endcomponent",
    "raw",
    "endraw",
];

/// Tera's bare "Unknown tag", naming the tag and its likely intended one.
fn unknown_tag(word: &str) -> (String, Option<String>) {
    let word: String = word
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let help = match did_you_mean(&word, TAGS.iter().copied()) {
        Some(guess) => format!("did you mean `{{% {guess} %}}`?"),
        None => format!("known tags: {}", TAGS.join(", ")),
    };
    (
        template_message(&format!("unknown tag `{word}`")),
        Some(help),
    )
}

/// "did you mean `upper`?" for Tera's "Unknown filter `uper`", and the
/// same for tests, functions and partials (`templates`).
pub(super) fn unknown_name_help(message: &str, templates: &[&str]) -> Option<String> {
    let (kind, rest) = message.strip_prefix("Unknown ")?.split_once(" `")?;
    let wanted = rest.split('`').next()?;
    let known: &[&str] = match kind {
        "filter" => FILTERS,
        "test" => TESTS,
        "function" => FUNCTIONS,
        "template" => templates,
        _ => return None,
    };
    let what = if kind == "template" { "partial" } else { kind };
    match did_you_mean(wanted, known.iter().copied()) {
        Some(guess) => Some(format!("did you mean `{guess}`?")),
        None if kind == "template" => Some(format!(
            "no letters/{wanted} in the campaign; known: {}",
            known.join(", ")
        )),
        None => Some(format!("known {what}s: {}", known.join(", "))),
    }
}

/// The reports in one of Tera's texts of several: (template, line, column,
/// message) for each `error: MESSAGE\n  --> NAME:LINE:COLUMN` block.
pub(super) fn reports(text: &str) -> Vec<(String, usize, usize, String)> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines();
        let Some(message) = lines.next().and_then(|l| l.strip_prefix("error: ")) else {
            continue;
        };
        let Some(place) = lines.find_map(|l| l.trim_start().strip_prefix("--> ")) else {
            continue;
        };
        let mut parts = place.rsplitn(3, ':');
        let (Some(column), Some(line), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if let (Ok(line), Ok(column)) = (line.parse(), column.parse()) {
            out.push((name.to_string(), line, column, message.to_string()));
        }
    }
    out
}

/// The byte offset of `line:column` (1-based, characters) in `text`.
pub(super) fn byte_at(text: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[start..];
    let offset = rest
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    Some(start + offset)
}

pub(super) fn template_message(message: &str) -> String {
    format!("template error: {message}")
}

/// Tera's messages made to name the whole expression (`signer.nme`, not
/// `nme`) and to suggest the likely name.
pub(super) fn explain(message: &str, text: &str, span: &Range<usize>) -> (String, Option<String>) {
    if message == "Unknown tag" {
        return unknown_tag(text.get(span.clone()).unwrap_or_default());
    }
    // `{% for x in recipient.adress %}`, `{{ y | upper }}`: the name is
    // undefined, and Tera speaks only of its type.
    if message.ends_with("`undefined`") {
        let rest = text.get(span.start..).unwrap_or_default();
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        if !path.is_empty() {
            return (
                template_message(&format!("`{path}` is undefined ({})", lower_first(message))),
                Some("check its spelling against what a letter sees (see the README)".into()),
            );
        }
    }
    let (Some(name), Some(list)) = (
        message.split('`').nth(1),
        message
            .split_once("Available fields: ")
            .or_else(|| message.split_once("Available variables: "))
            .map(|(_, l)| l.trim_end_matches('.')),
    ) else {
        return (template_message(message), None);
    };
    let known: Vec<&str> = list.split(", ").collect();
    // The dotted path that ends at the span: `signer.nme`.
    let Some(before) = text.get(..span.start) else {
        return (template_message(message), None);
    };
    let path_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map_or(span.start, |(i, _)| i);
    let path = format!("{}{name}", &text[path_start..span.start]);
    let parent = path.rsplit_once('.').map(|(p, _)| p);
    let what = match parent {
        Some(p) => format!("`{p}` has no field `{name}`"),
        None => format!("undefined variable `{name}`"),
    };
    let has = match parent {
        Some(p) => format!("`{p}` has: {}", known.join(", ")),
        None => format!("known variables: {}", known.join(", ")),
    };
    let help = match did_you_mean(name, known.iter().copied()) {
        Some(guess) => {
            let full = match parent {
                Some(p) => format!("{p}.{guess}"),
                None => guess.to_string(),
            };
            format!("did you mean `{full}`? {has}")
        }
        None => has,
    };
    (format!("template error: {what}"), Some(help))
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// Tera's error and its causes, in one line.
pub(super) fn error_text(err: &tera::Error) -> String {
    super::error_chain(err)
}
