//! MLIR contexts as nibble uses them: every upstream dialect, pass and LLVM translation
//! registered, and the qnn and tcconv IRDL dialects loaded.

use melior::dialect::DialectRegistry;
use melior::ir::operation::OperationLike;
use melior::ir::{Location, Module, Operation};
use melior::utility::{
    load_irdl_dialects, register_all_dialects, register_all_llvm_translations, register_all_passes,
};
use melior::{Context, StringRef};

/// A fresh context with upstream dialects and nibble's IRDL dialects. The context is leaked:
/// tools create one per process (tests one per case), and IR borrows it for its whole life.
pub fn new_context() -> &'static Context {
    let registry = DialectRegistry::new();
    register_all_dialects(&registry);
    let context: &'static Context = Box::leak(Box::new(Context::new()));
    context.append_dialect_registry(&registry);
    context.load_all_available_dialects();
    register_all_llvm_translations(context);
    register_all_passes();
    for (name, src) in [("qnn", nibble_qnn::IRDL), ("tcconv", nibble_tcconv::IRDL)] {
        let m = Module::parse(context, src)
            .unwrap_or_else(|| panic!("the bundled {name} IRDL does not parse"));
        assert!(
            load_irdl_dialects(&m),
            "the bundled {name} IRDL does not load"
        );
        std::mem::forget(m);
    }
    context
}

/// Parse `source` as a top-level operation named after `filename` (so locations read
/// `filename:line:col`). A file of bare top-level ops is wrapped into a `builtin.module` as
/// mlir-opt does. Errors are reported through the context's diagnostic handlers.
pub fn parse_source<'c>(context: &'c Context, source: &str, filename: &str) -> Option<Module<'c>> {
    if let Err((line, col, message)) = guard_source(source) {
        let loc = Location::new(context, filename, line, col);
        crate::diagnostics::emit_error(loc, &message);
        return None;
    }
    // MLIR's lexer reads the byte past the text (it expects a NUL there): the text handed to it
    // is followed by one in this allocation, or it lexes whatever memory comes next
    let terminated = format!("{source}\0");
    let text = &terminated[..source.len()];
    let op = unsafe {
        Operation::from_option_raw(mlir_sys::mlirOperationCreateParse(
            context.to_raw(),
            StringRef::new(text).to_raw(),
            StringRef::new(filename).to_raw(),
        ))
    }?;
    if op.name().as_string_ref().as_str() == Ok("builtin.module") {
        return Module::from_operation(op);
    }
    let module = Module::new(Location::unknown(context));
    module.body().append_operation(op);
    Some(module)
}

use melior::ir::block::BlockLike;

/// Brackets nested deeper than this are refused before MLIR sees the text: its recursive-descent
/// parser overflows the stack (and aborts) on deep nesting. Real IR nests a few dozen levels.
pub const MAX_NESTING: usize = 256;

/// Operators one bracket level of an expression may chain (`-`, `+`, `*`, `mod`, `floordiv`,
/// `ceildiv`; a negative literal is not one): MLIR parses and prints affine expressions (in
/// `affine_map`s, affine ops' subscripts, sparse tensor encodings, ...) recursively, so a chain
/// of 10^6 unary minus or `mod` overflows the stack, and a few hundred print as nested
/// parentheses the nesting bound refuses to read back. Real affine maps hold a few dozen.
pub const MAX_CHAIN: usize = 200;

/// The most parts a type or attribute alias may stand for, counted through the aliases it
/// uses (`!t1 = tuple<!t0, !t0>` repeated doubles each time: 40 such lines print a 2^40-part
/// type).
pub const MAX_ALIAS_PARTS: u64 = 1 << 20;

