//! MaxCompute's REST documents (odps-tunnel.md §7, §11): the `<Table>` with its `<Schema>`,
//! the `<Partitions>` listing and `<Error>`, read with quick-xml into a small element tree.
//!
//! quick-xml rather than roxmltree: it is the parser the workspace's standards name, it
//! reports CDATA, entity and character references as events of their own (so text is
//! decoded exactly once), and the tree below is all the plugin needs of a DOM. Names match
//! by local name, so a default `xmlns` on the root or a prefix changes nothing.

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// An element: its local name, attributes, text (CDATA kept verbatim, references
/// decoded) and child elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    pub name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// The child elements named `name`, in document order.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The value of attribute `name` (by local name), references decoded.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The element's own text, trimmed (the whitespace between child elements too).
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::text)
    }
}

/// The root element of `document`, or why it is not well-formed XML.
pub fn parse(document: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(document);
    // Open elements, innermost last; the root is the first.
    let mut open: Vec<Element> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|error| at(&reader, error.to_string()))?;
        match event {
            Event::Start(start) => open.push(element(&start).map_err(|error| at(&reader, error))?),
            Event::Empty(start) => {
                let empty = element(&start).map_err(|error| at(&reader, error))?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(empty),
                    None => return Ok(empty),
                }
            }
            Event::End(_) => {
                let closed = open
                    .pop()
                    .ok_or_else(|| at(&reader, "an unopened end tag"))?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(closed),
                    None => return Ok(closed),
                }
            }
            Event::Text(text) => push_text(&mut open, &text.xml_content(XmlVersion::Implicit1_0)),
            Event::CData(data) => push_text(&mut open, &data.xml_content(XmlVersion::Implicit1_0)),
            Event::GeneralRef(reference) => {
                let decoded = reference_text(&reference).map_err(|error| at(&reader, error))?;
                push_text(&mut open, &decoded);
            }
            Event::Eof => return Err("the document ends before its root element closes".into()),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

fn at(reader: &Reader<&[u8]>, message: impl std::fmt::Display) -> String {
    format!("{message} at byte {}", reader.error_position())
}

/// An element without content yet: its local name and attributes (namespace declarations
/// left out).
fn element(start: &BytesStart) -> Result<Element, String> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        if attribute.key.as_namespace_binding().is_some() {
            continue;
        }
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|error| error.to_string())?;
        let name = attribute.key.local_name();
        attributes.push((name.as_ref().to_string(), value.into_owned()));
    }
    Ok(Element {
        name: start.local_name().as_ref().to_string(),
        attributes,
        ..Element::default()
    })
}

/// Text outside the root (whitespace around it) belongs to no element.
fn push_text(open: &mut [Element], text: &str) {
    if let Some(current) = open.last_mut() {
        current.text.push_str(text);
    }
}

