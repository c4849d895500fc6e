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
use super::template_errors::{
    byte_at, error_text, explain, recursive_components, reports, template_message, unclosed_tag,
    unknown_name_help,
};
use crate::campaign::diagnostic::{Problem, Severity};

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

    /// The template's byte for byte `at` of the file, where the template's
    /// text is the file's verbatim.
    fn in_template(&self, at: usize) -> Option<usize> {
        match &self.kind {
            Kind::Whole => Some(at),
            Kind::Body { prefix, body_start } => {
                (at >= *body_start).then(|| at - body_start + prefix)
            }
            Kind::Subject { value, verbatim } => {
                (*verbatim && at > value.start && at < value.end).then(|| at - value.start - 1)
            }
        }
    }
}

/// Whether `problem` is a name a letter uses and its context lacks (an
/// undefined variable or field): the mistakes [`Templates::stub_undefined`]
/// can step over.
pub fn is_undefined(problem: &Problem) -> bool {
    let m = &problem.message;
    m.starts_with("template error: undefined variable `")
        || (m.starts_with("template error: `") && m.contains("` has no field `"))
        || (m.starts_with("template error: `") && m.contains("` is undefined ("))
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
/// by the letter's time limit, and our `guillemets` filter.
fn engine() -> tera::Tera {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::<&str>::new());
    tera.register_function("range", range);
    tera.register_filter(
        "guillemets",
        |name: &str, _: tera::Kwargs, _: &tera::State| super::filters::guillemets(name),
    );
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
                        // Only partials are meant to be included: a
                        // letter is never the likely intended name.
                        let partials: Vec<&str> = texts
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .filter(|n| n.starts_with('_') && !n.contains('#'))
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

    /// For `check`, which reports every undefined name, not only the first:
    /// replaces the name `problem` points at (`recipient.nmae`) with an
    /// empty string, padded so that every later position stays where it was,
    /// and compiles that template again, so a trial render can go on to
    /// the next mistake. Whether it did.
    pub fn stub_undefined(&mut self, sources: &Sources, problem: &Problem) -> bool {
        if !is_undefined(problem) {
            return false;
        }
        let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
        for (name, origin) in &self.origins {
            let Some(file) = sources.letters.get(origin.file) else {
                continue;
            };
            if file.name != problem.file {
                continue;
            }
            let Some(at) = byte_at(&file.text, problem.line, problem.column)
                .and_then(|at| origin.in_template(at))
            else {
                continue;
            };
            let Some(text) = self.texts.get(name) else {
                continue;
            };
            let Some((before, after)) = text.split_at_checked(at) else {
                continue;
            };
            let start = at
                - before
                    .chars()
                    .rev()
                    .take_while(|c| ident(*c))
                    .map(char::len_utf8)
                    .sum::<usize>();
            let end = at + after.find(|c: char| !ident(c)).unwrap_or(after.len());
            // As many bytes: the file's positions of what follows hold.
            // An empty list for a loop, else an empty string.
            let empty = if problem.message.contains("(iteration not possible") {
                "[]"
            } else {
                "\"\""
            };
            let stub = match end - start {
                0 => continue,
                1 => "0".to_string(),
                n => format!("{empty}{}", " ".repeat(n - 2)),
            };
            let stubbed = format!("{}{stub}{}", &text[..start], &text[end..]);
            if self.tera.add_raw_template(name, &stubbed).is_ok() {
                self.texts.insert(name.clone(), stubbed);
                return true;
            }
            return false;
        }
        false
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