/// Reject, with a 1-based (line, column), text that is known to crash MLIR 22's parser or
/// printer instead of giving an error: nesting deeper than [`MAX_NESTING`], counted through
/// type and attribute aliases (`!t1 = tuple<!t0>` repeated nests as deep as the brackets it
/// stands for); aliases that stand for more than [`MAX_ALIAS_PARTS`] parts; more than
/// [`MAX_CHAIN`] operators in one bracket level; and `array<index ...>` (a dense array of
/// `index` elements segfaults upstream `mlir-opt-22` too). Strings and `//` comments are
/// skipped; a `>` closes only a `<` (not the `>=` of an affine constraint, nor the `->` of an
/// arrow).
pub fn guard_source(source: &str) -> Result<(), (usize, usize, String)> {
    let b = source.as_bytes();
    let (mut line, mut col) = (1usize, 1usize);
    // open brackets, each with the operators chained in it so far (and the top level's)
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut top_ops = 0usize;
    // alias name -> (how deep its definition nests, how many parts it stands for); the alias
    // being defined, its depth and parts so far
    let mut alias: std::collections::HashMap<&[u8], (usize, u64)> = Default::default();
    let mut defining: Option<&[u8]> = None;
    let (mut def_depth, mut def_parts) = (0usize, 1u64);
    // alias name -> where its definition's text starts (for `array<!alias ...>`)
    let mut def_text: std::collections::HashMap<&[u8], usize> = Default::default();
    let mut i = 0;
    let word = |i: usize| b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.';
    let fail = |line, col, m: String| Err((line, col, m));
    // the non-blank byte before `i` on its line, if any
    let before = |i: usize| {
        b[..i]
            .iter()
            .rev()
            .find(|c| **c != b' ' && **c != b'\t')
            .copied()
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                // a string literal, with backslash escapes
                i += 1;
                col += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                        col += 1;
                    }
                    if i < b.len() && b[i] == b'\n' {
                        line += 1;
                        col = 0;
                    }
                    i += 1;
                    col += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\n' => {
                match stack.last_mut() {
                    None => {
                        top_ops = 0;
                        if let Some(name) = defining.take() {
                            alias.insert(name, (def_depth, def_parts));
                        }
                    }
                    // the statements of a region (and a dictionary's entries) are chains apart
                    Some((b'{', ops)) => *ops = 0,
                    _ => {}
                }
                line += 1;
                col = 0;
            }
            b'(' | b'[' | b'{' | b'<' => {
                stack.push((c, 0));
                if stack.len() > MAX_NESTING {
                    return fail(
                        line,
                        col,
                        format!("brackets nested deeper than {MAX_NESTING} levels"),
                    );
                }
                def_depth = def_depth.max(stack.len());
            }
            // an alias: its definition (`!name =` / `#name =` opening a top-level line) or a
            // use (anywhere: `memref<4x!t>` too)
            b'!' | b'#' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (word(j) || b[j] == b'$' || b[j] == b'-') {
                    j += 1;
                }
                let name = &b[start..j];
                let k = skip_blank(b, j);
                let is_def = stack.is_empty()
                    && !name.is_empty()
                    && matches!(before(i), None | Some(b'\n'))
                    && b.get(k) == Some(&b'=')
                    && b.get(k + 1) != Some(&b'=');
                if is_def {
                    def_text.insert(name, skip_blank(b, k + 1));
                    if let Some(prev) = defining.replace(name) {
                        alias.insert(prev, (def_depth, def_parts));
                    }
                    (def_depth, def_parts) = (0, 1);
                } else if let Some(&(d, parts)) = alias.get(name) {
                    if stack.len() + d > MAX_NESTING {
                        return fail(
                            line,
                            col,
                            format!("types and attributes (through aliases) nested deeper than {MAX_NESTING} levels"),
                        );
                    }
                    def_depth = def_depth.max(stack.len() + d);
                    if defining.is_some() {
                        def_parts = def_parts.saturating_add(parts);
                        if def_parts > MAX_ALIAS_PARTS {
                            return fail(
                                line,
                                col,
                                format!("an alias that stands for more than {MAX_ALIAS_PARTS} types and attributes (through the aliases it uses)"),
                            );
                        }
                    }
                }
                col += j - i - 1;
                i = j - 1;
            }
            // `array <...>`: its element type, past blanks and comments, and through type
            // aliases, must not be `index`
            b'a' if b[i..].starts_with(b"array")
                && (i == 0 || !word(i - 1))
                && (i + 5 == b.len() || !word(i + 5)) =>
            {
                let mut j = skip_blank(b, i + 5);
                if b.get(j) == Some(&b'<') {
                    j = skip_blank(b, j + 1);
                    if element_is_index(b, j, &def_text, 0) {
                        return Err((
                            line,
                            col,
                            "array<index ...> is not a dense array type (elements are integers or floats of a fixed width)".into(),
                        ));
                    }
                }
            }
            b'-' | b'+' | b'*' | b'm' | b'f' | b'c' => {
                let operator = match c {
                    b'*' => true,
                    b'-' | b'+' => {
                        // not an arrow, nor the sign of a literal (`-1`, `1.0e-05`)
                        let next = b.get(skip_blank(b, i + 1)).copied();
                        let prev = before(i);
                        let exponent = matches!(prev, Some(b'e' | b'E'))
                            && i >= 2
                            && (b[i - 2].is_ascii_digit() || b[i - 2] == b'.');
                        let operand_before = prev.is_some_and(|p| {
                            p.is_ascii_alphanumeric() || matches!(p, b'_' | b')' | b']')
                        });
                        let literal = next.is_some_and(|n| n.is_ascii_digit())
                            && (!operand_before || exponent);
                        next != Some(b'>') && !literal
                    }
                    _ => {
                        (i == 0 || !word(i - 1))
                            && [&b"mod"[..], b"floordiv", b"ceildiv"].iter().any(|k| {
                                b[i..].starts_with(k)
                                    && (i + k.len() == b.len() || !word(i + k.len()))
                            })
                    }
                };
                if operator {
                    let ops = stack.last_mut().map_or(&mut top_ops, |(_, n)| n);
                    *ops += 1;
                    if *ops > MAX_CHAIN {
                        return fail(
                            line,
                            col,
                            format!("an expression of more than {MAX_CHAIN} operators in one bracket level"),
                        );
                    }
                }
            }
            b')' | b']' | b'}' => {
                let open = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                // a `<` left open inside (a comparison in custom syntax) closes with it
                if stack.iter().any(|(o, _)| *o == open) {
                    while stack.pop().is_some_and(|(o, _)| o != open) {}
                }
            }
            b'>' if stack.last().is_some_and(|(o, _)| *o == b'<')
                && (i == 0 || b[i - 1] != b'-')
                && b.get(i + 1) != Some(&b'=') =>
            {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
        col += 1;
    }
    Ok(())
}