/// `&amp;`, `&lt;`, … and `&#38;` / `&#x26;`; a document without a DTD defines no others.
fn reference_text(reference: &BytesRef) -> Result<String, String> {
    let name = reference.xml_content(XmlVersion::Implicit1_0);
    if let Some(character) = reference.resolve_char_ref().map_err(|e| e.to_string())? {
        return Ok(character.to_string());
    }
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_string)
        .ok_or_else(|| format!("the entity &{name}; is not defined"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_error_with_a_declaration_cdata_and_a_comment() {
        let error = parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- from the front end -->\n\
             <Error><Code>NoSuchTable</Code><!-- <Code>Not this</Code> -->\
             <Message><![CDATA[ODPS-0130131:Table not found - 'p.t' <&>]]></Message>\
             <RequestId>r-1</RequestId></Error>",
        )
        .unwrap();
        assert_eq!(error.name, "Error");
        assert_eq!(error.child_text("Code"), Some("NoSuchTable"));
        assert_eq!(
            error.child_text("Message"),
            Some("ODPS-0130131:Table not found - 'p.t' <&>")
        );
        assert_eq!(error.child_text("RequestId"), Some("r-1"));
        assert_eq!(error.child_text("HostId"), None);
    }

    #[test]
    fn decodes_entities_in_text_and_attributes() {
        let listing = parse(
            "<Partitions><Marker></Marker><MaxItems>10</MaxItems>\
             <Partition><Column Name=\"pt\" Value=\"2016&amp;1 &lt;x&gt; &quot;q&quot; &#65;&#x42;\"/>\
             <Column Name='ds' Value='h&apos;z'/><Schema>a &amp; b &lt; c</Schema></Partition>\
             <Partition><Column Name=\"pt\" Value=\"2\"/><Column Name=\"ds\" Value=\"sh\"/></Partition>\
             </Partitions>",
        )
        .unwrap();
        let partitions: Vec<&Element> = listing.children("Partition").collect();
        assert_eq!(partitions.len(), 2);
        let columns: Vec<(&str, &str)> = partitions[0]
            .children("Column")
            .map(|column| {
                (
                    column.attribute("Name").unwrap(),
                    column.attribute("Value").unwrap(),
                )
            })
            .collect();
        assert_eq!(columns, [("pt", "2016&1 <x> \"q\" AB"), ("ds", "h'z")]);
        assert_eq!(partitions[0].child_text("Schema"), Some("a & b < c"));
        assert_eq!(listing.child_text("Marker"), Some(""));
        assert_eq!(listing.child_text("MaxItems"), Some("10"));
    }

    #[test]
    fn matches_names_whatever_the_namespace() {
        let table = parse(
            "<?xml version=\"1.0\"?><Table xmlns=\"http://odps.aliyun.com/\" \
             xmlns:o=\"urn:o\"><o:Name>t</o:Name>\
             <Schema><![CDATA[{\"columns\":[]}]]></Schema></Table>",
        )
        .unwrap();
        assert_eq!(table.name, "Table");
        assert_eq!(table.attribute("xmlns"), None);
        assert_eq!(table.child_text("Name"), Some("t"));
        assert_eq!(table.child_text("Schema"), Some("{\"columns\":[]}"));
    }

    /// The documents as the sandbox writes them (sandbox/src/odps/meta.rs, mod.rs): indented,
    /// values escaped, JSON in CDATA split where it holds `]]>`.
    #[test]
    fn reads_the_sandbox_documents() {
        let table = parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Table>\n  <Name>t&amp;1</Name>\n  \
             <Owner>ALIYUN$odps@sandbox</Owner>\n  <Type>MANAGED_TABLE</Type>\n  \
             <Schema><![CDATA[{\"comment\":\"a ]]]]><![CDATA[> b\",\"columns\":[]}]]></Schema>\n\
             </Table>\n",
        )
        .unwrap();
        assert_eq!(table.child_text("Name"), Some("t&1"));
        assert_eq!(
            table.child_text("Schema"),
            Some("{\"comment\":\"a ]]> b\",\"columns\":[]}")
        );
        let listing = parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Partitions>\n  <Marker></Marker>\n  \
             <MaxItems>10000</MaxItems>\n  <Partition>\n    \
             <Column Name=\"pt\" Value=\"a&apos;&lt;&amp;&gt;&quot;\"/>\n    \
             <PartitionRecordCount>3</PartitionRecordCount>\n    \
             <Schema><![CDATA[{\"partitionRecordNum\":3}]]></Schema>\n  </Partition>\n\
             </Partitions>\n",
        )
        .unwrap();
        let partition = listing.child("Partition").unwrap();
        assert_eq!(
            partition.child("Column").unwrap().attribute("Value"),
            Some("a'<&>\"")
        );
        assert_eq!(partition.child_text("PartitionRecordCount"), Some("3"));
        let error = parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>NoSuchObject</Code>\n  \
             <Message><![CDATA[table p.t not found]]></Message>\n  \
             <RequestId>r1</RequestId>\n  <HostId>127.0.0.1</HostId>\n</Error>\n",
        )
        .unwrap();
        assert_eq!(error.child_text("Message"), Some("table p.t not found"));
    }

    #[test]
    fn a_cdata_section_can_hold_what_looks_like_markup_and_sit_beside_text() {
        let element = parse("<Schema> a<![CDATA[</Schema>]]>&amp;b </Schema>").unwrap();
        assert_eq!(element.text(), "a</Schema>&b");
    }

    #[test]
    fn malformed_documents_are_errors_not_guesses() {
        for (document, expected) in [
            ("<Error><Code>x</Error>", "at byte"),
            (
                "<Error><Code>x</Code>",
                "ends before its root element closes",
            ),
            ("<Error>&nbsp;</Error>", "the entity &nbsp; is not defined"),
            ("<Column Name=\"a&bogus;\"/>", "at byte"),
            ("not xml", "ends before its root element closes"),
        ] {
            let error = parse(document).unwrap_err();
            assert!(error.contains(expected), "{document}: {error}");
        }
    }
}
