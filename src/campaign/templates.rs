//! The compiled Tera templates of a campaign, with where each one's text
//! sits in its file so that Tera's positions become the file's
//! `line:column`, and rendering bounded so that no template can hang or
//! exhaust the machine.
//!
//! This is the one place that knows Tera: `render` asks it for text,
//! `check` for problems, and whoever inspects templates (`tera()`,
//! `source()`, `origins()`, `mentions()`) starts here. Tera 2.4 keeps its
//! parser and AST private: what it offers is `get_template_variables` and
//! component introspection; anything finer reads `source()`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Range;
use std::time::{Duration, Instant};

use super::source::Sources;
use crate::campaign::diagnostic::{Problem, Severity, did_you_mean};

/// Longest a single letter may take to render.
pub const TIME_LIMIT: Duration = Duration::from_secs(5);
/// Extra time a letter may take per signatory: a petition of a million
/// names takes seconds to render, and must not be refused as a runaway loop.
pub const TIME_PER_SIGNATORY: Duration = Duration::from_micros(50);
/// Largest letter, before the allowance per signatory (a petition lists
/// everyone, 40,000 names are about 2 MB).
pub const SIZE_LIMIT: usize = 4 << 20;
/// Extra bytes a letter may have per signatory.
pub const SIZE_PER_SIGNATORY: usize = 1024;
/// `range()` longer than this is refused (Tera's own limit).
const MAX_RANGE: i128 = 100_000;

/// Where a template's text comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// Index into `Sources::letters`.
    pub file: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// The whole file (partials).
    Whole,
    /// A letter body: the template is `prefix` bytes of comment standing in
    /// for the front matter, then the file from `body_start`.
    Body { prefix: usize, body_start: usize },
    /// The subject, a TOML string in the front matter; `start` is the byte
    /// of its first character when the TOML text is the template verbatim.
    Subject { value: Range<usize>, verbatim: bool },
}

impl Origin {
    pub fn whole(file: usize) -> Self {
        Origin {
            file,
            kind: Kind::Whole,
        }
    }

    pub fn body(file: usize, prefix: usize, body_start: usize) -> Self {
        Origin {
            file,
            kind: Kind::Body { prefix, body_start },
        }
    }

    /// `value` is the span of the TOML string (quotes included) in the file.
    pub fn subject(file: usize, value: Range<usize>, verbatim: bool) -> Self {
        Origin {
            file,
            kind: Kind::Subject { value, verbatim },
        }
    }

    /// The file's byte span for a span of the template's text.
    fn to_file(&self, span: Range<usize>) -> Range<usize> {
        match &self.kind {
            Kind::Whole => span,
            Kind::Body { prefix, body_start } => {
                let map = |t: usize| body_start + t.saturating_sub(*prefix);
                map(span.start)..map(span.end)
            }
            Kind::Subject { value, verbatim } if *verbatim => {
                value.start + 1 + span.start..value.start + 1 + span.end
            }
            Kind::Subject { value, .. } => value.clone(),
        }
    }
}

/// A campaign's templates, compiled once.
#[derive(Debug, Clone)]
pub struct Templates {
    tera: tera::Tera,
    origins: BTreeMap<String, Origin>,
    /// Templates left out (compiled empty) because they are broken.
    broken: Vec<String>,
    /// Each template's text as compiled, for whoever inspects templates.
    texts: BTreeMap<String, String>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            tera: engine(),
            origins: BTreeMap::new(),
            broken: Vec::new(),
            texts: BTreeMap::new(),
        }
    }
}

/// A Tera with our settings: plain text, nothing escaped, `range` bounded
/// by the letter's time limit.
fn engine() -> tera::Tera {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::<&str>::new());
    tera.register_function("range", range);
    tera
}

thread_local! {
    /// When the letter being rendered on this thread must be finished.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

fn past_deadline() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|at| Instant::now() > at))
}

/// Tera's `range`, also stopping loops that print nothing once the letter
/// is out of time (a loop inside a loop calls it again and again).
fn range(kwargs: tera::Kwargs, _: &tera::State) -> tera::TeraResult<Vec<i128>> {
    if past_deadline() {
        return Err(tera::Error::message(too_slow()));
    }
    let start = kwargs.get::<i128>("start")?.unwrap_or_default();
    let end = kwargs.must_get::<i128>("end")?;
    let step = kwargs.get::<i128>("step_by")?.unwrap_or(1);
    if step == 0 {
        return Err(tera::Error::message(
            "Function `range` was called with a `step_by` argument of 0",
        ));
    }
    let len = if (step > 0 && end > start) || (step < 0 && start > end) {
        let span = end.abs_diff(start);
        let step = step.unsigned_abs();
        span.div_ceil(step)
    } else {
        0
    };
    if len > MAX_RANGE as u128 {
        return Err(tera::Error::message(format!(
            "`range` would produce {len} numbers; a letter may use at most {MAX_RANGE}"
        )));
    }
    Ok((0..len as i128).map(|i| start + i * step).collect())
}

