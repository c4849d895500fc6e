//! Whether a letter's templates use the signer's fields only in ways a plan
//! can reproduce: printed as they are (`{{ signer.name }}`) or tested for
//! being non-empty (`{% if signer.organisation %}`), which the signer's
//! shape decides. Anything else (a filter, a comparison, a length, a loop
//! over a field, a `set`) makes the letter take the general path.
//!
//! This reads the template tags itself rather than the engine's syntax
//! tree, so it does not change when the engine does (Tera 2 keeps its tree
//! private). It errs on the safe side: a tag it does not understand that
//! mentions the signer refuses the plan. Every plan is also checked
//! against the general path on its first letter (see `super`).

/// The names under which the templates can reach the signer's values.
const SIGNER_ROOTS: [&str; 3] = ["signer", "signatories", "message"];

/// Fields of `signer` a plan may print or test; `extra.KEY` too.
const FIELDS: [&str; 5] = ["name", "organisation", "email", "address", "country"];

/// `Ok` when every use of the signer in `template` (and in the templates
/// it includes, found with `source`) is one a plan reproduces; otherwise
/// why not, naming the file and line.
pub fn check<'a>(name: &'a str, source: &dyn Fn(&str) -> Option<&'a str>) -> Result<(), String> {
    let mut aliases: Vec<String> = Vec::new();
    each_template(name, source, &mut |next, text| {
        check_text(next, text, &mut aliases)
    })
}

/// What `each_template` calls: a template's name and text; it returns the
/// templates that one includes.
type OnTemplate<'a, 'f> = dyn FnMut(&str, &'a str) -> Result<Vec<String>, String> + 'f;

/// Calls `f` with `name` and every template it includes, once each, with
/// its text; `f` returns the templates the one it got includes.
fn each_template<'a>(
    name: &'a str,
    source: &dyn Fn(&str) -> Option<&'a str>,
    f: &mut OnTemplate<'a, '_>,
) -> Result<(), String> {
    let mut queue = vec![name.to_string()];
    let mut seen: Vec<String> = Vec::new();
    while let Some(next) = queue.pop() {
        if seen.contains(&next) {
            continue;
        }
        let text = source(&next).ok_or_else(|| format!("cannot find template `{next}`"))?;
        queue.extend(f(&next, text)?);
        seen.push(next);
    }
    Ok(())
}

/// Checks one template's text; returns the templates it includes.
/// Loop variables over `signatories` are added to `aliases` (for the rest
/// of the run of the check: wider than their real scope, which is safe).
pub fn check_text(
    name: &str,
    text: &str,
    aliases: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let mut includes = Vec::new();
    each_tag(name, text, &mut |tag, tokens, here| {
        if tag == Tag::Print {
            return check_print(tokens, aliases).map_err(|e| format!("{here}: {e}"));
        }
        match tokens.first().map(String::as_str) {
            Some("include") => {
                includes.extend(included(tokens).map_err(|e| format!("{here}: {e}"))?)
            }
            _ => check_statement(tokens, aliases).map_err(|e| format!("{here}: {e}"))?,
        }
        Ok(())
    })?;
    Ok(includes)
}

/// `{{ … }}` or `{% … %}`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Print,
    Statement,
}

/// Where a tag is: shown as `file:line`, counted only when shown (that is,
/// for an error).
struct Here<'t> {
    name: &'t str,
    text: &'t str,
    at: usize,
}

impl std::fmt::Display for Here<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = self.text[..self.at].matches('\n').count() + 1;
        write!(f, "{}:{line}", self.name)
    }
}

/// What `each_tag` calls: the tag's kind, its words, where it is.
type OnTag<'f> = dyn FnMut(Tag, &[String], &Here<'_>) -> Result<(), String> + 'f;

/// Calls `f` with every tag of `text` but comments and raw blocks: its
/// kind, its words (see `tokens`) and where it is.
fn each_tag(name: &str, text: &str, f: &mut OnTag<'_>) -> Result<(), String> {
    let mut rest = text;
    let mut offset = 0;
    let here = |at: usize| Here { name, text, at };
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let kind = after.as_bytes().get(1).copied();
        let start = offset + open;
        let (close, tag) = match kind {
            Some(b'#') => {
                let Some(end) = after.find("#}") else {
                    return Err(format!("{}: unclosed comment", here(start)));
                };
                rest = &after[end + 2..];
                offset = start + end + 2;
                continue;
            }
            Some(b'{') => ("}}", Tag::Print),
            Some(b'%') => ("%}", Tag::Statement),
            _ => {
                rest = &after[1..];
                offset = start + 1;
                continue;
            }
        };
        let Some(len) = tag_len(&after[2..], close) else {
            return Err(format!("{}: unclosed tag", here(start)));
        };
        let inner = after[2..2 + len].trim_matches('-').trim();
        let tokens = tokens(inner).map_err(|e| format!("{}: {e}", here(start)))?;
        let mut end = 2 + len + 2;
        if tag == Tag::Statement && tokens.first().is_some_and(|t| t == "raw") {
            // Text up to `{% endraw %}` is printed as it is.
            let Some(stop) = find_endraw(&after[end..]) else {
                return Err(format!("{}: unclosed raw block", here(start)));
            };
            end += stop;
        } else {
            f(tag, &tokens, &here(start))?;
        }
        rest = &after[end..];
        offset = start + end;
    }
    Ok(())
}

