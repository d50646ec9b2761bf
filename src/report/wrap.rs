//! Wrapping prose at the terminal's width without breaking what must be copied whole: a `code span`
//! (a command, a Helm key) is one unbreakable word, and the lines of a block that follows a text's first
//! line (YAML values, a heredoc) are kept verbatim, so copy-paste from the terminal still works.

use unicode_width::UnicodeWidthStr;

/// Display width in terminal columns: wide glyphs (CJK, most emoji) count 2, combining marks 0.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// The byte ranges of the words of one line: split at spaces, except inside a `code span`. An unmatched
/// backtick is an ordinary character (otherwise it would glue the rest of the line into one word).
fn word_ranges(line: &str) -> Vec<(usize, usize)> {
    let ticks: Vec<usize> = line.match_indices('`').map(|(i, _)| i).collect();
    let unmatched = (ticks.len() % 2 == 1).then(|| ticks[ticks.len() - 1]);
    let mut out = Vec::new();
    let mut start = None;
    let mut in_code = false;
    for (i, ch) in line.char_indices() {
        if ch == '`' && Some(i) != unmatched {
            in_code = !in_code;
        }
        if ch == ' ' && !in_code {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, line.len()));
    }
    out
}

fn words(line: &str) -> Vec<&str> {
    word_ranges(line).into_iter().map(|(a, b)| &line[a..b]).collect()
}

/// A text of veldr's (a hint, a detail) taken apart: its first line of prose; when lines follow, they are a
/// block (YAML values, a heredoc) and `intro` is the command at the end of the first line that reads the
/// block: the words after its last `word:` (`… or create one: kubectl apply -f - <<'EOF'`).
pub struct Parts<'a> {
    pub prose: &'a str,
    pub intro: Option<&'a str>,
    pub block: Option<&'a str>,
}

pub fn parts(text: &str) -> Parts<'_> {
    let Some((line, block)) = text.split_once('\n') else { return Parts { prose: text, intro: None, block: None } };
    let ranges = word_ranges(line);
    let intro = ranges.iter().rposition(|&(a, b)| line[a..b].ends_with(':')).and_then(|i| ranges.get(i + 1).map(|&(a, _)| (ranges[i].1, a)));
    match intro {
        Some((end, a)) => Parts { prose: &line[..end], intro: Some(&line[a..]), block: Some(block) },
        None => Parts { prose: line, intro: None, block: Some(block) },
    }
}

/// Lays `text` out in lines of at most `width` columns: the first line starts with `first`, the others
/// with `rest` (an indent). A word wider than the room gets a line of its own and is not cut. A block
/// ([`parts`]) is copied as it is, and the command introducing it stays on one line. Without a width,
/// nothing is wrapped.
pub fn fill(text: &str, first: &str, rest: &str, width: Option<usize>) -> Vec<String> {
    let Some(room) = width else {
        return text.lines().enumerate().map(|(i, l)| if i == 0 { format!("{first}{l}") } else { l.to_string() }).collect();
    };
    let p = parts(text);
    let mut out = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for w in words(p.prose).into_iter().chain(p.intro) {
        if !empty && self::width(&line) + 1 + self::width(w) > room {
            out.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(w);
        empty = false;
    }
    out.push(line);
    out.extend(p.block.into_iter().flat_map(str::lines).map(str::to_string));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_are_single_words() {
        assert_eq!(words("run `helm upgrade --install` now"), vec!["run", "`helm upgrade --install`", "now"]);
        assert_eq!(words("a `b c`, d"), vec!["a", "`b c`,", "d"]);
        // An unmatched backtick does not swallow the rest of the line.
        assert_eq!(words("a `b c` d`e f"), vec!["a", "`b c`", "d`e", "f"]);
    }

    #[test]
    fn prose_fits_and_commands_stay_whole() {
        let text = "put the keys in a Secret and set `credentials.extraSecretRef: <that secret>` then run `helm upgrade velero vmware-tanzu/velero` and check";
        let lines = fill(text, "  fix: ", "       ", Some(40));
        for l in &lines {
            assert!(width(l) <= 40 || l.trim().starts_with('`'), "{l:?}");
        }
        assert!(lines.iter().any(|l| l.contains("`credentials.extraSecretRef: <that secret>`")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("`helm upgrade velero vmware-tanzu/velero`")), "{lines:?}");
        assert!(lines[0].starts_with("  fix: ") && lines[1..].iter().all(|l| l.starts_with("       ")));
        assert_eq!(lines.iter().map(|l| l.trim().trim_start_matches("fix: ")).collect::<Vec<_>>().join(" "), text);
    }

    #[test]
    fn wide_glyphs_count_double() {
        let lines = fill("认证失败 认证失败 认证失败", "", "", Some(18));
        assert_eq!(lines, vec!["认证失败 认证失败", "认证失败"]);
    }

    #[test]
    fn blocks_are_verbatim_and_their_command_is_kept_together() {
        let text = "label one class, or create one: kubectl apply -f - <<'EOF'\napiVersion: v1\nkind: X\n  deep: value with many words in it\nEOF";
        let lines = fill(text, "", "  ", Some(30));
        assert!(lines.contains(&"  kubectl apply -f - <<'EOF'".to_string()), "{lines:?}");
        assert!(lines.ends_with(&["apiVersion: v1".into(), "kind: X".into(), "  deep: value with many words in it".into(), "EOF".into()]), "{lines:?}");
    }

    #[test]
    fn parts_find_the_command_that_reads_the_block() {
        let p = parts("a `k: v` b, or create one: kubectl apply -f - <<'EOF'\nx: 1\nEOF");
        assert_eq!((p.prose, p.intro, p.block), ("a `k: v` b, or create one:", Some("kubectl apply -f - <<'EOF'"), Some("x: 1\nEOF")));
        let p = parts("add it to the values and `helm upgrade`:\nextraObjects: []");
        assert_eq!((p.prose, p.intro, p.block), ("add it to the values and `helm upgrade`:", None, Some("extraObjects: []")));
        let p = parts("no block: here");
        assert_eq!((p.prose, p.intro, p.block), ("no block: here", None, None));
    }

    #[test]
    fn without_a_width_nothing_wraps() {
        let long = "word ".repeat(100);
        assert_eq!(fill(&long, "> ", "", None), vec![format!("> {long}")]);
    }
}
