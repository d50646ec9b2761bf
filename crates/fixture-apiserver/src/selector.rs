//! Label and field selectors, as the API server understands them.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Req {
    Exists(String),
    NotExists(String),
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Gt(String, i64),
    Lt(String, i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Not,   // !
    Eq,    // = or ==
    NotEq, // !=
    Gt,
    Lt,
    Open,
    Close,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '!' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Tok::NotEq);
                    i += 2;
                } else {
                    out.push(Tok::Not);
                    i += 1;
                }
            }
            '=' => {
                out.push(Tok::Eq);
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
            }
            '>' => {
                out.push(Tok::Gt);
                i += 1;
            }
            '<' => {
                out.push(Tok::Lt);
                i += 1;
            }
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !"!=<>(),".contains(chars[i])
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 316
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && k.matches('/').count() <= 1
}

/// Parses a label selector; an empty string selects everything.
pub fn parse_labels(s: &str) -> Result<Vec<Req>, String> {
    let toks = tokenize(s)?;
    let mut reqs = Vec::new();
    let mut i = 0;
    let ident = |i: usize| match toks.get(i) {
        Some(Tok::Ident(s)) => Some(s.clone()),
        _ => None,
    };
    while i < toks.len() {
        let req = if toks[i] == Tok::Not {
            let k = ident(i + 1).ok_or_else(|| {
                format!("unable to parse requirement: missing key after '!' in {s:?}")
            })?;
            i += 2;
            Req::NotExists(k)
        } else {
            let k = ident(i)
                .ok_or_else(|| format!("unable to parse requirement: expected a key in {s:?}"))?;
            i += 1;
            match toks.get(i) {
                None | Some(Tok::Comma) => Req::Exists(k),
                Some(Tok::Eq) | Some(Tok::NotEq) => {
                    let neg = toks[i] == Tok::NotEq;
                    i += 1;
                    // value may be empty
                    let v = match toks.get(i) {
                        Some(Tok::Ident(v)) => {
                            i += 1;
                            v.clone()
                        }
                        _ => String::new(),
                    };
                    if neg {
                        Req::NotEq(k, v)
                    } else {
                        Req::Eq(k, v)
                    }
                }
                Some(Tok::Gt) | Some(Tok::Lt) => {
                    let gt = toks[i] == Tok::Gt;
                    let v = ident(i + 1)
                        .and_then(|v| v.parse::<i64>().ok())
                        .ok_or_else(|| {
                            format!("unable to parse requirement: expected an integer in {s:?}")
                        })?;
                    i += 2;
                    if gt {
                        Req::Gt(k, v)
                    } else {
                        Req::Lt(k, v)
                    }
                }
                Some(Tok::Ident(op)) if op == "in" || op == "notin" => {
                    let notin = op == "notin";
                    i += 1;
                    if toks.get(i) != Some(&Tok::Open) {
                        return Err(format!(
                            "unable to parse requirement: expected '(' in {s:?}"
                        ));
                    }
                    i += 1;
                    let mut vals = Vec::new();
                    loop {
                        match toks.get(i) {
                            Some(Tok::Ident(v)) => {
                                vals.push(v.clone());
                                i += 1;
                            }
                            Some(Tok::Comma) => {
                                if vals.is_empty()
                                    || matches!(toks.get(i - 1), Some(Tok::Comma) | Some(Tok::Open))
                                {
                                    vals.push(String::new());
                                }
                                i += 1;
                            }
                            Some(Tok::Close) => {
                                i += 1;
                                break;
                            }
                            _ => {
                                return Err(format!(
                                    "unable to parse requirement: expected ')' in {s:?}"
                                ))
                            }
                        }
                    }
                    if notin {
                        Req::NotIn(k, vals)
                    } else {
                        Req::In(k, vals)
                    }
                }
                Some(t) => {
                    return Err(format!(
                        "unable to parse requirement: unexpected {t:?} in {s:?}"
                    ))
                }
            }
        };
        let key = match &req {
            Req::Exists(k)
            | Req::NotExists(k)
            | Req::Eq(k, _)
            | Req::NotEq(k, _)
            | Req::In(k, _)
            | Req::NotIn(k, _)
            | Req::Gt(k, _)
            | Req::Lt(k, _) => k,
        };
        if !valid_key(key) {
            return Err(format!(
                "unable to parse requirement: invalid label key {key:?}"
            ));
        }
        reqs.push(req);
        match toks.get(i) {
            None => {}
            Some(Tok::Comma) => {
                i += 1;
                if i >= toks.len() {
                    return Err(format!(
                        "found ',', expected: identifier after ',' in {s:?}"
                    ));
                }
            }
            Some(t) => {
                return Err(format!(
                    "found {t:?}, expected: ',' or 'end of string' in {s:?}"
                ))
            }
        }
    }
    Ok(reqs)
}