/// The index past blanks and `//` comments from `j`.
fn skip_blank(b: &[u8], mut j: usize) -> usize {
    loop {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if b[j.min(b.len())..].starts_with(b"//") {
            while j < b.len() && b[j] != b'\n' {
                j += 1;
            }
            continue;
        }
        return j;
    }
}

/// Whether the type at `j` is `index`, directly or through the aliases defined before it
/// (`defs`: name -> where its definition starts; chains followed a few levels).
fn element_is_index(
    b: &[u8],
    j: usize,
    defs: &std::collections::HashMap<&[u8], usize>,
    depth: usize,
) -> bool {
    // the characters of an alias name, as `guard_source` reads them
    let word = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$' | b'-');
    let rest = &b[j.min(b.len())..];
    if rest.starts_with(b"index") && !rest.get(5).is_some_and(|&c| word(c)) {
        return true;
    }
    if depth < 8 && rest.first() == Some(&b'!') {
        let n = rest[1..].iter().take_while(|&&c| word(c)).count();
        if let Some(&start) = defs.get(&rest[1..1 + n]) {
            return element_is_index(b, start, defs, depth + 1);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{guard_source, MAX_NESTING};

    #[test]
    fn deep_nesting_is_refused_at_its_position() {
        let deep = format!(
            "func.func @f() attributes {{a = {}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let (line, col, m) = guard_source(&deep).unwrap_err();
        // the `{` of the attribute dictionary is level 1, at column 27; `[` k at column 31 + k
        assert_eq!((line, col), (1, 31 + MAX_NESTING), "{m}");
        assert!(m.contains("nested deeper"));
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_NESTING - 1),
            "]".repeat(MAX_NESTING - 1)
        );
        assert!(guard_source(&ok).is_ok());
        // brackets inside strings and comments do not count; arrows do not close
        let quiet = format!(
            "// {}\n\"{}\" (a) -> (b) -> (c)",
            "(".repeat(1000),
            "[".repeat(1000)
        );
        assert!(guard_source(&quiet).is_ok());
    }

    #[test]
    fn alias_chains_count_as_the_nesting_they_stand_for() {
        // each alias wraps the previous one: the type is nested as deep as the chain is long
        let chain = |n: usize, def: &dyn Fn(usize) -> String| {
            let mut t = String::from("!t0 = i32\n#a0 = 1 : i32\n");
            for k in 1..n {
                t += &def(k);
            }
            t + "func.func @f() { return }\n"
        };
        let types = |k: usize| format!("!t{k} = tuple<!t{}>\n", k - 1);
        let attrs = |k: usize| format!("#a{k} = [#a{}]\n", k - 1);
        for def in [&types as &dyn Fn(usize) -> String, &attrs] {
            let (line, _, m) = guard_source(&chain(100_000, def)).unwrap_err();
            assert!(m.contains("through aliases"), "{m}");
            // `!t{k}` nests k levels deep, so the first use too deep is in the definition of
            // alias MAX_NESTING + 1 (line MAX_NESTING + 3)
            assert_eq!(line, MAX_NESTING + 3, "{m}");
            assert!(guard_source(&chain(MAX_NESTING + 1, def)).is_ok());
        }
        // aliases used side by side do not add up
        let wide = format!(
            "!t = tuple<i32>\n!u = tuple<{}>\n",
            vec!["!t"; 10 * MAX_NESTING].join(", ")
        );
        assert!(guard_source(&wide).is_ok());
    }

    #[test]
    fn only_a_less_than_is_closed_by_a_greater_than() {
        // `>=` of affine constraints and `->` do not close brackets, so they cannot hide
        // nesting from the count
        let hidden = format!("{}d0{}", "(d0 >= 0, ".repeat(10_000), ")".repeat(10_000));
        assert!(guard_source(&hidden).is_err());
        let hidden = format!("{}{}", "( -> ".repeat(10_000), ")".repeat(10_000));
        assert!(guard_source(&hidden).is_err());
        // real IR with comparisons, arrows and closed angle brackets passes
        let set = "#s = affine_set<(d0)[s0] : (d0 >= 0, s0 - d0 - 1 >= 0)>\n";
        let many = set.repeat(10 * MAX_NESTING)
            + &"func.func @f(%a: vector<4xi32>) -> tensor<2xi8> { return }\n".repeat(300);
        assert!(guard_source(&many).is_ok());
    }

    #[test]
    fn long_affine_expressions_are_refused() {
        use super::MAX_CHAIN;
        // unary minus and `mod` chains nest no bracket but recurse in MLIR's parser and printer
        let map = |body: String| {
            format!(
                "func.func @f() attributes {{a = affine_map<(d0)[s0] -> ({body})>}} {{ return }}"
            )
        };
        for body in [
            format!("{}d0", "-".repeat(100_000)),
            format!("d0{}", " mod s0".repeat(100_000)),
            format!("d0{}", " floordiv 2 * 3".repeat(1000)),
        ] {
            let (_, _, m) = guard_source(&map(body)).unwrap_err();
            assert!(m.contains("more than 200 operators"), "{m}");
        }
        // the count is per map: many small maps and sets pass, and so do arrows
        let small = map(format!("d0{}", " mod s0".repeat(MAX_CHAIN)));
        assert!(guard_source(&small).is_ok());
        assert!(guard_source(&small.repeat(100)).is_ok());
        // affine ops' custom syntax, over two lines; a sparse tensor encoding's map
        let load = format!(
            "func.func @f(%m: memref<8xf32>, %i: index) {{\n  %v = affine.load %m[\n{}%i] : memref<8xf32>\n  return\n}}",
            "-".repeat(10_000)
        );
        let (line, _, _) = guard_source(&load).unwrap_err();
        assert_eq!(line, 3);
        let sparse = format!(
            "#e = #sparse_tensor.encoding<{{ map = (d0) -> ({}d0 : dense) }}>",
            "-".repeat(10_000)
        );
        assert!(guard_source(&sparse).is_err());
        // negative numbers and exponents (dense attributes, constants) are not operators, and
        // a function's statements are chains apart
        let dense = format!(
            "func.func @f() attributes {{a = dense<[{}]> : tensor<10000xi32>, b = dense<[{}]> : tensor<10000xf32>}} {{ return }}",
            vec!["-1"; 10_000].join(", "),
            vec!["-1.5e-05"; 10_000].join(", ")
        );
        assert!(guard_source(&dense).is_ok());
        let body = "  %c = arith.constant -1 : i32\n  %d = affine.apply affine_map<(d0) -> (d0 - 1)>(%i)\n"
            .repeat(1000);
        let f = format!("func.func @f(%i: index) {{\n{body}  return\n}}");
        assert!(guard_source(&f).is_ok());
    }

    #[test]
    fn aliases_that_double_or_follow_a_shape_are_counted() {
        // `memref<1x!t>`: a use right after a letter
        let mut t = String::from("!t0 = i32\n");
        for k in 1..10_000 {
            t += &format!("!t{k} = memref<1x!t{}>\n", k - 1);
        }
        let (_, _, m) = guard_source(&t).unwrap_err();
        assert!(m.contains("through aliases"), "{m}");
        // each alias twice the one before: refused once it stands for 2^20 parts
        let mut t = String::from("!t0 = i32\n#a0 = 1 : i32\n");
        for k in 1..41 {
            t += &format!(
                "!t{k} = tuple<!t{p}, !t{p}>\n#a{k} = [#a{p}, #a{p}]\n",
                p = k - 1
            );
        }
        let (line, _, m) = guard_source(&t).unwrap_err();
        assert!(m.contains("more than 1048576"), "{m}");
        // !t20 stands for 2^20 types and one tuple more than the bound's parts
        assert_eq!(line, 2 + 2 * 19 + 1, "{m}");
        // a type used side by side many times in one function is fine
        let uses = format!(
            "!t = tuple<i32, i32>\nfunc.func @f({}) {{ return }}",
            (0..10_000)
                .map(|k| format!("%a{k}: !t"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(guard_source(&uses).is_ok());
    }

    #[test]
    fn the_guard_never_panics_on_token_soup() {
        // the guard indexes around each byte (the byte before a sign, after an alias name, ...):
        // random strings of the tokens it looks at, at every boundary
        let tokens = [
            "(",
            ")",
            "<",
            ">",
            ">=",
            "->",
            "[",
            "]",
            "{",
            "}",
            "!t",
            "#a",
            "!",
            "#",
            " = ",
            "=",
            "\n",
            "-",
            "+",
            "*",
            " mod ",
            "e",
            "e-1",
            "1",
            "1x",
            "\"",
            "\\",
            "//",
            "array",
            "array<",
            "index",
            "affine_map<",
            " ",
            "\t",
            "$",
            ".",
            "_",
        ];
        let mut state = 0x2545f4914f6cdd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let n = (next() % 40) as usize;
            let text: String = (0..n)
                .map(|_| tokens[(next() % tokens.len() as u64) as usize])
                .collect();
            let _ = guard_source(&text);
        }
    }

    #[test]
    fn index_dense_arrays_are_refused() {
        // past blanks, newlines and comments, and through a type alias
        for text in [
            "func.func @f() attributes {a = array <index: 1>} {}",
            "func.func @f() attributes {a = array\n<index: 1>} {}",
            "func.func @f() attributes {a = array<// hide\nindex: 1>} {}",
            "!ix = index\n!iy = !ix\nfunc.func @f() attributes {a = array<!iy: 1>} {}",
        ] {
            assert!(guard_source(text).is_err(), "{text}");
        }
        assert!(guard_source("!i = i64\nfunc.func @f() attributes {a = array<!i: 1>} {}").is_ok());
        let e = guard_source("func.func @f() attributes {a = array<index: 1>} {}").unwrap_err();
        assert_eq!((e.0, e.1), (1, 32));
        assert!(guard_source("func.func @f() attributes {a = array< index>} {}").is_err());
        assert!(guard_source(
            "func.func @f() attributes {a = array<i64: 1>, b = \"array<index: 1>\"} {}"
        )
        .is_ok());
        assert!(guard_source("%0 = memref.alloc() : memref<4xindex>").is_ok());
    }
}
