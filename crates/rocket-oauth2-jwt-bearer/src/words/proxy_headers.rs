//! The grammar proxies write their headers in: RFC 7239 `Forwarded` and
//! Envoy's `X-Forwarded-Client-Cert` (XFCC), which is modelled on it.
//!
//! A value is a comma-separated list of *elements*, one per proxy, in the
//! order the proxies appended them; an element is `;`-separated
//! `name=value` pairs; a value holding a delimiter is a quoted string
//! whose `\` escapes the next character. Several field lines of one header
//! are one list (RFC 9110 §5.3), so they are joined before parsing.
//!
//! The parse is all or nothing: a quote left open, a stray character
//! after a quoted string, a pair without `=`, a quote inside a plain value
//! make the whole header unusable. A lenient parser is what lets a client
//! hide the proxy's element inside a quoted string it opened itself.

use std::borrow::Cow;

/// Which header's rules a value follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// RFC 7239: a plain value is a `token`; each name at most once per
    /// element.
    Forwarded,
    /// Envoy's XFCC: a plain value is anything but `,`, `;`, `=`, `"` and
    /// white space (`URI=spiffe://…`); `URI` and `DNS` may repeat.
    ClientCert,
}

/// One element: what one proxy wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    pairs: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> Element<'a> {
    /// Every value of the pair named `name` (case-insensitive), in order.
    pub(crate) fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| &**v)
    }

    /// The value of `name` when it occurs exactly once; `Err` when more.
    pub(crate) fn single<'s>(&'s self, name: &'s str) -> Result<Option<&'s str>, Malformed> {
        let mut values = self.values(name);
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            (Some(_), Some(_)) => Err(Malformed),
            (None, Some(_)) => unreachable!("an iterator yields nothing after its end"),
        }
    }
}