/// The templates an `{% include %}` names.
fn included(tokens: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for t in &tokens[1..] {
        match t.strip_prefix('"').or_else(|| t.strip_prefix('\'')) {
            Some(lit) => out.push(lit[..lit.len().saturating_sub(1)].to_string()),
            None if t == "ignore" || t == "missing" || t == "[" || t == "]" || t == "," => {}
            None => return Err("an include whose name is not a plain string".into()),
        }
    }
    Ok(out)
}

/// `Ok` when every loop over `signatories` in `template` (and the
/// templates it includes) prints its member's name on every turn, outside
/// any condition, and is neither cut short (`break`, `continue`) nor run
/// inside another loop over them, nor includes a template: then each turn
/// prints its member's values, in order, which is what lets a petition's
/// stand-ins be told apart (see `crate::petition`).
pub fn petition_loops<'a>(
    name: &'a str,
    source: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<(), String> {
    enum Block {
        Other,
        Members {
            alias: String,
            named: bool,
            at: String,
        },
        /// The `else` of a loop over members (run when there are none).
        MembersElse,
    }
    each_template(name, source, &mut |next, text| {
        let mut includes = Vec::new();
        let mut stack: Vec<Block> = Vec::new();
        each_tag(next, text, &mut |tag, tokens, here| {
            let in_loop = stack.iter().any(|b| matches!(b, Block::Members { .. }));
            if tag == Tag::Print {
                if let (Some(Block::Members { alias, named, .. }), [one]) =
                    (stack.last_mut(), tokens)
                    && one.strip_prefix(alias.as_str()) == Some(".name")
                {
                    *named = true;
                }
                return Ok(());
            }
            let keyword = tokens.first().map(String::as_str).unwrap_or("");
            match keyword {
                "for" => {
                    if let [_, alias, kw, container] = tokens
                        && kw == "in"
                        && container == "signatories"
                    {
                        if in_loop {
                            return Err(format!(
                                "{here}: a loop over `signatories` inside another"
                            ));
                        }
                        stack.push(Block::Members {
                            alias: alias.clone(),
                            named: false,
                            at: here.to_string(),
                        });
                    } else {
                        stack.push(Block::Other);
                    }
                }
                "if" | "macro" | "filter" | "block" => stack.push(Block::Other),
                "set" | "set_global" if !tokens.iter().any(|t| t == "=") => {
                    stack.push(Block::Other)
                }
                "else" if matches!(stack.last(), Some(Block::Members { .. })) => {
                    if let Some(Block::Members { alias, named, at }) = stack.pop()
                        && !named
                    {
                        return Err(format!(
                            "{at}: the loop over `signatories` does not print `{{{{ {alias}.name }}}}` on every turn"
                        ));
                    }
                    stack.push(Block::MembersElse);
                }
                "endfor" => {
                    if let Some(Block::Members {
                        alias,
                        named: false,
                        at,
                    }) = stack.pop()
                    {
                        return Err(format!(
                            "{at}: the loop over `signatories` does not print `{{{{ {alias}.name }}}}` on every turn"
                        ));
                    }
                }
                "endif" | "endmacro" | "endfilter" | "endblock" | "endset" => {
                    stack.pop();
                }
                "break" | "continue" if in_loop => {
                    return Err(format!("{here}: `{keyword}` in a loop over `signatories`"));
                }
                "include" if in_loop => {
                    return Err(format!("{here}: an include in a loop over `signatories`"));
                }
                "include" => includes.extend(included(tokens).map_err(|e| format!("{here}: {e}"))?),
                _ => {}
            }
            Ok(())
        })?;
        Ok(includes)
    })
}

