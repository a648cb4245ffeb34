//! Just enough XML for MaxCompute's REST documents (odps-tunnel.md §7, §11): element text
//! (with CDATA) and the attributes of `<Column Name=".." Value=".."/>`. The documents are
//! flat and machine-written, so a full parser would add a dependency for nothing.

/// The contents of each `<name ...>…</name>` element, in order (`<name/>` gives "").
pub fn elements<'a>(document: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut found = Vec::new();
    let mut rest = document;
    while let Some(at) = rest.find(&open) {
        let after_name = &rest[at + open.len()..];
        // `<Partitions>` must not match `<Partition`.
        if !after_name.starts_with(['>', ' ', '/', '\t', '\n', '\r']) {
            rest = after_name;
            continue;
        }
        let Some(tag_end) = after_name.find('>') else {
            break;
        };
        if after_name[..tag_end].ends_with('/') {
            found.push("");
            rest = &after_name[tag_end + 1..];
            continue;
        }
        let body = &after_name[tag_end + 1..];
        let Some(end) = body.find(&close) else {
            break;
        };
        found.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    found
}

/// The text of the first `<name>` element: CDATA sections kept verbatim, entities decoded.
pub fn element_text(document: &str, name: &str) -> Option<String> {
    elements(document, name).first().map(|inner| text(inner))
}

/// Element content as text.
pub fn text(inner: &str) -> String {
    let mut out = String::new();
    let mut rest = inner;
    while let Some(at) = rest.find("<![CDATA[") {
        out.push_str(&unescape(&rest[..at]));
        let data = &rest[at + 9..];
        let end = data.find("]]>").unwrap_or(data.len());
        out.push_str(&data[..end]);
        rest = data.get(end + 3..).unwrap_or("");
    }
    out.push_str(&unescape(rest));
    out.trim().to_string()
}

/// The `(Name, Value)` attributes of each self-closing `<tag Name=".." Value=".."/>`.
pub fn name_value_attributes(document: &str, tag: &str) -> Vec<(String, String)> {
    let open = format!("<{tag} ");
    let mut found = Vec::new();
    let mut rest = document;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let Some(end) = after.find('>') else {
            break;
        };
        let attributes = &after[..end];
        if let (Some(name), Some(value)) = (
            attribute(attributes, "Name"),
            attribute(attributes, "Value"),
        ) {
            found.push((name, value));
        }
        rest = &after[end..];
    }
    found
}

fn attribute(attributes: &str, name: &str) -> Option<String> {
    let mut rest = attributes;
    loop {
        let at = rest.find(name)?;
        let preceded_by_space = at == 0 || rest[..at].ends_with(char::is_whitespace);
        let after = rest[at + name.len()..].trim_start();
        if preceded_by_space {
            if let Some(value) = after.strip_prefix('=') {
                let value = value.trim_start();
                let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                let value = &value[1..];
                let end = value.find(quote)?;
                return Some(unescape(&value[..end]));
            }
        }
        rest = &rest[at + name.len()..];
    }
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let entity_and_more = &rest[at + 1..];
        let Some(end) = entity_and_more.find(';') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let entity = &entity_and_more[..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => {
                out.push('&');
                out.push_str(entity);
                out.push(';');
            }
        }
        rest = &entity_and_more[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_errors_partitions_and_cdata() {
        let error = "<?xml version=\"1.0\"?>\n<Error><Code>NoSuchTable</Code>\
                     <Message><![CDATA[ODPS-0130131:Table not found - 'p.t']]></Message></Error>";
        assert_eq!(element_text(error, "Code").as_deref(), Some("NoSuchTable"));
        assert_eq!(
            element_text(error, "Message").as_deref(),
            Some("ODPS-0130131:Table not found - 'p.t'")
        );
        let listing = "<Partitions><Marker></Marker><MaxItems>10</MaxItems>\
            <Partition><Column Name=\"pt\" Value=\"2016&amp;1\"/><Column Name=\"ds\" Value=\"hz\"/>\
            <Schema><![CDATA[{}]]></Schema></Partition>\
            <Partition><Column Name=\"pt\" Value=\"2\"/><Column Name=\"ds\" Value=\"sh\"/></Partition>\
            </Partitions>";
        let partitions = elements(listing, "Partition");
        assert_eq!(partitions.len(), 2);
        assert_eq!(
            name_value_attributes(partitions[0], "Column"),
            vec![
                ("pt".to_string(), "2016&1".to_string()),
                ("ds".to_string(), "hz".to_string())
            ]
        );
        assert_eq!(element_text(listing, "Marker").as_deref(), Some(""));
    }
}