/// Why a letter longer than `limit` bytes is refused.
pub fn too_big(limit: usize) -> String {
    format!(
        "the letter grew past {:.1} MB",
        limit as f64 / f64::from(1 << 20)
    )
}

fn too_slow() -> String {
    format!(
        "rendering took longer than {} seconds (and {} µs per signatory)",
        TIME_LIMIT.as_secs(),
        TIME_PER_SIGNATORY.as_micros()
    )
}

/// The output of one template, refused once it grows past `limit` bytes or
/// the deadline passes.
struct Bounded {
    out: Vec<u8>,
    limit: usize,
    deadline: Instant,
    broke: Option<String>,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() + buf.len() > self.limit {
            self.broke = Some(too_big(self.limit));
        } else if Instant::now() > self.deadline {
            self.broke = Some(too_slow());
        }
        if self.broke.is_some() {
            return Err(io::Error::other("letter too large or too slow"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why a template did not render.
#[derive(Debug)]
pub enum Failure {
    /// A mistake in the template, at a place in a campaign file.
    Template(Box<Problem>),
    /// The letter went past the size or time limit.
    Limit(String),
}

impl Templates {
    /// Compiles `list` (template name, text, origin). All are compiled
    /// together so that includes resolve. Tera stops at the first mistake:
    /// the broken template is then blanked (so that what includes it still
    /// compiles) and the rest compiled again, to report every broken file.
    pub fn compile(sources: &Sources, list: Vec<(String, String, Origin)>) -> (Self, Vec<Problem>) {
        let mut templates = Templates::default();
        for (name, _, origin) in &list {
            templates.origins.insert(name.clone(), origin.clone());
        }
        let mut problems = Vec::new();
        let mut texts: Vec<(String, String)> = list.into_iter().map(|(n, t, _)| (n, t)).collect();
        for _ in 0..=texts.len() {
            let mut tera = engine();
            let Err(err) = tera.add_raw_templates(texts.iter().map(|(n, t)| (n, t))) else {
                templates.tera = tera;
                break;
            };
            let mut culprits = Vec::new();
            match err.kind() {
                tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => {
                    culprits.push(r.filename().to_string());
                    let text = texts
                        .iter()
                        .find(|(n, _)| n == r.filename())
                        .map(|(_, t)| t);
                    // Tera reports an unclosed tag at the end of the file:
                    // the mistake is where the tag was opened.
                    let unclosed = text
                        .filter(|_| r.message() == "Unexpected end of input")
                        .and_then(|t| unclosed_tag(t));
                    problems.push(match unclosed {
                        Some((span, tag)) => templates
                            .problem_at_bytes(
                                sources,
                                r.filename(),
                                span,
                                format!("template error: `{{% {tag} %}}` is never closed"),
                            )
                            .with_help(format!("add `{{% end{tag} %}}` where it should end")),
                        None => templates.problem(sources, r.filename(), &err),
                    });
                }
                tera::ErrorKind::CircularInclude { tpl, include_chain } => {
                    culprits.push(tpl.clone());
                    problems.push(templates.whole_file_problem(
                        sources,
                        tpl,
                        format!(
                            "template error: `{tpl}` includes itself ({})",
                            include_chain.join(" includes ")
                        ),
                        Some("a partial must not include itself, directly or through another"),
                    ));
                }
                tera::ErrorKind::Msg(text)
                    if text.lines().any(|l| l.trim_start().starts_with("--> ")) =>
                {
                    // Tera's checks after parsing (unknown include, filter,
                    // function…) come as one text of reports.
                    for (name, line, column, message) in reports(text) {
                        let source = texts.iter().find(|(n, _)| *n == name).map(|(_, t)| t);
                        let partials: Vec<&str> = texts
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .filter(|n| !n.contains('#'))
                            .collect();
                        let help = unknown_name_help(&message, &partials);
                        problems.push(match source {
                            Some(source) => {
                                templates.problem_at(sources, &name, source, line, column, &message)
                            }
                            None => templates.whole_file_problem(
                                sources,
                                &name,
                                template_message(&message),
                                None,
                            ),
                        });
                        if let (Some(help), Some(last)) = (help, problems.pop()) {
                            problems.push(last.with_help(help));
                        }
                        culprits.push(name);
                    }
                }
                _ => problems.push(templates.problem(sources, "", &err)),
            }
            let mut blanked = false;
            for (name, text) in texts.iter_mut() {
                if culprits.contains(name) && !text.is_empty() {
                    text.clear();
                    templates.broken.push(name.clone());
                    blanked = true;
                }
            }
            if !blanked {
                break;
            }
        }
        let recursive = recursive_components(&texts);
        for call in &recursive {
            problems.push(
                templates
                    .problem_at_bytes(
                        sources,
                        &call.template,
                        call.span.clone(),
                        format!(
                            "template error: component `{}` calls itself ({})",
                            call.name,
                            call.cycle.join(" → ")
                        ),
                    )
                    .with_help(
                        "a letter has no need of recursion, and it can run away: \
                         write the repeated part out, or loop with {% for %}",
                    ),
            );
        }
        // Left out like a broken template, so it is reported once.
        if !recursive.is_empty() {
            for (name, text) in texts.iter_mut() {
                if recursive.iter().any(|c| c.template == *name) {
                    text.clear();
                    templates.broken.push(name.clone());
                }
            }
            let mut tera = engine();
            if tera
                .add_raw_templates(texts.iter().map(|(n, t)| (n, t)))
                .is_ok()
            {
                templates.tera = tera;
            }
        }
        templates.texts = texts.into_iter().collect();
        (templates, problems)
    }

    /// Renders template `name` within `limit` bytes and `TIME_LIMIT` (plus
    /// `TIME_PER_SIGNATORY` for each signatory `limit` allows for).
    pub fn render(
        &self,
        sources: &Sources,
        name: &str,
        context: &tera::Context,
        limit: usize,
    ) -> Result<String, Failure> {
        // `limit` grows with the signatories; so does the time allowed.
        let signatories = limit.saturating_sub(SIZE_LIMIT) / SIZE_PER_SIGNATORY;
        let allowed =
            TIME_LIMIT + TIME_PER_SIGNATORY * u32::try_from(signatories).unwrap_or(u32::MAX);
        let deadline = Instant::now() + allowed;
        let mut out = Bounded {
            out: Vec::with_capacity(4096),
            limit,
            deadline,
            broke: None,
        };
        DEADLINE.with(|d| d.set(Some(deadline)));
        let result = self.tera.render_to(name, context, &mut out);
        DEADLINE.with(|d| d.set(None));
        if let Some(reason) = out.broke {
            return Err(Failure::Limit(reason));
        }
        match result {
            Ok(()) => String::from_utf8(out.out)
                .map_err(|_| Failure::Limit("the letter is not valid UTF-8".into())),
            Err(err) if error_text(&err).contains(&too_slow()) => Err(Failure::Limit(too_slow())),
            Err(err) => Err(Failure::Template(Box::new(
                self.problem(sources, name, &err),
            ))),
        }
    }

    /// Whether template `name`, or a partial it includes, mentions the
    /// top-level variable `variable` anywhere.
    pub fn mentions(&self, name: &str, variable: &str) -> bool {
        self.tera
            .get_template_variables(name)
            .is_ok_and(|vars| vars.contains(variable))
    }

    /// Whether some template did not compile (and was left out).
    pub fn any_broken(&self) -> bool {
        !self.broken.is_empty()
    }

    /// The compiled engine, for inspecting templates.
    pub fn tera(&self) -> &tera::Tera {
        &self.tera
    }

    /// The text Tera compiled for template `name` (a letter body starts
    /// with the comment standing in for its front matter; a broken
    /// template is empty).
    pub fn source(&self, name: &str) -> Option<&str> {
        self.texts.get(name).map(String::as_str)
    }

    /// Template names with where their text comes from.
    pub fn origins(&self) -> &BTreeMap<String, Origin> {
        &self.origins
    }

    /// A problem at `line:column` (1-based, characters) of template `name`,
    /// whose text is `source`.
    fn problem_at(
        &self,
        sources: &Sources,
        name: &str,
        source: &str,
        line: usize,
        column: usize,
        message: &str,
    ) -> Problem {
        let Some(start) = byte_at(source, line, column) else {
            return self.whole_file_problem(sources, name, template_message(message), None);
        };
        // The span ends where the name or word that starts there ends.
        let len = source[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '"'))
            .unwrap_or(0)
            .max(1);
        self.problem_at_bytes(sources, name, start..start + len, template_message(message))
    }

    /// A problem at a byte span of template `name`'s text.
    fn problem_at_bytes(
        &self,
        sources: &Sources,
        name: &str,
        span: Range<usize>,
        message: String,
    ) -> Problem {
        let origin = self.origins.get(name);
        match origin.and_then(|o| sources.letters.get(o.file).map(|f| (o, f))) {
            Some((origin, file)) => Problem::at(
                Severity::Error,
                &file.name,
                &file.text,
                origin.to_file(span),
                message,
            ),
            None => self.whole_file_problem(sources, name, message, None),
        }
    }

    /// A problem about template `name` as a whole.
    fn whole_file_problem(
        &self,
        sources: &Sources,
        name: &str,
        message: String,
        help: Option<&str>,
    ) -> Problem {
        let file = self
            .origins
            .get(name)
            .and_then(|o| sources.letters.get(o.file))
            .map_or(name, |f| f.name.as_str());
        let problem = Problem::in_file(Severity::Error, file, message);
        match help {
            Some(help) => problem.with_help(help),
            None => problem,
        }
    }

    /// A Tera error as a problem at its place in the campaign's files.
    /// `name` is the template being compiled or rendered; a report names
    /// the template it is really in (an included partial).
    pub fn problem(&self, sources: &Sources, name: &str, err: &tera::Error) -> Problem {
        let report = match err.kind() {
            tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => Some(r),
            _ => None,
        };
        let in_template = report.map_or(name, |r| r.filename());
        let origin = self
            .origins
            .get(in_template)
            .or_else(|| self.origins.get(name));
        let file = origin.and_then(|o| sources.letters.get(o.file));
        let message = match report {
            Some(r) => r.message().to_string(),
            None => error_text(err),
        };
        let (Some(origin), Some(file), Some(report)) = (origin, file, report) else {
            let file_name = file.map_or_else(
                || {
                    sources
                        .recipients
                        .name
                        .replace("recipients.toml", "letters/")
                },
                |f| f.name.clone(),
            );
            return Problem::in_file(Severity::Error, &file_name, template_message(&message));
        };
        let span = origin.to_file(report.span().range.clone());
        let span = span.start.min(file.text.len())..span.end.min(file.text.len());
        let (message, help) = explain(&message, &file.text, &span);
        let problem = Problem::at(Severity::Error, &file.name, &file.text, span, message);
        match help {
            Some(help) => problem.with_help(help),
            None => problem,
        }
    }
}

/// The innermost block tag (`if`, `for`…) that `text` opens and never
/// closes: its byte span (the tag's name) and name.
fn unclosed_tag(text: &str) -> Option<(Range<usize>, &'static str)> {
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
struct RecursiveCall {
    template: String,
    span: Range<usize>,
    name: String,
    /// `a → b → a`.
    cycle: Vec<String>,
}

/// Components that call themselves, directly or through others. Found in
/// the template texts: Tera would only stop them at render time, 20 calls
/// deep. Definitions are `{% component NAME(…) %}…{% endcomponent %}`
/// (never nested); calls are `<NAME` inside a tag.
fn recursive_components(texts: &[(String, String)]) -> Vec<RecursiveCall> {
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
fn cycle_from(
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

/// Tera's own filters, tests and functions, for "did you mean".
const FILTERS: &[&str] = &[
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
const TESTS: &[&str] = &[
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
const FUNCTIONS: &[&str] = &["range", "throw"];

/// "did you mean `upper`?" for Tera's "Unknown filter `uper`", and the
/// same for tests, functions and partials (`templates`).
fn unknown_name_help(message: &str, templates: &[&str]) -> Option<String> {
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
fn reports(text: &str) -> Vec<(String, usize, usize, String)> {
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
fn byte_at(text: &str, line: usize, column: usize) -> Option<usize> {
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

fn template_message(message: &str) -> String {
    format!("template error: {message}")
}

/// Tera's messages made to name the whole expression (`signer.nme`, not
/// `nme`) and to suggest the likely name.
fn explain(message: &str, text: &str, span: &Range<usize>) -> (String, Option<String>) {
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

/// Tera's error and its causes, in one line.
fn error_text(err: &tera::Error) -> String {
    super::error_chain(err)
}
