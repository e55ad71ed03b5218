//! A small XML writer for the answers (the simulator only writes XML; the clients parse it).

use std::fmt::Write;

/// Builds one document; elements are closed in the order they were opened.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
    open: Vec<String>,
}

impl Xml {
    pub fn new() -> Self {
        Self { out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), open: Vec::new() }
    }

    /// `<name xmlns="…">`
    pub fn open_ns(&mut self, name: &str, namespace: &str) -> &mut Self {
        let _ = write!(self.out, "<{name} xmlns=\"{}\">", escape(namespace));
        self.open.push(name.to_string());
        self
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        self.open.push(name.to_string());
        self
    }

    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            let _ = write!(self.out, "</{name}>");
        }
        self
    }

    /// `<name>text</name>`, the text escaped.
    pub fn text(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.out, "<{name}>{}</{name}>", escape(&text.to_string()));
        self
    }

    /// `text`, only when there is a value.
    pub fn opt_text(&mut self, name: &str, text: Option<impl std::fmt::Display>) -> &mut Self {
        if let Some(text) = text {
            self.text(name, text);
        }
        self
    }

    /// `<name><item_name>a</item_name>…</name>` (`member` for Auto Scaling, `item` for EC2).
    pub fn list<T: std::fmt::Display>(&mut self, name: &str, item_name: &str, items: &[T]) -> &mut Self {
        self.open(name);
        for item in items {
            self.text(item_name, item);
        }
        self.close()
    }

    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_nest_and_text_is_escaped() {
        let mut xml = Xml::new();
        xml.open_ns("R", "http://x/").text("A", "a<b & 'c'").list("L", "member", &["1", "2"]);
        let out = xml.finish();
        assert!(out.ends_with(
            "<R xmlns=\"http://x/\"><A>a&lt;b &amp; 'c'</A><L><member>1</member><member>2</member></L></R>"
        ));
    }
}