/// The header doesn't follow its grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Parses the field lines `fields` of one header as one list (see the
/// module docs). Empty list elements (`a, , b`) are skipped, as RFC 9110
/// §5.6.1 asks of recipients; an element with no pair at all is kept, so
/// that "the last element" is always the last one written.
pub(crate) fn parse<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    dialect: Dialect,
) -> Result<Vec<Element<'a>>, Malformed> {
    let mut elements = Vec::new();
    for field in fields {
        Parser { text: field, at: 0, dialect }.list(&mut elements)?;
    }
    Ok(elements)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    dialect: Dialect,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.at += 1;
        }
    }

    fn list(&mut self, elements: &mut Vec<Element<'a>>) -> Result<(), Malformed> {
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => self.at += 1,
                Some(_) => {
                    elements.push(self.element()?);
                    self.skip_ows();
                    match self.peek() {
                        None => return Ok(()),
                        Some(b',') => self.at += 1,
                        Some(_) => return Err(Malformed),
                    }
                }
            }
        }
    }

    /// `[pair] *(";" [pair])`, up to the next `,` or the end.
    fn element(&mut self) -> Result<Element<'a>, Malformed> {
        let mut element = Element::default();
        loop {
            self.skip_ows();
            if !matches!(self.peek(), None | Some(b';' | b',')) {
                let (name, value) = self.pair()?;
                if self.dialect == Dialect::Forwarded && element.values(name).next().is_some() {
                    // RFC 7239 §4: a parameter occurs at most once.
                    return Err(Malformed);
                }
                element.pairs.push((name, value));
                self.skip_ows();
            }
            match self.peek() {
                Some(b';') => self.at += 1,
                None | Some(b',') => return Ok(element),
                Some(_) => return Err(Malformed),
            }
        }
    }

    fn pair(&mut self) -> Result<(&'a str, Cow<'a, str>), Malformed> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        let name = &self.text[start..self.at];
        if name.is_empty() || self.peek() != Some(b'=') {
            return Err(Malformed);
        }
        self.at += 1;
        let value = match self.peek() {
            Some(b'"') => self.quoted()?,
            _ => Cow::Borrowed(self.plain()?),
        };
        Ok((name, value))
    }

    fn plain(&mut self) -> Result<&'a str, Malformed> {
        let start = self.at;
        let allowed = |b: u8| match self.dialect {
            Dialect::Forwarded => is_tchar(b),
            Dialect::ClientCert => b.is_ascii_graphic() && !b",;=\"".contains(&b),
        };
        while self.peek().is_some_and(allowed) {
            self.at += 1;
        }
        match &self.text[start..self.at] {
            "" => Err(Malformed),
            value => Ok(value),
        }
    }

    /// RFC 9110 §5.6.4 `quoted-string`, unescaped.
    fn quoted(&mut self) -> Result<Cow<'a, str>, Malformed> {
        self.at += 1;
        let start = self.at;
        let mut unescaped: Option<String> = None;
        let qdtext = |c: char| c == '\t' || (c >= ' ' && c != '"' && c != '\\' && c != '\x7f');
        let mut chars = self.text[start..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at = start + i + 1;
                    let raw = &self.text[start..start + i];
                    return Ok(unescaped.map_or(Cow::Borrowed(raw), Cow::Owned));
                }
                '\\' => {
                    let (_, escaped) = chars.next().ok_or(Malformed)?;
                    if !(qdtext(escaped) || escaped == '"' || escaped == '\\') {
                        return Err(Malformed);
                    }
                    let text =
                        unescaped.get_or_insert_with(|| self.text[start..start + i].to_owned());
                    text.push(escaped);
                }
                c if qdtext(c) => {
                    if let Some(text) = unescaped.as_mut() {
                        text.push(c);
                    }
                }
                _ => return Err(Malformed),
            }
        }
        // The quote was never closed.
        Err(Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(value: &str, dialect: Dialect) -> Result<Vec<Element<'_>>, Malformed> {
        parse([value], dialect)
    }

    fn pairs<'a>(element: &'a Element<'_>) -> Vec<(&'a str, &'a str)> {
        element.pairs.iter().map(|(n, v)| (*n, &**v)).collect()
    }

    #[test]
    fn rfc_7239_examples_parse() {
        let elements = parse_one(
            r#"for=192.0.2.43, for="[2001:db8:cafe::17]";proto=http;by=203.0.113.43,for=unknown"#,
            Dialect::Forwarded,
        )
        .unwrap();
        assert_eq!(elements.len(), 3);
        assert_eq!(pairs(&elements[0]), [("for", "192.0.2.43")]);
        assert_eq!(
            pairs(&elements[1]),
            [("for", "[2001:db8:cafe::17]"), ("proto", "http"), ("by", "203.0.113.43")]
        );
        assert_eq!(elements[1].single("PROTO"), Ok(Some("http")));
        assert_eq!(elements[1].single("host"), Ok(None));
    }

    #[test]
    fn quoted_strings_unescape_and_hold_delimiters() {
        let elements = parse_one(r#"host="a\"b,c;d=e""#, Dialect::Forwarded).unwrap();
        assert_eq!(elements.len(), 1);
        assert_eq!(elements[0].single("host"), Ok(Some(r#"a"b,c;d=e"#)));
    }

    #[test]
    fn several_field_lines_are_one_list() {
        let elements = parse(["for=a", "for=b;proto=https, ,"], Dialect::Forwarded).unwrap();
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[1].single("proto"), Ok(Some("https")));
    }

    #[test]
    fn anything_off_grammar_makes_the_whole_header_unusable() {
        for bad in [
            // The client's open quote swallowing the proxy's element.
            r#"for=evil;host="evil.example, for=1.2.3.4;host=api.example.com"#,
            r#"host="unterminated"#,
            r#"host="a"b"#,
            r#"host="a" b"#,
            "host",
            "=x",
            "host=",
            "host=a b",
            "host=a\"b",
            "host=a:443",
            "proto=https;proto=http",
            "host=\"a\\",
            "host=\"\x01\"",
        ] {
            assert_eq!(parse_one(bad, Dialect::Forwarded), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn client_cert_values_may_be_uris_and_may_repeat() {
        let value = r#"By=spiffe://proxy;Hash=abc;Cert="-----BEGIN%20X";Subject="CN=a,O=b";URI=spiffe://a;URI=spiffe://b"#;
        let elements = parse_one(value, Dialect::ClientCert).unwrap();
        assert_eq!(elements.len(), 1);
        assert_eq!(elements[0].single("cert"), Ok(Some("-----BEGIN%20X")));
        assert_eq!(elements[0].values("uri").count(), 2);
        assert_eq!(elements[0].single("uri"), Err(Malformed));
        let appended = format!("{value},By=spiffe://edge;Cert=\"%2D\"");
        assert_eq!(parse_one(&appended, Dialect::ClientCert).unwrap().len(), 2);
        // The attack: an open quote meant to swallow the proxy's element.
        let smuggled = r#"Cert="victim";x=",By=spiffe://edge;Cert="attacker""#;
        assert_eq!(parse_one(smuggled, Dialect::ClientCert), Err(Malformed));
    }
}