/// Length of a tag's inside up to `close`, outside string literals.
fn tag_len(text: &str, close: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut quote = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' || b == b'`' => quote = Some(b),
            None if text[i..].starts_with(close) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

fn find_endraw(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("{%") {
        let at = from + i;
        let len = tag_len(&text[at + 2..], "%}")?;
        if text[at + 2..at + 2 + len].trim_matches('-').trim() == "endraw" {
            return Some(at + 2 + len + 2);
        }
        from = at + 2;
    }
    None
}

/// Splits a tag's inside into words: names with their dots
/// (`signer.extra.branch`), string literals (with their quotes), numbers
/// and operators.
fn tokens(inner: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = inner.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            if i == chars.len() {
                return Err("unclosed string".into());
            }
            i += 1;
            out.push(chars[start..i].iter().collect());
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            if ["==", "!=", ">=", "<=", "//", "**"].contains(&two.as_str()) {
                out.push(two);
                i += 2;
            } else {
                out.push(c.to_string());
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Whether `token` names something that holds signer values.
fn tainted(token: &str, aliases: &[String]) -> bool {
    let root = token.split('.').next().unwrap_or("");
    root == "__tera_context" || SIGNER_ROOTS.contains(&root) || aliases.iter().any(|a| a == root)
}

/// A signer field as a plan can print it: `signer.name`, `s.email`,
/// `signer.extra.branch`.
fn is_field(token: &str, aliases: &[String]) -> bool {
    if token == "message" {
        // The member's own words (a `message` column), else --message.
        return true;
    }
    let mut parts = token.split('.');
    let root = parts.next().unwrap_or("");
    if root != "signer" && !aliases.iter().any(|a| a == root) {
        return false;
    }
    match (parts.next(), parts.next(), parts.next()) {
        (Some(f), None, None) => FIELDS.contains(&f),
        (Some("extra"), Some(key), None) => !key.is_empty(),
        _ => false,
    }
}

/// `signatories | length`: the same for every letter of a per-member run.
fn is_count(tokens: &[String], i: usize) -> bool {
    tokens[i] == "signatories"
        && tokens.get(i + 1).is_some_and(|t| t == "|")
        && tokens.get(i + 2).is_some_and(|t| t == "length")
        && tokens.get(i + 3).is_none_or(|t| t != "(")
}

/// `{{ … }}`: a signer value only alone and unfiltered.
fn check_print(tokens: &[String], aliases: &[String]) -> Result<(), String> {
    if let [one] = tokens
        && is_field(one, aliases)
    {
        return Ok(());
    }
    match uncounted_taint(tokens, aliases) {
        Some(t) => Err(format!(
            "`{{{{ {} }}}}` uses the signer's `{t}` other than by printing it as it is",
            tokens.join(" ")
        )),
        None => Ok(()),
    }
}

/// The first word of `tokens` that holds signer values, other than in a
/// `signatories | length` (the same for every letter).
fn uncounted_taint<'t>(tokens: &'t [String], aliases: &[String]) -> Option<&'t str> {
    let mut i = 0;
    while i < tokens.len() {
        if is_count(tokens, i) {
            i += 3;
            continue;
        }
        if tainted(&tokens[i], aliases) {
            return Some(&tokens[i]);
        }
        i += 1;
    }
    None
}

/// `{% … %}`: conditions may test a field for being non-empty; a loop may
/// go over `signatories`; `set` may count them.
fn check_statement(tokens: &[String], aliases: &mut Vec<String>) -> Result<(), String> {
    let keyword = tokens.first().map(String::as_str).unwrap_or("");
    let text = tokens.join(" ");
    match keyword {
        "if" | "elif" => check_condition(&tokens[1..], aliases).map_err(|t| {
            format!(
                "`{{% {text} %}}` uses the signer's `{t}` other than by testing whether it is empty"
            )
        }),
        "for" => {
            // for NAME in signatories
            if let [_, name, kw, container] = tokens
                && kw == "in"
                && container == "signatories"
            {
                if !aliases.contains(name) {
                    aliases.push(name.clone());
                }
                return Ok(());
            }
            if let Some(t) = tokens.iter().find(|t| tainted(t, aliases)) {
                return Err(format!("`{{% {text} %}}` loops over the signer's `{t}`"));
            }
            Ok(())
        }
        "set" | "set_global" => {
            if tokens.get(1).is_some_and(|t| tainted(t, aliases)) {
                return Err(format!(
                    "`{{% {text} %}}` gives a new value to a signer name"
                ));
            }
            match uncounted_taint(tokens.get(2..).unwrap_or_default(), aliases) {
                Some(t) => Err(format!("`{{% {text} %}}` stores the signer's `{t}`")),
                None => Ok(()),
            }
        }
        "else" | "endif" | "endfor" | "break" | "continue" => Ok(()),
        "extends" | "import" | "macro" | "endmacro" | "block" | "endblock" | "filter"
        | "endfilter" => Err(format!(
            "`{{% {keyword} %}}` is not followed by the fast path (the signer's values could be changed inside it)"
        )),
        _ => match tokens.iter().find(|t| tainted(t, aliases)) {
            Some(t) => Err(format!("`{{% {text} %}}` uses the signer's `{t}`")),
            None => Ok(()),
        },
    }
}

/// A condition: every signer value must stand alone between `not`, `and`,
/// `or` and the ends, so that only its being empty or not counts. Returns
/// the offending name.
fn check_condition(tokens: &[String], aliases: &[String]) -> Result<(), String> {
    let joins = |t: Option<&String>| t.is_none_or(|t| t == "and" || t == "or");
    let mut i = 0;
    while i < tokens.len() {
        if is_count(tokens, i) {
            i += 3;
            continue;
        }
        let t = &tokens[i];
        if tainted(t, aliases) {
            let before = i.checked_sub(1).map(|j| &tokens[j]);
            let ok = is_field(t, aliases)
                && (joins(before) || before.is_some_and(|b| b == "not"))
                && joins(tokens.get(i + 1));
            if !ok {
                return Err(t.clone());
            }
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Result<(), String> {
        check_text("t.txt", text, &mut Vec::new()).map(|_| ())
    }

    #[test]
    fn allows_printing_and_emptiness_tests() {
        let text = "{{ signer.name }}{%- if not many and signer.organisation %}\n\
                    {{ signer.organisation }}{% endif %}{% set many = signatories | length > 1 %}\
                    {% for s in signatories %}{{ s.name }}{% if s.organisation %}x{% endif %}{% endfor %}\
                    {{ signer.extra.branch }}{# {{ signer.name | upper }} #}\
                    {% raw %}{{ signer.name | upper }}{% endraw %}{{ \"}}\" }}";
        assert_eq!(ok(text), Ok(()));
    }

    #[test]
    fn refuses_other_uses() {
        for text in [
            "{{ signer.name | upper }}",
            "{{ signer.name ~ 'x' }}",
            "{{ signer }}",
            "{{ __tera_context }}",
            "{% if signer.name == 'Jo' %}{% endif %}",
            "{% if signer.name | length > 3 %}{% endif %}",
            "{% if signer.country in ['GB'] %}{% endif %}",
            "{% if signer.email is defined %}{% endif %}",
            "{% set n = signer.name %}",
            "{% for c in signer.name %}{% endfor %}",
            "{% for s in signatories %}{{ s.name | upper }}{% endfor %}",
            "{% filter upper %}{{ signer.name }}{% endfilter %}",
            "{{ signatories.0.name }}",
            "{% if signatories %}{% endif %}",
        ] {
            assert!(ok(text).is_err(), "{text}");
        }
    }

    #[test]
    fn petition_loops_must_name_every_member() {
        let check = |text: &str| {
            let files = [
                ("a.txt", text),
                (
                    "_s.txt",
                    "{% for s in signatories %}{{ s.name }}{% endfor %}",
                ),
            ];
            let find = |n: &str| files.iter().find(|(f, _)| *f == n).map(|(_, t)| *t);
            petition_loops("a.txt", &find)
        };
        for ok in [
            "{% for s in signatories %}{{ s.name }}{% if s.organisation %} ({{ s.organisation }}){% endif %}\n{% endfor %}",
            "{% for s in signatories %}{% if loop.first %}-{% endif %}{{ s.name }}{% else %}none{% endfor %}",
            "{% include \"_s.txt\" %}{% for t in signatories %}{{ t.email }}{{ t.name }}{% endfor %}",
            "{% if many %}{% for s in signatories %}{{ s.name }}{% endfor %}{% endif %}",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "{% for s in signatories %}{% if s.organisation %}{{ s.name }}{% endif %}{% endfor %}",
            "{% for s in signatories %}{{ s.organisation }}{% endfor %}",
            "{% for s in signatories %}{{ s.name }}{% if loop.index > 2 %}{% break %}{% endif %}{% endfor %}",
            "{% for s in signatories %}{{ s.name }}{% for t in signatories %}{{ t.name }}{% endfor %}{% endfor %}",
            "{% for s in signatories %}{{ s.name }}{% include \"_s.txt\" %}{% endfor %}",
            "{% for s in signatories %}{% else %}{{ s.name }}{% endfor %}",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn follows_includes() {
        let files = [
            ("a.txt", "{% include \"_b.txt\" %}"),
            ("_b.txt", "{{ signer.name | lower }}"),
        ];
        let find = |n: &str| files.iter().find(|(f, _)| *f == n).map(|(_, t)| *t);
        let err = check("a.txt", &find).unwrap_err();
        assert!(err.starts_with("_b.txt:1:"), "{err}");
    }
}