pub fn labels_match(reqs: &[Req], obj: &Value) -> bool {
    let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
    let get = |k: &str| {
        labels.and_then(|l| l.get(k)).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    reqs.iter().all(|r| match r {
        Req::Exists(k) => get(k).is_some(),
        Req::NotExists(k) => get(k).is_none(),
        Req::Eq(k, v) => get(k).as_deref() == Some(v.as_str()),
        Req::NotEq(k, v) => get(k).as_deref() != Some(v.as_str()),
        Req::In(k, vs) => get(k).map(|x| vs.contains(&x)).unwrap_or(false),
        Req::NotIn(k, vs) => get(k).map(|x| !vs.contains(&x)).unwrap_or(true),
        Req::Gt(k, n) => get(k)
            .and_then(|x| x.parse::<i64>().ok())
            .map(|x| x > *n)
            .unwrap_or(false),
        Req::Lt(k, n) => get(k)
            .and_then(|x| x.parse::<i64>().ok())
            .map(|x| x < *n)
            .unwrap_or(false),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldReq {
    pub path: String,
    pub value: String,
    pub negate: bool,
}

/// Parses a field selector: comma-separated `path=value`, `path==value`, `path!=value`.
/// Any dotted path into the object is accepted (a superset of the real server).
pub fn parse_fields(s: &str) -> Result<Vec<FieldReq>, String> {
    let mut out = Vec::new();
    for part in split_unescaped_commas(s) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (path, value, negate) = if let Some((p, v)) = part.split_once("!=") {
            (p, v, true)
        } else if let Some((p, v)) = part.split_once("==") {
            (p, v, false)
        } else if let Some((p, v)) = part.split_once('=') {
            (p, v, false)
        } else {
            return Err(format!(
                "invalid selector: '{part}'; can't understand '{part}'"
            ));
        };
        out.push(FieldReq {
            path: path.trim().to_string(),
            value: unescape(value.trim()),
            negate,
        });
    }
    Ok(out)
}

fn split_unescaped_commas(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut esc = false;
    for c in s.chars() {
        if esc {
            parts.last_mut().unwrap().push('\\');
            parts.last_mut().unwrap().push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == ',' {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    parts
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc {
            out.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

pub fn field_value(obj: &Value, path: &str) -> String {
    let mut cur = obj;
    for seg in path.split('.') {
        match cur.get(seg) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn fields_match(reqs: &[FieldReq], obj: &Value) -> bool {
    reqs.iter()
        .all(|r| (field_value(obj, &r.path) == r.value) != r.negate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(sel: &str, labels: Value) -> bool {
        let reqs = parse_labels(sel).unwrap();
        labels_match(&reqs, &json!({"metadata": {"labels": labels}}))
    }

    #[test]
    fn label_selectors() {
        let l = json!({"app": "velero", "tier": "backend", "n": "5"});
        assert!(m("", l.clone()));
        assert!(m("app=velero", l.clone()));
        assert!(m("app==velero", l.clone()));
        assert!(!m("app!=velero", l.clone()));
        assert!(m("missing!=x", l.clone()));
        assert!(m("app", l.clone()));
        assert!(!m("!app", l.clone()));
        assert!(m("!missing", l.clone()));
        assert!(m("app in (velero, restic)", l.clone()));
        assert!(m("app in(velero)", l.clone()));
        assert!(!m("app notin (velero,restic)", l.clone()));
        assert!(m("missing notin (a)", l.clone()));
        assert!(m("app=velero,tier in (backend),!missing", l.clone()));
        assert!(!m("app=velero,tier=frontend", l.clone()));
        assert!(m("n>3,n<6", l.clone()));
        assert!(m("app.kubernetes.io/name notin (x)", l));
        assert!(parse_labels("app in (a").is_err());
        assert!(parse_labels("app=a,").is_err());
        assert!(parse_labels("a b").is_err());
    }

    #[test]
    fn field_selectors() {
        let o = json!({"metadata": {"name": "a", "namespace": "velero"}, "status": {"phase": "Running"}});
        let f = |s: &str| fields_match(&parse_fields(s).unwrap(), &o);
        assert!(f("metadata.name=a"));
        assert!(f("metadata.name==a,metadata.namespace=velero"));
        assert!(!f("metadata.namespace!=velero"));
        assert!(f("status.phase=Running"));
        assert!(f("spec.nodeName="));
        assert!(parse_fields("metadata.name").is_err());
    }
}
